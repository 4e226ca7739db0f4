// SPDX-License-Identifier: BSL-1.0
// Digest -> lowercase hex, the wire format of every reply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace hashsrv {

inline constexpr char hex_digits[] = "0123456789abcdef";

/// Appends the 16 lowercase hex digits of `v`, most significant first.
inline void append_hex(std::string& out, std::uint64_t v)
{
    char text[16];
    for (int i = 15; i >= 0; --i) {
        text[i] = hex_digits[v & 0xfU];
        v >>= 4;
    }
    out.append(text, sizeof text);
}

/// Appends two lowercase hex digits per byte, in order.
inline void append_hex(std::string& out, std::span<const unsigned char> bytes)
{
    for (unsigned char b : bytes) {
        out.push_back(hex_digits[b >> 4]);
        out.push_back(hex_digits[b & 0xfU]);
    }
}

inline std::string to_hex(std::uint64_t v)
{
    std::string s;
    s.reserve(16);
    append_hex(s, v);
    return s;
}

inline std::string to_hex(std::span<const unsigned char> bytes)
{
    std::string s;
    s.reserve(bytes.size() * 2);
    append_hex(s, bytes);
    return s;
}

} // namespace hashsrv
