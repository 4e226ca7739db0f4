// SPDX-License-Identifier: BSL-1.0
// What the server must answer, computed without hashsrv's code: FNV-1a by a
// loop of its own, XXH3 and SHA-256 by libxxhash's and OpenSSL's one-shot
// calls, hex by the tests' one encoder.
#pragma once

#include "text.hpp"

#include <openssl/evp.h>
#include <xxhash.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace test_support {

/// FNV-1a 64's state before the first byte: where a test starts that hashes
/// an upload piece by piece while it sends it.
inline constexpr std::uint64_t fnv1a_basis = 14695981039346656037ULL;

inline std::uint64_t reference_fnv1a(std::string_view data, std::uint64_t h = fnv1a_basis)
{
    for (unsigned char c : data) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

/// Two lowercase digits a byte. Kept apart from include/hashsrv/hex.hpp, the
/// encoder under test, so that a bug there cannot hide in both sides.
inline std::string hex(std::span<unsigned char const> bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

/// A 64-bit digest as the server writes it: 16 digits, most significant first.
inline std::string hex16(std::uint64_t v)
{
    std::array<unsigned char, 8> big_endian{};
    for (auto i = big_endian.size(); i-- > 0; v >>= 8) big_endian[i] = static_cast<unsigned char>(v & 0xff);
    return hex(big_endian);
}

inline std::string reference_xxh3(std::string_view data) { return hex16(XXH3_64bits(data.data(), data.size())); }

inline std::string reference_sha256(std::string_view data)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned len = 0;
    if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) return "<EVP_Digest failed>";
    return hex(std::span(md.data(), len));
}

/// The hex digest of `data` with `alg` (fnv1a, xxh3, sha256), without the "\n".
inline std::string reference_hex(std::string_view alg, std::string_view data)
{
    if (alg == "fnv1a") return hex16(reference_fnv1a(data));
    if (alg == "xxh3") return reference_xxh3(data);
    if (alg == "sha256") return reference_sha256(data);
    return "<no algorithm " + std::string(alg) + ">";
}

/// The digest line the server must send for `data`.
inline std::string reference_digest(std::string_view alg, std::string_view data)
{
    return reference_hex(alg, data) + "\n";
}

/// What the `lines` protocol must answer for `data`: one digest per line,
/// its "\n" included, and the final unterminated line as it is.
inline std::string reference_lines(std::string_view alg, std::string_view data)
{
    std::string out;
    for (auto line : split_lines(data)) out += reference_digest(alg, line);
    return out;
}

} // namespace test_support
