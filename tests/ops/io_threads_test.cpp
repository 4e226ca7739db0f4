// SPDX-License-Identifier: BSL-1.0
// --io-threads 4: the io_context run by four threads, each session on its own
// strand. Many concurrent clients in every protocol, every reply checked
// against a digest computed here; the counters must add up exactly. Under the
// TSan preset the server binary itself is instrumented: a race makes it exit
// non-zero (halt_on_error), which the end of each test checks.
#include "http.hpp"
#include "polling.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace test_support;

namespace {

constexpr int clients = 24;

std::string payload(int client, int i, std::size_t size)
{
    std::string s;
    s.reserve(size);
    std::uint64_t x = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(client * 1000 + i + 1);
    while (s.size() < size) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_back(static_cast<char>('a' + x % 26));
    }
    return s;
}

/// Runs `client(c)` on `clients` threads at once; returns the number of failures.
template <typename F>
int run_clients(F client)
{
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) threads.emplace_back([&, c] { failures += client(c); });
    for (auto& t : threads) t.join();
    return failures.load();
}

void stop_cleanly(server_process& srv)
{
    srv.signal(SIGTERM);
    auto st = srv.wait_exit(60s);
    ASSERT_TRUE(st) << "no exit after SIGTERM";
    EXPECT_TRUE(st->exited) << "killed by signal " << st->code;
    EXPECT_EQ(st->code, 0) << srv.log();
    EXPECT_EQ(srv.log().find("ThreadSanitizer"), std::string::npos) << srv.log();
}

std::string ok(std::string_view proto)
{
    return "hash_server_requests_total{protocol=\"" + std::string(proto) + "\",outcome=\"ok\"}";
}

} // namespace

TEST(IoThreads, RunsTheIoContextOnFourThreads)
{
    server_process srv({"--io-threads", "4", "--threads", "2"});
    ASSERT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    // main + 3 more io threads + 2 pool threads; the extra io threads are
    // started right after the banner, so give them a moment.
    eventually([&] { return srv.thread_ids().size() >= 6; }, 10s);
    EXPECT_GE(srv.thread_ids().size(), 6u);
    stop_cleanly(srv);
}

TEST(IoThreads, OneshotManyConcurrentClients)
{
    server_process srv({"--io-threads", "4", "--metrics-port", "0"});
    auto mport = metrics_port(srv);
    constexpr int per_client = 20;
    int failures = run_clients([&](int c) {
        int bad = 0;
        for (int i = 0; i < per_client; ++i) {
            auto data = payload(c, i, 1 + static_cast<std::size_t>((c * 131 + i * 17) % 4000));
            if (request(srv.port(), data) != reference_digest("fnv1a", data)) ++bad;
            // Scrapes while sessions on other io threads bump the counters.
            if (c % 6 == 0 && http_get(mport, "/metrics").status != 200) ++bad;
        }
        return bad;
    });
    EXPECT_EQ(failures, 0);
    auto m = scrape(mport);
    EXPECT_EQ(sample(m, ok("oneshot")), clients * per_client);
    EXPECT_EQ(sample(m, "hash_server_connections_accepted_total"), clients * per_client);
    EXPECT_EQ(sample(m, "hash_server_connections_active"), 0);
    stop_cleanly(srv);
}

TEST(IoThreads, StreamManyConcurrentClients)
{
    server_process srv({"--io-threads", "4", "--metrics-port", "0", "--protocol", "stream", "--chunk-size", "16K"});
    constexpr int per_client = 3;
    int failures = run_clients([&](int c) {
        int bad = 0;
        for (int i = 0; i < per_client; ++i) {
            auto data = payload(c, i, 50'000 + static_cast<std::size_t>(c * 7919 + i * 104729) % 200'000);
            if (request(srv.port(), data) != reference_digest("fnv1a", data)) ++bad;
        }
        return bad;
    });
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(sample(scrape(metrics_port(srv)), ok("stream")), clients * per_client);
    stop_cleanly(srv);
}

TEST(IoThreads, LinesManyConcurrentPipelinedClients)
{
    server_process srv({"--io-threads", "4", "--metrics-port", "0", "--protocol", "lines", "--chunk-size", "1K"});
    constexpr int lines = 400;
    int failures = run_clients([&](int c) {
        std::string batch, want;
        for (int i = 0; i < lines; ++i) {
            auto line = payload(c, i, 1 + static_cast<std::size_t>(i % 60)) + "\n";
            batch += line;
            want += reference_digest("fnv1a", line);
        }
        // All lines at once, without waiting for replies (small enough for
        // the socket buffers, so one thread can write then read).
        return request(srv.port(), batch) == want ? 0 : 1;
    });
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(sample(scrape(metrics_port(srv)), ok("lines")), clients * lines);
    stop_cleanly(srv);
}
