// SPDX-License-Identifier: BSL-1.0
// The algorithms the server offers, by name: what a file needs that names one
// without hashing (options, metrics labels), without OpenSSL's or xxHash's headers.
#pragma once

#include <optional>
#include <string_view>

namespace hashsrv {

enum class algorithm { fnv1a, xxh3, sha256 };

constexpr std::string_view to_string(algorithm a) noexcept
{
    switch (a) {
    case algorithm::fnv1a: return "fnv1a";
    case algorithm::xxh3: return "xxh3";
    case algorithm::sha256: return "sha256";
    }
    return "?";
}

inline std::optional<algorithm> parse_algorithm(std::string_view s) noexcept
{
    for (auto a : {algorithm::fnv1a, algorithm::xxh3, algorithm::sha256})
        if (s == to_string(a)) return a;
    return std::nullopt;
}

} // namespace hashsrv
