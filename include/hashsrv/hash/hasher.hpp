// SPDX-License-Identifier: BSL-1.0
// One streaming interface over the three algorithms the server offers.
// FNV-1a is ours; XXH3 comes from libxxhash and SHA-256 from OpenSSL's EVP API.
#pragma once

#include <hashsrv/hash/algorithm.hpp>
#include <hashsrv/hash/fnv1a.hpp>
#include <hashsrv/hex.hpp>

#include <openssl/evp.h>
#include <xxhash.h>

#include <array>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

namespace hashsrv {

namespace detail {

struct xxh3_state {
    struct free_state {
        void operator()(XXH3_state_t* s) const noexcept { XXH3_freeState(s); }
    };
    std::unique_ptr<XXH3_state_t, free_state> s{XXH3_createState()};

    xxh3_state()
    {
        if (!s) throw std::bad_alloc();
        reset();
    }
    void reset() noexcept { XXH3_64bits_reset(s.get()); }
    void update(std::string_view d) noexcept { XXH3_64bits_update(s.get(), d.data(), d.size()); }
    void append_hex_digest(std::string& out) const { append_hex(out, XXH3_64bits_digest(s.get())); }
};

struct sha256_state {
    struct free_ctx {
        void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
    };
    std::unique_ptr<EVP_MD_CTX, free_ctx> ctx{EVP_MD_CTX_new()};

    sha256_state()
    {
        if (!ctx) throw std::bad_alloc();
        reset();
    }
    void reset()
    {
        if (EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
            throw std::runtime_error("EVP_DigestInit_ex(sha256) failed");
    }
    void update(std::string_view d)
    {
        if (EVP_DigestUpdate(ctx.get(), d.data(), d.size()) != 1)
            throw std::runtime_error("EVP_DigestUpdate failed");
    }
    // Finalises a copy, so the running state stays usable.
    void append_hex_digest(std::string& out) const
    {
        std::unique_ptr<EVP_MD_CTX, free_ctx> copy{EVP_MD_CTX_new()};
        std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
        unsigned len = 0;
        if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx.get()) != 1 ||
            EVP_DigestFinal_ex(copy.get(), md.data(), &len) != 1)
            throw std::runtime_error("EVP_DigestFinal_ex failed");
        append_hex(out, std::span<const unsigned char>(md.data(), len));
    }
};

struct fnv1a_state : fnv1a64 {
    void append_hex_digest(std::string& out) const { append_hex(out, digest()); }
};

} // namespace detail

/// A streaming hash: feed bytes in any number of chunks, then read the digest
/// as lowercase hex. The state carries across chunks, so a stream hashed in
/// pieces gives the same digest as the whole.
class hasher {
public:
    explicit hasher(algorithm a) : state_(make(a)) {}

    algorithm kind() const noexcept { return static_cast<algorithm>(state_.index()); }

    void update(std::string_view data)
    {
        std::visit([&](auto& s) { s.update(data); }, state_);
    }

    void reset()
    {
        std::visit([](auto& s) { s.reset(); }, state_);
    }

    /// Appends the hex digest of everything fed since the last reset.
    void append_hex_digest(std::string& out) const
    {
        std::visit([&](auto const& s) { s.append_hex_digest(out); }, state_);
    }

    std::string hex_digest() const
    {
        std::string s;
        append_hex_digest(s);
        return s;
    }

    /// Length in hex digits of this algorithm's digest.
    static constexpr std::size_t hex_size(algorithm a) noexcept
    {
        return a == algorithm::sha256 ? 64 : 16;
    }

private:
    using state = std::variant<detail::fnv1a_state, detail::xxh3_state, detail::sha256_state>;

    static state make(algorithm a)
    {
        switch (a) {
        case algorithm::xxh3: return detail::xxh3_state{};
        case algorithm::sha256: return detail::sha256_state{};
        case algorithm::fnv1a: break;
        }
        return detail::fnv1a_state{};
    }

    state state_;
};

/// Hashes one whole message and appends its hex digest: the fast path for
/// `oneshot` requests and `lines`, with no per-call state for FNV-1a and XXH3.
inline void append_hex_digest_of(std::string& out, algorithm a, std::string_view data)
{
    switch (a) {
    case algorithm::fnv1a: append_hex(out, fnv1a64::hash(data)); return;
    case algorithm::xxh3: append_hex(out, XXH3_64bits(data.data(), data.size())); return;
    case algorithm::sha256: {
        std::array<unsigned char, 32> md{};
        if (EVP_Digest(data.data(), data.size(), md.data(), nullptr, EVP_sha256(), nullptr) != 1)
            throw std::runtime_error("EVP_Digest(sha256) failed");
        append_hex(out, std::span<const unsigned char>(md));
        return;
    }
    }
}

} // namespace hashsrv
