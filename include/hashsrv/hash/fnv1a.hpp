// SPDX-License-Identifier: BSL-1.0
// FNV-1a 64, the tutorial's hash, as a streaming state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hashsrv {

class fnv1a64 {
public:
    static constexpr std::uint64_t basis = 14695981039346656037ULL;
    static constexpr std::uint64_t prime = 1099511628211ULL;

    constexpr void update(std::string_view data) noexcept
    {
        std::uint64_t h = state_;
        for (char c : data) {
            h ^= static_cast<unsigned char>(c);
            h *= prime;
        }
        state_ = h;
    }

    constexpr std::uint64_t digest() const noexcept { return state_; }
    constexpr void reset() noexcept { state_ = basis; }

    static constexpr std::uint64_t hash(std::string_view data) noexcept
    {
        fnv1a64 h;
        h.update(data);
        return h.digest();
    }

private:
    std::uint64_t state_ = basis;
};

} // namespace hashsrv
