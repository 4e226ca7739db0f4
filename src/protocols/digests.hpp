// SPDX-License-Identifier: BSL-1.0
// The work that hops: named coroutine functions taking their inputs by value
// (views into buffers that the session keeps alive across the co_await), as
// run_on asks.
#pragma once

#include <hashsrv/framing/lines.hpp>
#include <hashsrv/hash/hasher.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace hashsrv {

/// The digest of `message` in hex, and a newline.
inline boost::asio::awaitable<std::string> digest_reply(algorithm alg, std::string_view message)
{
    std::string out;
    out.reserve(hasher::hex_size(alg) + 1);
    append_hex_digest_of(out, alg, message);
    out.push_back('\n');
    co_return out;
}

/// One reply line per line of `complete_lines`.
inline boost::asio::awaitable<std::string> digest_lines(algorithm alg, std::string_view complete_lines)
{
    std::string out;
    framing::for_each_line(complete_lines, [&](std::string_view line) {
        append_hex_digest_of(out, alg, line);
        out.push_back('\n');
    });
    co_return out;
}

} // namespace hashsrv
