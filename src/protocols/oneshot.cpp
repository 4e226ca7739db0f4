// SPDX-License-Identifier: BSL-1.0
// The tutorial's protocol: read once, hop to the pool for the hash, come back
// to the session's strand, write the digest, close.
#include "protocols/connection.hpp"
#include "protocols/digests.hpp"
#include "protocols/protocols.hpp"

namespace hashsrv {

// Most requests never wait: the bytes came with the connect (read_first
// finds them at once) and the reply fits the send buffer.
boost::asio::awaitable<void> serve_oneshot(connection& conn)
{
    constexpr std::size_t size = 4096; // one read of at most 4096 bytes, as in the tutorial
    std::unique_ptr<char[]> buf;
    auto [ec, n] = conn.read_first(buf, size);
    if (ec == boost::asio::error::would_block) co_return conn.defer_to_first_byte();
    if (ec) co_return conn.end_quietly(ec); // connected and closed without a request
    conn.begin_request();
    auto reply = co_await conn.hash(n, digest_reply(conn.cfg.hash, {buf.get(), n}));
    if (co_await conn.send(reply)) conn.end_request(outcome::ok);
}

} // namespace hashsrv
