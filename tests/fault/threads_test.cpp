// SPDX-License-Identifier: BSL-1.0
// A thread the system refuses to create (RLIMIT_NPROC for an unprivileged
// user) is a clear error and exit status 1 before the banner, never an abort
// (SIGABRT from std::terminate) nor a banner followed by a crash.
#include "process.hpp"
#include "server_process.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <string_view>
#include <vector>

using namespace test_support;

namespace {

/// Threads that `uid` runs now, all processes together: what RLIMIT_NPROC counts.
std::size_t threads_of(uid_t uid)
{
    std::size_t n = 0;
    DIR* d = ::opendir("/proc");
    if (!d) return 0;
    while (auto* e = ::readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        std::ifstream in(std::string("/proc/") + e->d_name + "/status");
        std::string line;
        bool mine = false;
        while (std::getline(in, line)) {
            if (line.rfind("Uid:", 0) == 0) mine = std::stoul(line.substr(4)) == uid;
            if (mine && line.rfind("Threads:", 0) == 0) n += std::stoul(line.substr(8));
        }
    }
    ::closedir(d);
    return n;
}

/// hash_server `args` as user nobody (when we are root: root ignores
/// RLIMIT_NPROC) with room for `threads` threads of its own, main included.
run_result run_with_few_threads(std::vector<std::string> args, std::size_t threads)
{
    constexpr uid_t nobody = 65534;
    bool const root = ::geteuid() == 0;
    auto limit = std::to_string(threads_of(root ? nobody : ::getuid()) + threads);
    std::vector<std::string> cmd{"/usr/bin/prlimit", "--nproc=" + limit + ":" + limit};
    if (root) cmd.insert(cmd.end(), {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
    cmd.push_back(hash_server_path());
    cmd.insert(cmd.end(), args.begin(), args.end());
    return run_command(cmd, 30s); // the limit is a hang guard only
}

void expect_clear_failure(std::vector<std::string> const& args, std::string_view option)
{
    if (::access("/usr/bin/setpriv", X_OK) != 0 || ::access("/usr/bin/prlimit", X_OK) != 0)
        GTEST_SKIP() << "needs setpriv and prlimit (util-linux) to run the server as an unprivileged user";
    auto r = run_with_few_threads(args, 3);
    EXPECT_TRUE(r.status.exited) << "killed by signal " << r.status.code << "\nstderr: " << r.err;
    EXPECT_EQ(r.status.code, 1) << "stderr: " << r.err;
    EXPECT_NE(r.err.find("hash_server: cannot start"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(option), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("Hash server listening"), std::string::npos) << "banner printed: " << r.out;
}

} // namespace

TEST(Threads, PoolThreadsRefusedAreAClearError) { expect_clear_failure({"--threads", "20", "0"}, "--threads"); }

TEST(Threads, IoThreadsRefusedAreAClearErrorBeforeTheBanner)
{
    expect_clear_failure({"--threads", "1", "--io-threads", "20", "0"}, "--io-threads");
}

