// SPDX-License-Identifier: BSL-1.0
// Soak (label `soak`): 200 000 oneshot requests (HASHSRV_SOAK_REQUESTS to
// change), from 4 concurrent clients. Open descriptors are exactly the same
// before and after; resident memory too, within a small slack for the
// allocator (measured after a warm-up of 10 000 requests).
#include "polling.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace test_support;

namespace {

std::size_t soak_requests()
{
    if (auto const* env = std::getenv("HASHSRV_SOAK_REQUESTS")) return std::strtoull(env, nullptr, 10);
    return 200'000;
}

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

} // namespace
