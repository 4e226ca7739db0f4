// SPDX-License-Identifier: BSL-1.0
// Everything up to the client's half-close is one request: hashed chunk by
// chunk on the pool while the next chunk is read, one digest at the end. An
// upload over --max-stream-bytes is refused as soon as it passes the limit.
#include "protocols/connection.hpp"
#include "protocols/protocols.hpp"

#include "pool/hash_pipeline.hpp"

#include <hashsrv/framing/stream.hpp>

#include <algorithm>
#include <cstring>
#include <tuple>

namespace hashsrv {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Chunks in flight per upload: one hashing, one queued behind it on the pool
// (so the pool thread goes from chunk to chunk without waiting for the I/O
// thread), one being read.
constexpr std::size_t depth = 3;

/// Bytes worth reading into a chunk of `size`: no more than one past the
/// limit, so that an upload over it is refused without waiting for more.
std::size_t room(framing::stream_limit const& limit, std::size_t size)
{
    auto left = limit.max() - limit.total();
    return left >= size ? size : static_cast<std::size_t>(left) + 1;
}

/// A paced upload is hashed as it arrives: once a slice's worth is read and
/// nothing more is waiting, what is in hand goes to the pool, in place of a
/// whole chunk later. A 16 MiB chunk filled at a client's pace and then hashed
/// in one burst holds a core for ~20 ms, and whatever the kernel preempts for
/// it (a pool thread, the I/O thread) makes the small requests wait, however
/// finely the pool slices. Only where the pieces hop and are sliced: inline
/// hashing and jobs run to completion keep whole chunks.
std::size_t piece_size(session_settings const& cfg)
{
    if (cfg.pool_slice == 0 || cfg.pool_slice < cfg.inline_below) return static_cast<std::size_t>(-1);
    return cfg.pool_slice;
}

struct first_chunk {
    error_code ec; // eof: the upload ended within it
    std::size_t size = 0;
    std::unique_ptr<char[]> buffer;
    bool is_chunk_buffer = false; // from the chunk cache (else smaller: the upload ended in it)
    bool started = false;         // a request began (an empty upload is one too)
};

/// The upload's first chunk. The first read goes to a buffer of one read's
/// size, not a whole chunk: a 12-byte request does not allocate a 16 MiB
/// chunk. Only an upload that goes on past it takes a chunk buffer (from the
/// cache of chunk buffers) and copies these bytes over.
asio::awaitable<first_chunk> read_first_chunk(connection& conn, framing::stream_limit const& limit)
{
    auto const& cfg = conn.cfg;
    first_chunk c;
    std::size_t const first_size = std::min(cfg.chunk_size, transport::max_read);
    c.is_chunk_buffer = first_size == cfg.chunk_size; // then the first buffer is a chunk buffer already
    auto* cache = c.is_chunk_buffer ? conn.ctx.chunks.get() : nullptr;
    std::tie(c.ec, c.size) = conn.read_first(c.buffer, first_size, cache);
    if (c.ec && c.ec != asio::error::eof) co_return c; // nothing yet, or closed without a request
    conn.begin_request();
    c.started = true;
    if (c.ec) co_return c;
    std::tie(c.ec, c.size) = co_await conn.fill({c.buffer.get(), room(limit, first_size)}, c.size);
    if (c.ec || c.is_chunk_buffer) co_return c;
    auto chunk = conn.ctx.chunks->take(); // more than one read's worth: a whole chunk
    std::memcpy(chunk.get(), c.buffer.get(), c.size);
    c.buffer = std::move(chunk);
    c.is_chunk_buffer = true;
    std::tie(c.ec, c.size) =
        co_await conn.fill({c.buffer.get(), room(limit, cfg.chunk_size)}, c.size, piece_size(cfg));
    if (c.ec && c.ec != asio::error::eof) conn.ctx.chunks->give(std::move(c.buffer));
    co_return c;
}

} // namespace

asio::awaitable<void> serve_stream(connection& conn)
{
    auto const& cfg = conn.cfg;
    framing::stream_limit limit(cfg.max_stream_bytes);
    auto first = co_await read_first_chunk(conn, limit);
    auto [ec, n] = std::tuple{first.ec, first.size};
    if (ec == asio::error::would_block) co_return conn.defer_to_first_byte();
    if (!first.started) co_return conn.end_quietly(ec);
    if (ec && ec != asio::error::eof) co_return conn.abandon(ec);
    hash_pipeline pipe(co_await asio::this_coro::executor, conn.ctx.pool, cfg.hash, cfg.inline_below, conn.ctx.chunks,
                       depth, cfg.pool_slice, std::move(first.buffer), first.is_chunk_buffer);
    connection::watch_pipeline watch(conn, pipe);
    auto const piece = piece_size(cfg);
    while (n > 0) { // a full chunk, or the last one (ec: the end of the upload)
        if (!limit.add(n))
            co_return co_await conn.refuse(outcome::too_big, "stream longer than --max-stream-bytes (" +
                                                                 std::to_string(limit.max()) + " bytes)");
        {
            connection::busy_scope waiting_for_a_slot(conn); // not the client's silence either
            co_await pipe.submit(n, ec == asio::error::eof);
        }
        if (ec) break;
        auto next = co_await pipe.next_buffer();
        std::tie(ec, n) = co_await conn.fill(asio::buffer(next, room(limit, next.size())), 0, piece);
        if (ec && ec != asio::error::eof) break; // cut off: the rest is not hashed
    }
    if (ec != asio::error::eof) co_return conn.abandon(ec); // chunks still in flight finish on their own
    std::string reply = co_await pipe.digest();
    reply.push_back('\n');
    if (co_await conn.send(reply)) conn.end_request(outcome::ok);
}

} // namespace hashsrv
