// SPDX-License-Identifier: BSL-1.0
// The command line of the real binary: exit codes, stderr, the banner, --bind.
// (Every option's parsing is unit-tested in unit/options_test.cpp.)
#include "server_process.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace test_support;

namespace {

bool contains(std::string const& s, std::string_view part) { return s.find(part) != std::string::npos; }

constexpr std::string_view usage_line = "Usage: hash_server <port>";

void expect_usage_error(std::vector<std::string> const& args, std::string_view mentions)
{
    std::string shown;
    for (auto const& a : args) shown += a + " ";
    auto r = run_to_exit(args, 20s);
    EXPECT_TRUE(r.status.exited) << shown << ": killed by signal " << r.status.code;
    EXPECT_EQ(r.status.code, 1) << shown;
    EXPECT_TRUE(contains(r.err, usage_line)) << shown << "stderr: " << r.err;
    EXPECT_TRUE(contains(r.err, mentions)) << shown << "stderr: " << r.err;
    EXPECT_FALSE(contains(r.out, banner_prefix)) << shown << "listened anyway: " << r.out;
}

} // namespace

// The tutorial's exact line, on stderr, exit 1.
TEST(Arguments, NoArgumentsPrintsUsage)
{
    auto r = run_to_exit({}, 20s);
    EXPECT_TRUE(r.status.exited);
    EXPECT_EQ(r.status.code, 1);
    EXPECT_EQ(r.err.rfind(usage_line, 0), 0U) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(Arguments, TwoPortsPrintUsage) { expect_usage_error({"8080", "8081"}, usage_line); }

// The tutorial's atoi would turn these into port 0; ours refuses them.
TEST(Arguments, NonNumericPortIsAnError) { expect_usage_error({"http"}, "'http'"); }
TEST(Arguments, PortAbove65535IsAnError) { expect_usage_error({"65536"}, "'65536'"); }
TEST(Arguments, NegativePortIsAnError) { expect_usage_error({"-1"}, "port"); }
TEST(Arguments, PortWithTrailingGarbageIsAnError) { expect_usage_error({"80abc"}, "'80abc'"); }

TEST(Arguments, BadOptionValuesFailBeforeListening)
{
    expect_usage_error({"--protocol", "http", "0"}, "--protocol");
    expect_usage_error({"--hash", "md5", "0"}, "--hash");
    expect_usage_error({"--pool-policy", "idle", "0"}, "--pool-policy");
    expect_usage_error({"--max-line", "0", "0"}, "--max-line");
    expect_usage_error({"--idle-timeout", "soon", "0"}, "--idle-timeout");
    expect_usage_error({"--max-connections", "0", "0"}, "--max-connections");
    expect_usage_error({"--bind", "localhost:80", "0"}, "--bind");
    expect_usage_error({"--no-such-option", "0"}, "--no-such-option");
}

// An empty value is a mistake (a script's unset variable), not "not set".
TEST(Arguments, EmptyValuesAreErrors)
{
    expect_usage_error({"--bind", "", "0"}, "--bind");
    expect_usage_error({"--metrics-port", "", "0"}, "--metrics-port");
    expect_usage_error({"--metrics-bind", "", "0"}, "--metrics-bind");
    expect_usage_error({""}, "port");
}

// "--" ends the options, as everywhere else.
TEST(Arguments, DoubleDashBeforeThePortIsAccepted)
{
    server_process srv({"--protocol", "lines", "--"});
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
}

// The system's reason, without Boost's source location.
TEST(Arguments, ListenErrorsSayWhyWithoutSourceLocations)
{
    auto r = run_to_exit({"--bind", "192.0.2.1", "0"}, 20s); // TEST-NET-1: on no host
    EXPECT_EQ(r.status.code, 1) << r.err;
    EXPECT_TRUE(contains(r.err, "cannot listen on 192.0.2.1:0: ")) << r.err;
    EXPECT_FALSE(contains(r.err, "[system:")) << r.err;
    EXPECT_FALSE(contains(r.err, ".hpp")) << r.err;
}

// Rounded to whole milliseconds these would be 0, which means "never".
TEST(Arguments, IdleTimeoutBelowOneMillisecondIsAnError)
{
    expect_usage_error({"--idle-timeout", "0.0004", "0"}, "--idle-timeout");
    expect_usage_error({"--idle-timeout", "0.0009", "0"}, "--idle-timeout");
    server_process one_ms({"--idle-timeout", "0.001"}); // throws unless it starts
    server_process never({"--idle-timeout", "0"});
    EXPECT_TRUE(one_ms.running() && never.running());
}

TEST(Arguments, HelpListsTheOptionsAndExitsZero)
{
    auto r = run_to_exit({"--help"}, 20s);
    EXPECT_TRUE(r.status.exited);
    EXPECT_EQ(r.status.code, 0);
    for (char const* opt : {"--protocol", "--hash", "--max-line", "--max-stream-bytes", "--idle-timeout",
                            "--max-connections", "--max-inflight", "--threads", "--pool-policy", "--bind"})
        EXPECT_TRUE(contains(r.out, opt)) << opt << " missing from --help:\n" << r.out;
    EXPECT_EQ(r.err, "");
}

TEST(Arguments, BannerShowsThePortActuallyBound)
{
    server_process srv({});
    EXPECT_NE(srv.port(), 0) << "port 0 must be replaced by the one the system chose";
    EXPECT_EQ(srv.banner(), std::string(banner_prefix) + std::to_string(srv.port()));
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
}

// Listening on all addresses (the default): IPv4 and IPv6 clients alike.
TEST(Arguments, DefaultListensOnIpv4AndIpv6)
{
    server_process srv({});
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    auto fd = connect_to(srv.port(), loopback::v6);
    ASSERT_TRUE(fd) << "no IPv6 connection to [::1]";
    ASSERT_TRUE(send_all(fd.get(), "test data 123\n"));
    shutdown_write(fd.get());
    EXPECT_EQ(read_until_eof(fd.get(), 20s).data, "daf63590896c6e23\n");
}

TEST(Arguments, PortAlreadyInUseIsAnError)
{
    server_process first({});
    auto r = run_to_exit({std::to_string(first.port())}, 20s);
    EXPECT_TRUE(r.status.exited);
    EXPECT_EQ(r.status.code, 1);
    EXPECT_TRUE(contains(r.err, "cannot listen")) << r.err;
    EXPECT_FALSE(contains(r.out, banner_prefix)) << r.out;
    EXPECT_EQ(request(first.port(), "hello world\n"), "782e1488cd5a68b7\n");
}

TEST(Arguments, BindToIpv4Loopback)
{
    server_process srv({"--bind", "127.0.0.1"});
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    EXPECT_FALSE(connect_to(srv.port(), loopback::v6)) << "bound to 127.0.0.1 only, yet [::1] connected";
}

TEST(Arguments, BindToIpv6Loopback)
{
    server_process srv({"--bind", "::1"});
    auto fd = connect_to(srv.port(), loopback::v6);
    ASSERT_TRUE(fd);
    ASSERT_TRUE(send_all(fd.get(), "hello world\n"));
    shutdown_write(fd.get());
    EXPECT_EQ(read_until_eof(fd.get(), 20s).data, "782e1488cd5a68b7\n");
    EXPECT_FALSE(connect_to(srv.port())) << "bound to ::1 only, yet 127.0.0.1 connected";
}

// A well-formed address that is not one of this host's (TEST-NET-1, RFC 5737):
// the bind fails, which is an error on stderr and exit 1, not a silent fallback.
TEST(Arguments, BindToAnAddressNotOnThisHostIsAnError)
{
    auto r = run_to_exit({"--bind", "192.0.2.1", "0"}, 20s);
    EXPECT_TRUE(r.status.exited);
    EXPECT_EQ(r.status.code, 1);
    EXPECT_TRUE(contains(r.err, "192.0.2.1")) << r.err;
    EXPECT_FALSE(contains(r.out, banner_prefix)) << r.out;
}
