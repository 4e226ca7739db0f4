// SPDX-License-Identifier: BSL-1.0
// Helpers shared by the integration tests (on top of tests/support/server_process.hpp):
// bounded waits, deterministic payloads, independent reference digests,
// digest-line parsing, and running shell clients such as `nc`.
#pragma once

#include "server_process.hpp"

#include <openssl/evp.h>
#include <xxhash.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace itest {

using namespace test_support;
using namespace std::chrono_literals;

/// Polls `pred` until it is true or `limit` passes (a hang detector, not a timing).
inline bool wait_until(std::function<bool()> const& pred, std::chrono::milliseconds limit = 20s)
{
    auto until = clock::now() + limit;
    for (;;) {
        if (pred()) return true;
        if (clock::now() >= until) return false;
        std::this_thread::sleep_for(5ms);
    }
}

/// Waits until the server holds at least `sockets` socket descriptors: how a
/// test knows that the server has accepted its connections (an accepted
/// connection is one more socket; one still in the kernel backlog is not).
inline bool wait_for_sockets(server_process const& srv, std::size_t sockets, std::chrono::milliseconds limit = 20s)
{
    return wait_until([&] { return srv.open_sockets() >= sockets; }, limit);
}

/// Deterministic pseudo-random bytes (xorshift64), so that a test can make
/// gigabytes without storing them and a failure is reproducible.
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

// ---- reference digests, straight from the libraries (not through hashsrv) --

inline std::string reference_xxh3(std::string_view data) { return hex16(XXH3_64bits(data.data(), data.size())); }

inline std::string reference_sha256(std::string_view data)
{
    std::array<unsigned char, 32> md{};
    unsigned len = 0;
    if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) return "<EVP_Digest failed>";
    std::string hex;
    for (unsigned i = 0; i < len; ++i) {
        char b[3];
        std::snprintf(b, sizeof b, "%02x", md[i]);
        hex += b;
    }
    return hex;
}

inline std::string reference_hex(std::string_view alg, std::string_view data)
{
    if (alg == "xxh3") return reference_xxh3(data);
    if (alg == "sha256") return reference_sha256(data);
    return hex16(reference_fnv1a(data));
}

/// Splits a reply into its lines, without the "\n"s; a last line without
/// "\n" is kept as it is (a truncated reply shows up as such).
inline std::vector<std::string> reply_lines(std::string_view reply)
{
    std::vector<std::string> out;
    while (!reply.empty()) {
        auto nl = reply.find('\n');
        if (nl == std::string_view::npos) {
            out.emplace_back(reply);
            break;
        }
        out.emplace_back(reply.substr(0, nl));
        reply.remove_prefix(nl + 1);
    }
    return out;
}

// ---- clients -----------------------------------------------------------------

/// Sends each write on its own segment (no Nagle coalescing on our side).
inline void set_nodelay(int fd)
{
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/// True if nothing at all (no byte, no EOF) arrives on `fd` within `wait`.
/// Used to show that something does NOT happen; a correct server can never
/// fail it, a broken one fails it unless the machine is slower than `wait`.
inline bool stays_silent(int fd, std::chrono::milliseconds wait)
{
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 0;
}

/// The output (stdout and stderr) of a shell command; `timeout` guards hangs.
inline std::string shell_output(std::string const& command)
{
    std::string out;
    if (FILE* p = ::popen(("timeout 60 sh -c '" + command + "' 2>&1").c_str(), "r")) {
        char buf[4096];
        while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

inline bool have_command(std::string const& name)
{
    return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

} // namespace itest
