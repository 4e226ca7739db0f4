// SPDX-License-Identifier: BSL-1.0
// One reply line per "\n"-terminated line, in order, as many lines in flight
// as the client pipelines; a line longer than --max-line is refused.
#include "protocols/connection.hpp"
#include "protocols/digests.hpp"
#include "protocols/protocols.hpp"

#include <hashsrv/framing/lines.hpp>

#include <algorithm>
#include <cstring>

namespace hashsrv {

namespace asio = boost::asio;

namespace {

/// Replies hashed and held at once, per connection, at most.
constexpr std::size_t reply_slice_bytes = 64 * 1024;

struct lines_prefix {
    std::size_t bytes = 0;
    std::size_t lines = 0;
};

/// The first lines of `complete`, at most `most` of them.
lines_prefix first_lines(std::string_view complete, std::size_t most)
{
    lines_prefix p;
    for (; p.lines < most && p.bytes < complete.size(); ++p.lines) {
        auto nl = complete.find('\n', p.bytes);
        p.bytes = nl == std::string_view::npos ? complete.size() : nl + 1;
    }
    return p;
}

/// Answers the complete lines in `complete`, one hop per slice of lines whose
/// replies fill at most reply_slice_bytes, each slice written before the next
/// is hashed: a client that pipelines many short lines and reads slowly (or
/// never) makes us hold one slice of replies, not one reply per line it sent.
/// False when a write failed.
asio::awaitable<bool> answer_lines(connection& conn, std::string_view complete)
{
    auto const reply_line = hasher::hex_size(conn.cfg.hash) + 1;
    auto const per_slice = std::max<std::size_t>(1, reply_slice_bytes / reply_line);
    while (!complete.empty()) {
        auto slice = first_lines(complete, per_slice);
        auto reply = co_await conn.hash(slice.bytes, digest_lines(conn.cfg.hash, complete.substr(0, slice.bytes)));
        if (!co_await conn.send(reply)) co_return false;
        conn.end_request(outcome::ok, slice.lines);
        complete.remove_prefix(slice.bytes);
        if (!complete.empty()) conn.begin_request();
    }
    co_return true;
}

/// A line still arriving fills the buffer: twice the room, up to the longest line.
void grow(std::unique_ptr<char[]>& buf, std::size_t& capacity, std::size_t used, std::size_t max_line)
{
    auto bigger = std::min(capacity * 2, max_line + 1);
    auto grown = std::make_unique_for_overwrite<char[]>(bigger);
    std::memcpy(grown.get(), buf.get(), used);
    buf = std::move(grown);
    capacity = bigger;
}

} // namespace

asio::awaitable<void> serve_lines(connection& conn)
{
    auto const& cfg = conn.cfg;
    framing::line_framer framer(cfg.max_line);
    std::size_t capacity = std::min(cfg.chunk_size, cfg.max_line + 1);
    auto buf = std::make_unique_for_overwrite<char[]>(capacity);
    std::size_t used = 0;
    for (;;) {
        if (used == 0) {
            conn.between_requests();
            // Stopping: closed between lines, unless silent since its accept
            // (then the drain's grace lets its first line in).
            if (conn.stopping() && conn.heard()) co_return;
        }
        if (used == capacity) grow(buf, capacity, used, cfg.max_line);
        auto room = asio::buffer(buf.get() + used, capacity - used);
        connection::result r;
        // Between lines, a client that has not sent the next one is waited for
        // by the session, without this frame or its buffer: an idle lines
        // connection costs what an idle oneshot one does. The bytes of an
        // unfinished line do not reset the idle clock: a line must arrive
        // whole within --idle-timeout (slowloris).
        if (used == 0) r = conn.io.try_read(room);
        else r = co_await conn.read_some(room, false);
        auto [ec, n] = r;
        if (ec == asio::error::would_block) co_return conn.defer_to_first_byte();
        if (ec) {
            if (ec != asio::error::eof || used == 0) co_return conn.end_quietly(ec);
            // A final line without "\n" is hashed as it is.
            auto reply = co_await conn.hash(used, digest_reply(cfg.hash, {buf.get(), used}));
            if (co_await conn.send(reply)) conn.end_request(outcome::ok);
            co_return;
        }
        if (used == 0) conn.begin_request();
        used += n;
        auto found = framer.scan({buf.get(), used});
        if (found.complete > 0) {
            if (!co_await answer_lines(conn, {buf.get(), found.complete})) co_return;
            std::memmove(buf.get(), buf.get() + found.complete, used - found.complete);
            used -= found.complete;
            framer.consume(found.complete);
            if (used > 0) conn.begin_request();
        }
        if (found.too_long)
            co_return co_await conn.refuse(outcome::too_long,
                                           "line longer than --max-line (" + std::to_string(cfg.max_line) + " bytes)");
    }
}

} // namespace hashsrv
