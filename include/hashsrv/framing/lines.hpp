// SPDX-License-Identifier: BSL-1.0
// The `lines` protocol's framing: finds `\n`-terminated requests in a byte
// stream and enforces the line-length limit. Pure: no sockets, no allocation.
#pragma once

#include <cstddef>
#include <string_view>

namespace hashsrv::framing {

/// Scans a connection's buffered, not yet answered bytes for complete lines.
///
/// Feed it the whole unconsumed buffer each time more bytes arrive; it only
/// looks at the bytes it has not seen before. A line is at most `max_line`
/// bytes, not counting its `\n`.
class line_framer {
public:
    struct result {
        /// Bytes at the front of the buffer that form complete lines (each with
        /// its `\n`), all within the limit. Answer them, then `consume()` them.
        std::size_t complete = 0;
        /// A line (complete or still growing) after those exceeds `max_line`.
        bool too_long = false;
    };

    explicit constexpr line_framer(std::size_t max_line) noexcept : max_line_(max_line) {}

    constexpr result scan(std::string_view buffered) noexcept
    {
        result r{complete_, false};
        for (std::size_t i = scanned_; i < buffered.size(); ++i) {
            if (buffered[i] != '\n') continue;
            if (i - line_start_ > max_line_) {
                r.too_long = true;
                break;
            }
            line_start_ = i + 1;
            r.complete = line_start_;
        }
        complete_ = r.complete;
        scanned_ = buffered.size();
        if (!r.too_long && buffered.size() - line_start_ > max_line_) r.too_long = true;
        return r;
    }

    /// The caller dropped the first `n` bytes (n <= the last `complete`).
    constexpr void consume(std::size_t n) noexcept
    {
        scanned_ -= n;
        line_start_ -= n;
        complete_ -= n;
    }

    constexpr std::size_t max_line() const noexcept { return max_line_; }

    /// Bytes of the line still being received (seen, not yet complete).
    constexpr std::size_t partial() const noexcept { return scanned_ - line_start_; }

private:
    std::size_t max_line_;
    std::size_t scanned_ = 0;    // bytes of the buffer already looked at
    std::size_t line_start_ = 0; // where the line being received begins
    std::size_t complete_ = 0;   // end of the last complete line
};

/// Calls `f(line)` for each `\n`-terminated line in `complete`, the `\n`
/// included (it is part of the hashed request, as in the tutorial).
template <typename F>
constexpr void for_each_line(std::string_view complete, F&& f)
{
    while (!complete.empty()) {
        auto nl = complete.find('\n');
        auto len = nl == std::string_view::npos ? complete.size() : nl + 1;
        f(complete.substr(0, len));
        complete.remove_prefix(len);
    }
}

} // namespace hashsrv::framing
