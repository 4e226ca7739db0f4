// SPDX-License-Identifier: BSL-1.0
// Logs: one line per event on stderr with a timestamp and a level, and no line
// per request at the default level (info).
#include "http.hpp"
#include "server_process.hpp"
#include "sockets.hpp"
#include "text.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <csignal>
#include <string>
#include <string_view>
#include <thread>

using namespace test_support;

namespace {

std::size_t count_lines(std::string_view s) { return count_of(s, "\n"); }

/// "2026-11-27T12:00:00.123Z LEVEL message" (std::regex would do, but g++ 12
/// warns inside <regex> under the sanitizer flags, and warnings are errors).
bool well_formed(std::string_view line)
{
    static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ ";
    if (line.size() <= shape.size()) return false;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        bool digit = std::isdigit(static_cast<unsigned char>(line[i])) != 0;
        if (shape[i] == 'd' ? !digit : line[i] != shape[i]) return false;
    }
    auto rest = line.substr(shape.size());
    for (std::string_view level : {"ERROR ", "WARN ", "INFO ", "DEBUG "})
        if (rest.substr(0, level.size()) == level)
            return rest.size() > level.size() && rest[level.size()] != ' ';
    return false;
}

/// Startup is logged after the banner: wait for its last line before counting.
std::string started_log(server_process const& srv) { return wait_for_log(srv, "serving protocol"); }

} // namespace

TEST(Logs, EveryLineHasATimestampAndALevel)
{
    server_process srv({"--log-level", "debug", "--protocol", "lines", "--max-line", "4", "--metrics-port", "0"});
    started_log(srv);
    request(srv.port(), "far too long\n"); // logged at debug
    srv.signal(SIGTERM);
    ASSERT_TRUE(srv.wait_exit(20s));
    auto log = srv.log();
    auto lines = split_lines(log);
    for (auto line : lines) {
        if (line.ends_with('\n')) line.remove_suffix(1);
        EXPECT_TRUE(well_formed(line)) << "'" << line << "'";
    }
    EXPECT_GE(lines.size(), 5u) << log; // metrics, serving, the refused line, signal, drain
}

TEST(Logs, NoLinePerRequestAtTheDefaultLevel)
{
    server_process srv({"--metrics-port", "0"});
    auto before = started_log(srv);
    for (int i = 0; i < 100; ++i) ASSERT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    for (int i = 0; i < 10; ++i) ASSERT_EQ(http_get(metrics_port(srv), "/metrics").status, 200);
    std::this_thread::sleep_for(100ms); // anything logged late by the last sessions
    auto after = srv.log();
    EXPECT_EQ(count_lines(after), count_lines(before)) << "new lines after 100 requests:\n"
                                                       << after.substr(before.size());
}

TEST(Logs, ClientErrorsAreLoggedAtDebugOnly)
{
    // 100 requests that each end with an error the client caused (a line over
    // --max-line): not a line at info; one line each at debug. The debug half
    // shows the info half would notice per-request lines if there were any.
    auto run = [](std::string level) {
        server_process srv({"--log-level", level, "--protocol", "lines", "--max-line", "4"});
        auto before = started_log(srv);
        for (int i = 0; i < 100; ++i) EXPECT_EQ(request(srv.port(), "far too long\n").rfind("ERR ", 0), 0u);
        std::this_thread::sleep_for(100ms);
        return count_lines(srv.log()) - count_lines(before);
    };
    EXPECT_EQ(run("info"), 0u);
    EXPECT_GE(run("debug"), 100u);
}
