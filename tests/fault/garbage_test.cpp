// SPDX-License-Identifier: BSL-1.0
// Garbage: random binary payloads of random sizes in every protocol and with
// every algorithm; each reply is checked against an independent digest.
#include "payload.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"
#include "system.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <tuple>

using namespace test_support;

namespace {

using params = std::tuple<std::string, std::string>; // protocol, algorithm

class Garbage : public ::testing::TestWithParam<params> {};

// Sends `payload` in pieces of random size (so reads split it anywhere),
// half-closes, and returns the whole reply.
std::string send_in_random_pieces(std::uint16_t port, std::string_view payload, std::mt19937_64& rng)
{
    auto fd = connect_to(port);
    if (!fd) return "<connect failed>";
    std::uniform_int_distribution<std::size_t> piece(1, 70'000);
    if (!send_in_pieces(fd.get(), payload, [&] { return piece(rng); })) return "<send failed>";
    shutdown_write(fd.get());
    return read_until_eof(fd.get(), 60s).data;
}

TEST_P(Garbage, EveryDigestMatchesAnIndependentImplementation)
{
    auto const& [proto, alg] = GetParam();
    server_process srv({"--protocol", proto, "--hash", alg});
    std::mt19937_64 rng(0x5eed'0000 + std::hash<std::string>{}(proto + alg) % 1000);
    int const rounds = sanitized ? 12 : 40;
    for (int i = 0; i < rounds; ++i) {
        SCOPED_TRACE("round " + std::to_string(i));
        if (proto == "oneshot") {
            // One read of up to 4096 bytes: a single send of at most 4096 bytes
            // arrives in one piece on loopback. 0 bytes: no reply at all.
            auto n = std::uniform_int_distribution<std::size_t>(0, 4096)(rng);
            if (i == 0) n = 0;
            if (i == 1) n = 4096;
            auto payload = random_bytes(rng, n);
            auto want = n == 0 ? std::string() : reference_digest(alg, payload);
            ASSERT_EQ(request(srv.port(), payload), want) << "payload of " << n << " bytes";
        } else if (proto == "stream") {
            // Up to 1 MiB (2 MiB unsanitized), every byte counts, the empty stream included.
            std::size_t const max = sanitized ? 1U << 20 : 2U << 20;
            auto n = i == 0 ? 0 : std::uniform_int_distribution<std::size_t>(1, max)(rng);
            auto payload = random_bytes(rng, n);
            ASSERT_EQ(send_in_random_pieces(srv.port(), payload, rng), reference_digest(alg, payload))
                << "payload of " << n << " bytes";
        } else {
            // lines: random bytes split on "\n"; vary the density of "\n" so
            // that lines are sometimes empty, sometimes thousands of bytes.
            auto n = std::uniform_int_distribution<std::size_t>(1, 256 * 1024)(rng);
            auto payload = random_bytes(rng, n);
            auto every = std::uniform_int_distribution<std::size_t>(1, 4000)(rng);
            for (std::size_t k = 0; k < n; k += 1 + rng() % (2 * every)) payload[k] = '\n';
            ASSERT_EQ(send_in_random_pieces(srv.port(), payload, rng), reference_lines(alg, payload))
                << "payload of " << n << " bytes";
        }
    }
    expect_healthy_then_stop(srv, alg, proto == "lines");
}

INSTANTIATE_TEST_SUITE_P(EveryProtocolAndHash, Garbage,
                         ::testing::Combine(::testing::Values("oneshot", "stream", "lines"),
                                            ::testing::Values("fnv1a", "xxh3", "sha256")),
                         [](auto const& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

} // namespace
