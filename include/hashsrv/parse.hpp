// SPDX-License-Identifier: BSL-1.0
// Strict parsers for command-line values, shared by the server, the client and
// the bench tools. Each throws std::invalid_argument with a message that names
// what was expected: digits only (no sign, no spaces), sizes with an optional
// K, M or G suffix (powers of 1024), seconds with fractions ("0.5").
#pragma once

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hashsrv {


inline std::uint64_t parse_unsigned(std::string_view text, std::string_view what)
{
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
        throw std::invalid_argument("expected " + std::string(what) + ", got '" + std::string(text) + "'");
    return v;
}

inline std::uint16_t parse_port(std::string_view text)
{
    auto v = parse_unsigned(text, "a port number from 0 to 65535");
    if (v > 65535) throw std::invalid_argument("expected a port number from 0 to 65535, got '" + std::string(text) + "'");
    return static_cast<std::uint16_t>(v);
}

inline std::uint64_t parse_size(std::string_view text)
{
    std::uint64_t scale = 1;
    if (!text.empty()) {
        switch (text.back()) {
        case 'K': case 'k': scale = 1ULL << 10; break;
        case 'M': case 'm': scale = 1ULL << 20; break;
        case 'G': case 'g': scale = 1ULL << 30; break;
        default: break;
        }
        if (scale != 1) text.remove_suffix(1);
    }
    auto v = parse_unsigned(text, "a size in bytes (like 65536, 64K, 1M or 2G)");
    if (v > std::numeric_limits<std::uint64_t>::max() / scale) throw std::invalid_argument("size too large");
    return v * scale;
}

inline double parse_seconds_exact(std::string_view text)
{
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v) || v < 0 ||
        v > 1e9)
        throw std::invalid_argument("expected seconds (like 30 or 0.5), got '" + std::string(text) + "'");
    return v;
}

inline std::chrono::milliseconds parse_seconds(std::string_view text)
{
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(parse_seconds_exact(text) * 1000)));
}

} // namespace hashsrv
