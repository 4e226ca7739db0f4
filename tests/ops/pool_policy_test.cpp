// --pool-policy: the hash pool's threads run under SCHED_BATCH by default and
// the I/O thread keeps the normal policy; `normal` leaves every thread as it
// was. Read from the kernel (/proc/PID/task/TID/stat, field 41), not from logs.
#include "ops_support.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sched.h>

using namespace ops_test;

namespace {

/// The scheduling policy of one thread, or -1 if it is gone.
int policy_of(pid_t pid, pid_t tid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')'); // the command name may hold spaces and parentheses
    if (close == std::string::npos) return -1;
    std::istringstream fields(stat.substr(close + 2)); // field 3 (state) onwards
    std::string field;
    for (int i = 3; i <= 41 && fields >> field; ++i)
        if (i == 41) return std::stoi(field);
    return -1;
}

/// Policy -> how many of the server's threads run under it.
std::map<int, int> policies(server_process const& srv)
{
    std::map<int, int> count;
    for (pid_t tid : thread_ids(srv.pid())) ++count[policy_of(srv.pid(), tid)];
    return count;
}

} // namespace

TEST(PoolPolicy, PoolThreadsAreBatchAndTheIoThreadIsNot)
{
    server_process srv({"--threads", "3"});
    ASSERT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n"); // the hop still works
    EXPECT_EQ(policy_of(srv.pid(), srv.pid()), SCHED_OTHER) << "the I/O thread must keep the normal policy";
    auto count = policies(srv);
    EXPECT_EQ(count[SCHED_BATCH], 3) << "three pool threads";
    EXPECT_EQ(count[SCHED_OTHER], 1) << "one I/O thread";
    EXPECT_NE(srv.log().find("--pool-policy batch"), std::string::npos) << srv.log();
}

TEST(PoolPolicy, NormalLeavesEveryThreadAsItWas)
{
    server_process srv({"--threads", "2", "--pool-policy", "normal"});
    ASSERT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    auto count = policies(srv);
    EXPECT_EQ(count[SCHED_BATCH], 0);
    EXPECT_EQ(count[SCHED_OTHER], 3);
}

// With --io-threads the extra I/O threads are started after the pool, from
// the main thread, which must have its normal policy back by then.
TEST(PoolPolicy, ExtraIoThreadsKeepTheNormalPolicy)
{
    server_process srv({"--threads", "1", "--io-threads", "3"});
    ASSERT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    auto until = clock::now() + 10s;
    while (thread_ids(srv.pid()).size() < 4 && clock::now() < until) std::this_thread::sleep_for(10ms);
    auto count = policies(srv);
    EXPECT_EQ(count[SCHED_BATCH], 1);
    EXPECT_EQ(count[SCHED_OTHER], 3);
}
