// SPDX-License-Identifier: BSL-1.0
// The command line (src/app/options.hpp): parse_command_line and the strict
// parsers behind it (include/hashsrv/parse.hpp). No server starts here; see integration/arguments_test.cpp
// for the real binary's exit codes and stderr.
#include "app/options.hpp"

#include <hashsrv/parse.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

using namespace hashsrv;
using namespace std::chrono_literals;

namespace {

std::variant<config, early_exit> parse(std::initializer_list<char const*> args)
{
    std::vector<char const*> argv{"hash_server"};
    argv.insert(argv.end(), args.begin(), args.end());
    // An empty environment: the test's own HASH_SERVER_* variables, if any, do not count.
    return parse_command_line(static_cast<int>(argv.size()), argv.data(), [](char const*) -> char const* { return nullptr; });
}

config parse_ok(std::initializer_list<char const*> args)
{
    auto r = parse(args);
    if (auto* e = std::get_if<early_exit>(&r)) {
        ADD_FAILURE() << "unexpected early exit " << e->code << ": " << e->message;
        return {};
    }
    return std::get<config>(r);
}

early_exit parse_exit(std::initializer_list<char const*> args)
{
    auto r = parse(args);
    if (auto* e = std::get_if<early_exit>(&r)) return *e;
    ADD_FAILURE() << "parsed, expected an early exit";
    return {-1, ""};
}

bool contains(std::string const& s, std::string_view part) { return s.find(part) != std::string::npos; }

constexpr std::string_view usage_line = "Usage: hash_server <port>";

} // namespace

TEST(Options, AutoPoolThreadsLeavesTheIoThreadsACoreEach)
{
    auto one_io = auto_pool_threads(1);
    EXPECT_GE(one_io, 1U);
    EXPECT_EQ(auto_pool_threads(1000), 1U); // never zero
    EXPECT_EQ(auto_pool_threads(2), std::max<std::size_t>(1, one_io - 1));
    EXPECT_EQ(parse_ok({"--threads", "auto", "8080"}).threads, one_io);
    EXPECT_EQ(parse_ok({"--io-threads", "2", "8080"}).threads, auto_pool_threads(2));
    EXPECT_EQ(parse_ok({"--threads", "4", "8080"}).threads, 4U); // the tutorial's pool
}

TEST(Options, DefaultsWithJustAPort)
{
    auto cfg = parse_ok({"8080"});
    config const d{};
    EXPECT_EQ(cfg.port, 8080);
    EXPECT_EQ(cfg.bind, "");
    EXPECT_EQ(cfg.proto, protocol::oneshot);
    EXPECT_EQ(cfg.hash, algorithm::fnv1a);
    EXPECT_EQ(cfg.threads, auto_pool_threads(1)); // --threads auto
    EXPECT_EQ(cfg.io_threads, d.io_threads);
    EXPECT_EQ(cfg.pool_sched, pool_policy::batch);
    EXPECT_EQ(cfg.max_inflight, d.max_inflight);
    EXPECT_EQ(cfg.inline_below, d.inline_below);
    EXPECT_EQ(cfg.chunk_size, d.chunk_size);
    EXPECT_EQ(cfg.pool_slice, 64U * 1024);
    EXPECT_EQ(cfg.max_line, 64U * 1024); // the documented default, 64 KiB
    EXPECT_EQ(cfg.max_stream_bytes, std::numeric_limits<std::uint64_t>::max()); // unlimited
    EXPECT_EQ(cfg.max_connections, 10000U);
    EXPECT_EQ(cfg.idle_timeout, 30s);
    EXPECT_EQ(cfg.shutdown_timeout, d.shutdown_timeout);
    EXPECT_EQ(cfg.drain_grace, d.drain_grace);
    EXPECT_FALSE(cfg.metrics_port.has_value());
    EXPECT_EQ(cfg.level, log_level::info);
}

TEST(Options, PortZeroAsksForAnyPort) { EXPECT_EQ(parse_ok({"0"}).port, 0); }

TEST(Options, EveryOption)
{
    auto cfg = parse_ok({"--protocol", "lines", "--hash", "sha256", "--bind", "127.0.0.1", "--threads", "8",
                         "--pool-policy", "normal", "--io-threads", "2", "--max-inflight", "16", "--inline-below", "1K", "--chunk-size", "128K",
                         "--pool-slice", "0",
                         "--max-line", "100", "--max-stream-bytes", "1M", "--max-connections", "5",
                         "--idle-timeout", "2.5", "--shutdown-timeout", "0.25", "--drain-grace", "0.1", "--metrics-port", "9100",
                         "--log-level", "debug", "4242"});
    EXPECT_EQ(cfg.port, 4242);
    EXPECT_EQ(cfg.proto, protocol::lines);
    EXPECT_EQ(cfg.hash, algorithm::sha256);
    EXPECT_EQ(cfg.bind, "127.0.0.1");
    EXPECT_EQ(cfg.threads, 8U);
    EXPECT_EQ(cfg.pool_sched, pool_policy::normal);
    EXPECT_EQ(cfg.io_threads, 2U);
    EXPECT_EQ(cfg.max_inflight, 16U);
    EXPECT_EQ(cfg.inline_below, 1024U);
    EXPECT_EQ(cfg.chunk_size, 128U * 1024);
    EXPECT_EQ(cfg.pool_slice, 0U);
    EXPECT_EQ(cfg.max_line, 100U);
    EXPECT_EQ(cfg.max_stream_bytes, 1024U * 1024);
    EXPECT_EQ(cfg.max_connections, 5U);
    EXPECT_EQ(cfg.idle_timeout, 2500ms);
    EXPECT_EQ(cfg.shutdown_timeout, 250ms);
    EXPECT_EQ(cfg.drain_grace, 100ms);
    ASSERT_TRUE(cfg.metrics_port.has_value());
    EXPECT_EQ(*cfg.metrics_port, 9100);
    EXPECT_EQ(cfg.level, log_level::debug);
}

TEST(Options, OptionsMayFollowThePort)
{
    auto cfg = parse_ok({"9000", "--protocol", "stream", "--hash", "xxh3"});
    EXPECT_EQ(cfg.port, 9000);
    EXPECT_EQ(cfg.proto, protocol::stream);
    EXPECT_EQ(cfg.hash, algorithm::xxh3);
}

TEST(Options, EveryProtocolAndAlgorithmAndLevel)
{
    EXPECT_EQ(parse_ok({"--protocol", "oneshot", "1"}).proto, protocol::oneshot);
    EXPECT_EQ(parse_ok({"--protocol", "stream", "1"}).proto, protocol::stream);
    EXPECT_EQ(parse_ok({"--protocol", "lines", "1"}).proto, protocol::lines);
    EXPECT_EQ(parse_ok({"--hash", "fnv1a", "1"}).hash, algorithm::fnv1a);
    EXPECT_EQ(parse_ok({"--hash", "xxh3", "1"}).hash, algorithm::xxh3);
    EXPECT_EQ(parse_ok({"--hash", "sha256", "1"}).hash, algorithm::sha256);
    for (auto l : {log_level::error, log_level::warn, log_level::info, log_level::debug}) {
        std::string name(to_string(l));
        EXPECT_EQ(parse_ok({"--log-level", name.c_str(), "1"}).level, l);
    }
}

TEST(Options, ZeroMeansNeverOrUnlimited)
{
    auto cfg = parse_ok({"--idle-timeout", "0", "--max-stream-bytes", "0", "1"});
    EXPECT_EQ(cfg.idle_timeout, 0ms);
    EXPECT_EQ(cfg.max_stream_bytes, std::numeric_limits<std::uint64_t>::max());
}

TEST(Options, Ipv6Bind) { EXPECT_EQ(parse_ok({"--bind", "::1", "1"}).bind, "::1"); }

TEST(Options, NoPortPrintsUsage)
{
    auto e = parse_exit({});
    EXPECT_EQ(e.code, 1);
    EXPECT_EQ(e.message.rfind(usage_line, 0), 0U) << e.message; // the tutorial's line, first
}

TEST(Options, TwoPortsPrintUsage)
{
    auto e = parse_exit({"8080", "8081"});
    EXPECT_EQ(e.code, 1);
    EXPECT_TRUE(contains(e.message, usage_line)) << e.message;
}

TEST(Options, HelpListsEveryOption)
{
    auto e = parse_exit({"--help"});
    EXPECT_EQ(e.code, 0);
    for (char const* opt : {"--protocol", "--hash", "--bind", "--threads", "--max-inflight", "--max-line",
                            "--max-stream-bytes", "--max-connections", "--idle-timeout", "--shutdown-timeout", "--drain-grace",
                            "--log-level", "--help"})
        EXPECT_TRUE(contains(e.message, opt)) << opt << " missing from:\n" << e.message;
    EXPECT_EQ(parse_exit({"-h"}).code, 0);
}

TEST(Options, Version)
{
    auto e = parse_exit({"--version"});
    EXPECT_EQ(e.code, 0);
    EXPECT_TRUE(contains(e.message, "hash_server")) << e.message;
}

TEST(Options, ShortVersionNamesTheCommit)
{
    auto e = parse_exit({"-V"});
    EXPECT_EQ(e.code, 0);
    EXPECT_EQ(e.message, parse_exit({"--version"}).message);
    EXPECT_TRUE(contains(e.message, "hash_server " HASHSRV_VERSION " (commit ")) << e.message;
    EXPECT_EQ(e.message.back(), '\n');
}

// Each bad value: exit code 1, a message naming the option (or the port) and
// the offending text, then the usage line.
TEST(Options, BadValuesAreClearErrors)
{
    struct bad {
        std::vector<char const*> args;
        std::string_view names;
    };
    std::vector<bad> const cases = {
        {{"abc"}, "port"},
        {{"65536"}, "port"},
        {{"-1"}, "port"},
        {{"80x"}, "port"},
        {{"--protocol", "http", "1"}, "--protocol"},
        {{"--hash", "md5", "1"}, "--hash"},
        {{"--log-level", "loud", "1"}, "--log-level"},
        {{"--bind", "not-an-address", "1"}, "--bind"},
        {{"--threads", "0", "1"}, "--threads"},
        {{"--threads", "many", "1"}, "--threads"},
        {{"--io-threads", "0", "1"}, "--io-threads"},
        {{"--max-inflight", "0", "1"}, "--max-inflight"},
        {{"--max-connections", "0", "1"}, "--max-connections"},
        {{"--max-connections", "-5", "1"}, "--max-connections"},
        {{"--inline-below", "1Q", "1"}, "--inline-below"},
        {{"--chunk-size", "100", "1"}, "--chunk-size"},
        {{"--chunk-size", "65M", "1"}, "--chunk-size"},
        {{"--pool-slice", "1Q", "1"}, "--pool-slice"},
        {{"--max-line", "0", "1"}, "--max-line"},
        {{"--max-line", "2G", "1"}, "--max-line"},
        {{"--max-stream-bytes", "lots", "1"}, "--max-stream-bytes"},
        {{"--idle-timeout", "-1", "1"}, "--idle-timeout"},
        {{"--idle-timeout", "soon", "1"}, "--idle-timeout"},
        {{"--shutdown-timeout", "nan", "1"}, "--shutdown-timeout"},
        {{"--drain-grace", "-1", "1"}, "--drain-grace"},
        {{"--drain-grace", "soon", "1"}, "--drain-grace"},
        {{"--metrics-port", "70000", "1"}, "--metrics-port"},
        {{"--config", "", "1"}, "--config"},
        {{"--config", "/nonexistent/hash-server.conf", "1"}, "/nonexistent/hash-server.conf"},
        {{"--config", "/dev/zero", "1"}, "not a regular file"},
        {{"--no-such-option", "1"}, "--no-such-option"},
    };
    for (auto const& c : cases) {
        std::vector<char const*> argv{"hash_server"};
        argv.insert(argv.end(), c.args.begin(), c.args.end());
        auto r = parse_command_line(static_cast<int>(argv.size()), argv.data(),
                                    [](char const*) -> char const* { return nullptr; });
        auto* e = std::get_if<early_exit>(&r);
        std::string shown;
        for (auto* a : c.args) shown += std::string(a) + " ";
        ASSERT_NE(e, nullptr) << "accepted: " << shown;
        EXPECT_EQ(e->code, 1) << shown;
        EXPECT_TRUE(contains(e->message, c.names)) << shown << "-> " << e->message;
        EXPECT_TRUE(contains(e->message, usage_line)) << shown << "-> " << e->message;
        EXPECT_EQ(e->message.rfind("hash_server: ", 0), 0U) << shown << "-> " << e->message;
    }
}

TEST(Options, OptionWithoutValueIsAnError)
{
    auto e = parse_exit({"1", "--protocol"});
    EXPECT_EQ(e.code, 1);
    EXPECT_TRUE(contains(e.message, "--protocol")) << e.message;
}

TEST(ParsePort, Bounds)
{
    EXPECT_EQ(parse_port("0"), 0);
    EXPECT_EQ(parse_port("1"), 1);
    EXPECT_EQ(parse_port("8080"), 8080);
    EXPECT_EQ(parse_port("65535"), 65535);
    EXPECT_THROW(parse_port("65536"), std::invalid_argument);
    EXPECT_THROW(parse_port("99999999999999999999999"), std::invalid_argument);
}

TEST(ParsePort, OnlyDigits)
{
    for (std::string_view bad : {"", "-1", "+1", " 80", "80 ", "0x50", "8o", "1e3", "80.0"})
        EXPECT_THROW(parse_port(bad), std::invalid_argument) << "'" << bad << "'";
}

TEST(ParsePort, MessageSaysWhatWasExpected)
{
    try {
        parse_port("abc");
        FAIL() << "no exception";
    } catch (std::invalid_argument const& e) {
        EXPECT_TRUE(contains(e.what(), "0 to 65535")) << e.what();
        EXPECT_TRUE(contains(e.what(), "abc")) << e.what();
    }
}

TEST(ParseSize, PlainAndSuffixes)
{
    EXPECT_EQ(parse_size("0"), 0U);
    EXPECT_EQ(parse_size("65536"), 65536U);
    EXPECT_EQ(parse_size("64K"), 64U << 10);
    EXPECT_EQ(parse_size("64k"), 64U << 10);
    EXPECT_EQ(parse_size("1M"), 1U << 20);
    EXPECT_EQ(parse_size("3m"), 3U << 20);
    EXPECT_EQ(parse_size("2G"), 2ULL << 30);
    EXPECT_EQ(parse_size("1g"), 1ULL << 30);
    EXPECT_EQ(parse_size("0K"), 0U);
    EXPECT_EQ(parse_size("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(parse_size("17179869183G"), 17179869183ULL << 30); // the largest that fits
}

TEST(ParseSize, Rejects)
{
    for (std::string_view bad : {"", "K", "1T", "1KB", "-1", "1.5K", " 1", "1 ", "K1", "0x10",
                                 "18446744073709551616", "17179869184G"})
        EXPECT_THROW(parse_size(bad), std::invalid_argument) << "'" << bad << "'";
}

TEST(ParseSeconds, WholeAndFractions)
{
    EXPECT_EQ(parse_seconds("0"), 0ms);
    EXPECT_EQ(parse_seconds("30"), 30'000ms);
    EXPECT_EQ(parse_seconds("0.5"), 500ms);
    EXPECT_EQ(parse_seconds("2.25"), 2250ms);
    EXPECT_EQ(parse_seconds("0.001"), 1ms);
    EXPECT_EQ(parse_seconds(".5"), 500ms);
    EXPECT_EQ(parse_seconds("1000000000"), std::chrono::milliseconds(1'000'000'000'000LL));
}

TEST(ParseSeconds, RoundsToTheNearestMillisecond)
{
    EXPECT_EQ(parse_seconds("0.0004"), 0ms);
    EXPECT_EQ(parse_seconds("0.0006"), 1ms);
    EXPECT_EQ(parse_seconds("1.9996"), 2000ms);
}

TEST(ParseSeconds, Rejects)
{
    for (std::string_view bad : {"", "-1", "-0.5", "abc", "1s", "inf", "nan", "1e10", "1000000001", " 1", "1,5"})
        EXPECT_THROW(parse_seconds(bad), std::invalid_argument) << "'" << bad << "'";
}
