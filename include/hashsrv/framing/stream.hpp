// SPDX-License-Identifier: BSL-1.0
// The `stream` protocol's framing: a message is every byte up to the client's
// half-close, so all there is to frame is its size against --max-stream-bytes.
#pragma once

#include <cstdint>
#include <limits>

namespace hashsrv::framing {

class stream_limit {
public:
    static constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();

    explicit constexpr stream_limit(std::uint64_t max_bytes = unlimited) noexcept : max_(max_bytes) {}

    /// Counts `n` more bytes; false once the total exceeds the limit.
    constexpr bool add(std::uint64_t n) noexcept
    {
        total_ = n > unlimited - total_ ? unlimited : total_ + n;
        return total_ <= max_;
    }

    constexpr std::uint64_t total() const noexcept { return total_; }
    constexpr std::uint64_t max() const noexcept { return max_; }

private:
    std::uint64_t max_;
    std::uint64_t total_ = 0;
};

} // namespace hashsrv::framing
