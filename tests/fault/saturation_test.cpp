// SPDX-License-Identifier: BSL-1.0
// Pool saturation: far more concurrent bulk uploads than --max-inflight. The
// uploads queue in the sockets, not in the server's memory: its resident size
// stays within a bound derived from chunk size x connections, and every upload
// still gets its correct digest.
#include "payload.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"
#include "system.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace test_support;

namespace {

// Upload `index`'s bytes: a 1 MiB random block, rotated per upload, repeated.
std::string upload_block(std::mt19937_64& rng) { return random_bytes(rng, 1U << 20); }

TEST(Saturation, MoreUploadsThanMaxInflightStayBoundedAndCorrect)
{
    constexpr int uploads = 16;
    constexpr std::size_t chunk = 256 * 1024; // the server's default --chunk-size
    std::size_t const mib_each = sanitized ? 8 : 32;
    server_process srv({"--protocol", "stream", "--max-inflight", "2", "--threads", "2"});
    ASSERT_EQ(request(srv.port(), "warm\n"), reference_digest("fnv1a", "warm\n"));
    std::size_t const baseline_kib = srv.rss_kib();
    ASSERT_GT(baseline_kib, 0U);

    std::mt19937_64 rng(1234);
    auto const block = upload_block(rng);
    std::vector<std::string> got(uploads), want(uploads);
    std::atomic<std::size_t> peak_kib{baseline_kib};
    std::atomic<bool> done{false};
    std::thread sampler([&] {
        while (!done.load()) {
            auto kib = srv.rss_kib();
            if (kib > peak_kib.load()) peak_kib = kib;
            std::this_thread::sleep_for(2ms);
        }
    });
    std::vector<std::thread> clients;
    for (int u = 0; u < uploads; ++u) {
        clients.emplace_back([&, u] {
            auto fd = connect_to(srv.port());
            if (!fd) return;
            std::uint64_t h = fnv1a_basis;
            std::string_view b(block);
            auto rotate = static_cast<std::size_t>(u) * 4099;
            for (std::size_t m = 0; m < mib_each; ++m) {
                // Two sends per MiB, starting at an upload-specific offset.
                auto first = b.substr(rotate), second = b.substr(0, rotate);
                h = reference_fnv1a(first, h);
                h = reference_fnv1a(second, h);
                if (!send_all(fd.get(), first) || !send_all(fd.get(), second)) return;
            }
            want[static_cast<std::size_t>(u)] = hex16(h) + "\n";
            shutdown_write(fd.get());
            got[static_cast<std::size_t>(u)] = read_until_eof(fd.get(), 300s).data;
        });
    }
    for (auto& t : clients) t.join();
    done = true;
    sampler.join();

    for (int u = 0; u < uploads; ++u) EXPECT_EQ(got[static_cast<std::size_t>(u)], want[static_cast<std::size_t>(u)]);
    // The bound: three chunk buffers per connection (src/pool/hash_pipeline.hpp), times 2 for allocator
    // slack (6 under a sanitizer, for its allocator and shadow memory: TSan measured +66 MiB),
    // plus 32 MiB for the pool threads' arenas and stacks. Buffering the uploads instead
    // would take 16 x 32 MiB = 512 MiB (16 x 8 MiB sanitized).
    std::size_t const slack = sanitized ? 6 : 2;
    std::size_t const bound_kib = (uploads * 3 * chunk * slack + (32U << 20)) / 1024;
    std::size_t const growth_kib = peak_kib.load() - baseline_kib;
    std::cout << "server VmRSS: baseline " << baseline_kib << " KiB, peak " << peak_kib.load() << " KiB (+"
              << growth_kib << "), bound +" << bound_kib << " KiB, uploaded " << uploads * mib_each << " MiB\n";
    EXPECT_LT(growth_kib, bound_kib);
    expect_healthy_then_stop(srv);
}

} // namespace
