// SPDX-License-Identifier: BSL-1.0
// The open-file limit at start (src/app/open_files.cpp): the server raises its
// soft limit to the hard one by itself, and warns when even the hard limit
// leaves no room for --max-connections.
#include "polling.hpp"
#include "server_process.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <sys/resource.h>

using namespace test_support;


namespace {

struct nofile {
    rlim_t soft = 0, hard = 0;
};

/// "Max open files" of a running process, from /proc/PID/limits.
std::optional<nofile> limits_of(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    std::string line;
    while (std::getline(in, line)) {
        static constexpr std::string_view key = "Max open files";
        if (line.rfind(key, 0) != 0) continue;
        std::istringstream fields(line.substr(key.size()));
        std::string soft, hard;
        fields >> soft >> hard;
        auto value = [](std::string const& v) { return v == "unlimited" ? RLIM_INFINITY : std::stoull(v); };
        return nofile{value(soft), value(hard)};
    }
    return std::nullopt;
}

rlim_t own_hard_limit()
{
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_max;
}

} // namespace

TEST(OpenFiles, SoftLimitRaisedToTheHardOne)
{
    rlim_t const hard = own_hard_limit();
    if (hard <= 256) GTEST_SKIP() << "the hard limit (" << hard << ") leaves nothing to raise";
    server_process::options opt;
    opt.soft_open_files = 128;
    server_process srv({"--max-connections", "64"}, opt);

    auto lim = limits_of(srv.pid());
    ASSERT_TRUE(lim.has_value());
    EXPECT_EQ(lim->hard, hard);
    EXPECT_EQ(lim->soft, hard == RLIM_INFINITY ? lim->soft : hard) << "the soft limit stayed at " << lim->soft;
    EXPECT_GT(lim->soft, 128U);
    EXPECT_EQ(srv.log().find("open files limit"), std::string::npos) << srv.log();
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
}

TEST(OpenFiles, WarnsWhenTheHardLimitIsBelowMaxConnections)
{
    // Lowering a hard limit needs no privilege; the server may raise its soft
    // limit to 512, no further, and --max-connections 1000 needs 1032.
    server_process::options opt;
    opt.max_open_files = 512;
    opt.soft_open_files = 100;
    server_process srv({"--max-connections", "1000"}, opt);

    auto lim = limits_of(srv.pid());
    ASSERT_TRUE(lim.has_value());
    EXPECT_EQ(lim->soft, 512U);
    EXPECT_EQ(lim->hard, 512U);
    auto log = srv.log();
    auto at = log.find("WARN open files limit is 512 (hard limit 512)");
    EXPECT_NE(at, std::string::npos) << log;
    EXPECT_NE(log.find("--max-connections 1000 needs 1032", at), std::string::npos) << log;
    // A warning, not a refusal: the server serves.
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
}

TEST(OpenFiles, NoWarningWhenTheLimitFits)
{
    server_process::options opt;
    opt.max_open_files = 512;
    server_process srv({"--max-connections", "480"}, opt);
    EXPECT_EQ(srv.log().find("open files limit"), std::string::npos) << srv.log();
}
