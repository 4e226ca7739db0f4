// SPDX-License-Identifier: BSL-1.0
// --pool-policy: the hash pool's threads ("hash-pool") run under SCHED_BATCH
// by default and the I/O threads keep the normal policy; `normal` leaves
// every thread as it was. Read from the kernel (/proc/PID/task/TID: comm, and
// stat field 41), not from logs. Threads of neither name (a sanitizer's own)
// are not counted.
#include "polling.hpp"
#include "server_process.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <sched.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using namespace test_support;

namespace {

std::string read_task_file(server_process const& srv, pid_t tid, char const* file)
{
    std::ifstream in(srv.proc_path("task/" + std::to_string(tid) + "/" + file));
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The scheduling policy of one of the server's threads, or -1 if it is gone.
int policy_of(server_process const& srv, pid_t tid)
{
    auto stat = read_task_file(srv, tid, "stat");
    auto close = stat.rfind(')'); // the command name may hold spaces and parentheses
    if (close == std::string::npos) return -1;
    std::istringstream fields(stat.substr(close + 2)); // field 3 (state) onwards
    std::string field;
    for (int i = 3; i <= 41 && fields >> field; ++i)
        if (i == 41) return std::stoi(field);
    return -1;
}

struct thread_info {
    std::string name;
    int policy;
};

std::vector<thread_info> threads_named(server_process const& srv, std::string const& name)
{
    std::vector<thread_info> out;
    for (pid_t tid : srv.thread_ids()) {
        auto comm = read_task_file(srv, tid, "comm");
        if (!comm.empty() && comm.back() == '\n') comm.pop_back();
        if (comm == name) out.push_back({comm, policy_of(srv, tid)});
    }
    return out;
}

void expect_policy(std::vector<thread_info> const& threads, std::size_t count, int policy, char const* what)
{
    EXPECT_EQ(threads.size(), count) << what;
    for (auto const& t : threads) EXPECT_EQ(t.policy, policy) << what << " (" << t.name << ")";
}

} // namespace

TEST(PoolPolicy, PoolThreadsAreBatchAndTheIoThreadIsNot)
{
    server_process srv({"--threads", "3"});
    ASSERT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n"); // the hop still works
    EXPECT_EQ(policy_of(srv, srv.pid()), SCHED_OTHER) << "the I/O thread must keep the normal policy";
    expect_policy(threads_named(srv, "hash-pool"), 3, SCHED_BATCH, "pool threads");
    EXPECT_NE(srv.log().find("--pool-policy batch"), std::string::npos) << srv.log();
}

TEST(PoolPolicy, NormalLeavesEveryThreadAsItWas)
{
    server_process srv({"--threads", "2", "--pool-policy", "normal"});
    ASSERT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    EXPECT_EQ(policy_of(srv, srv.pid()), SCHED_OTHER);
    expect_policy(threads_named(srv, "hash-pool"), 2, SCHED_OTHER, "pool threads");
}

TEST(PoolPolicy, ExtraIoThreadsKeepTheNormalPolicy)
{
    server_process srv({"--threads", "1", "--io-threads", "3"});
    ASSERT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    // The extra I/O threads start right after the banner.
    eventually([&] { return threads_named(srv, "hash-io").size() >= 2; }, 10s);
    EXPECT_EQ(policy_of(srv, srv.pid()), SCHED_OTHER);
    expect_policy(threads_named(srv, "hash-io"), 2, SCHED_OTHER, "extra I/O threads");
    expect_policy(threads_named(srv, "hash-pool"), 1, SCHED_BATCH, "pool threads");
}
