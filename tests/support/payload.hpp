// SPDX-License-Identifier: BSL-1.0
// Test data made from a seed, so that a test can make gigabytes without
// storing them and a failure is reproducible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

namespace test_support {

/// Pseudo-random bytes (xorshift64), cheap enough to make as they are sent.
class byte_source {
public:
    explicit byte_source(std::uint64_t seed = 0x2545f4914f6cdd1dULL) : x_(seed | 1) {}

    void fill(char* out, std::size_t n)
    {
        for (std::size_t i = 0; i < n; ++i) {
            x_ ^= x_ << 13;
            x_ ^= x_ >> 7;
            x_ ^= x_ << 17;
            out[i] = static_cast<char>(x_ >> 56);
        }
    }

    std::string bytes(std::size_t n)
    {
        std::string s(n, '\0');
        fill(s.data(), n);
        return s;
    }

private:
    std::uint64_t x_;
};

/// Bytes from the generator that also draws the test's other random choices
/// (sizes, split points), so that one seed replays the whole test.
inline std::string random_bytes(std::mt19937_64& rng, std::size_t n)
{
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

} // namespace test_support
