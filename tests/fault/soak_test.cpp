// SPDX-License-Identifier: BSL-1.0
// Soak (label `soak`): 200 000 oneshot requests (HASHSRV_SOAK_REQUESTS to
// change), from 4 concurrent clients. Open descriptors are exactly the same
// before and after; resident memory too, within a small slack for the
// allocator (measured after a warm-up of 10 000 requests).
//
// And crowds: 50 000 idle connections (HASHSRV_SOAK_CONNECTIONS) opened and
// closed in batches of 5 000 (HASHSRV_SOAK_BATCH), in each protocol. After
// every batch the server's descriptors are exactly those it had before, and
// after all of them its VmRSS is within 10 % of what it was after a warm-up
// batch. Not lower: the allocator keeps a drained crowd's memory for the next
// one (bench/results/2026-12-02.md, "Memory returns").
#include "http.hpp"
#include "polling.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"
#include "system.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace test_support;

namespace {

std::size_t from_env(char const* name, std::size_t otherwise)
{
    if (auto const* env = std::getenv(name)) return std::strtoull(env, nullptr, 10);
    return otherwise;
}

std::size_t soak_requests() { return from_env("HASHSRV_SOAK_REQUESTS", 200'000); }

// Runs `n` requests from `threads` clients; returns how many were answered wrong.
std::size_t hammer(std::uint16_t port, std::size_t n, int threads)
{
    std::atomic<std::size_t> next{0}, wrong{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < threads; ++t) {
        clients.emplace_back([&] {
            for (std::size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
                std::string payload = "soak request " + std::to_string(i) + "\n";
                if (request(port, payload) != reference_digest("fnv1a", payload)) wrong.fetch_add(1);
            }
        });
    }
    for (auto& c : clients) c.join();
    return wrong.load();
}

TEST(Soak, DescriptorsAndMemoryTheSameAfter200kRequests)
{
    std::size_t const total = soak_requests();
    std::size_t const warmup = std::min<std::size_t>(10'000, total / 4);
    server_process srv({"--protocol", "oneshot"});

    ASSERT_EQ(hammer(srv.port(), warmup, 4), 0U) << log_tail(srv);
    // A session ends just after its reply is read: wait for the last ones.
    std::size_t const fds_before = settled_fds(srv);
    std::size_t const rss_before = srv.rss_kib();

    auto const start = clock::now();
    ASSERT_EQ(hammer(srv.port(), total - warmup, 4), 0U) << log_tail(srv);
    auto const secs = std::chrono::duration<double>(clock::now() - start).count();

    EXPECT_TRUE(eventually([&] { return srv.open_fds() == fds_before; }))
        << "descriptors: " << fds_before << " before, " << srv.open_fds() << " after";
    std::size_t const rss_after = srv.rss_kib();
    std::cout << total - warmup << " requests in " << secs << " s; VmRSS " << rss_before << " KiB after warm-up, "
              << rss_after << " KiB after; descriptors " << fds_before << "\n";
    // 1 MiB of slack for the allocator: a leak of even 8 bytes per request
    // would add 1.5 MiB over 190 000 requests.
    EXPECT_LE(rss_after, rss_before + 1024) << "VmRSS grew from " << rss_before << " to " << rss_after << " KiB";
    expect_healthy_then_stop(srv);
}

/// Opens `n` connections that send nothing, waits until the server serves
/// them all, closes them and waits until the server has closed its ends.
/// Returns the server's VmRSS while it held them (0: it never did).
std::size_t crowd(server_process const& srv, std::uint16_t metrics, std::size_t n, std::size_t fds_idle)
{
    std::vector<fd_guard> held;
    held.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        held.push_back(connect_to(srv.port()));
        if (!held.back()) return 0;
    }
    if (!eventually([&] { return srv.open_fds() >= fds_idle + n; }, 60s)) return 0;
    // A burst's descriptors are taken ahead of their sessions: wait for the
    // sessions too, or a crowd could leave before all of it was served.
    auto const active = [&] { return sample(scrape(metrics), "hash_server_connections_active"); };
    if (!eventually([&] { return active() >= static_cast<double>(n); }, 60s)) return 0;
    std::size_t const rss = srv.rss_kib();
    held.clear();
    return rss;
}

void crowds_come_and_go(std::string const& protocol)
{
    std::size_t const batch = from_env("HASHSRV_SOAK_BATCH", 5'000);
    std::size_t const batches = from_env("HASHSRV_SOAK_CONNECTIONS", 50'000) / batch;
    raise_fd_limit(batch + 1024);
    server_process srv({"--protocol", protocol, "--max-connections", std::to_string(batch + 100), "--metrics-port", "0"});
    auto const metrics = metrics_port(srv);
    std::size_t const fds_idle = settled_fds(srv);
    std::size_t const rss_start = srv.rss_kib();

    // The warm-up crowd grows the heap to its size; later ones reuse it.
    ASSERT_GT(crowd(srv, metrics, batch, fds_idle), 0U) << "the warm-up crowd was never held; " << log_tail(srv);
    ASSERT_TRUE(eventually([&] { return srv.open_fds() == fds_idle; }, 60s))
        << "descriptors: " << fds_idle << " before, " << srv.open_fds() << " after the warm-up";
    std::size_t const rss_before = srv.rss_kib();

    std::string report;
    for (std::size_t b = 0; b < batches; ++b) {
        std::size_t const held = crowd(srv, metrics, batch, fds_idle);
        ASSERT_GT(held, 0U) << "crowd " << b << " was never held; " << log_tail(srv);
        ASSERT_TRUE(eventually([&] { return srv.open_fds() == fds_idle; }, 60s))
            << "crowd " << b << ": descriptors " << fds_idle << " before, " << srv.open_fds() << " after";
        report += " " + std::to_string(held) + "/" + std::to_string(srv.rss_kib());
        ASSERT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n") << "after crowd " << b;
    }
    std::size_t const rss_after = srv.rss_kib();
    std::cout << protocol << ": " << batches << " crowds of " << batch << " idle connections; VmRSS KiB " << rss_start
              << " at start, " << rss_before << " after the warm-up crowd, held/after each crowd:" << report
              << "; descriptors " << fds_idle << "\n";
    EXPECT_LE(rss_after * 10, rss_before * 11)
        << "VmRSS grew from " << rss_before << " to " << rss_after << " KiB over " << batches << " crowds";
    expect_healthy_then_stop(srv, "fnv1a", protocol == "lines");
}

TEST(Soak, DescriptorsAndMemoryComeBackAfterCrowdsOneshot) { crowds_come_and_go("oneshot"); }
TEST(Soak, DescriptorsAndMemoryComeBackAfterCrowdsStream) { crowds_come_and_go("stream"); }
TEST(Soak, DescriptorsAndMemoryComeBackAfterCrowdsLines) { crowds_come_and_go("lines"); }

} // namespace
