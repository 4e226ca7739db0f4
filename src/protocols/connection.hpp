// SPDX-License-Identifier: BSL-1.0
// A session's side of one connection: its transport, the request in progress
// and its accounting, and the hop. The protocols (oneshot.cpp, stream.cpp,
// lines.cpp) are coroutines written against it. Touched on the session's
// strand only.
#pragma once

#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "pool/hop.hpp"
#include "protocols/session.hpp"
#include "transport/transport.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace hashsrv {

class hash_pipeline;

class connection {
public:
    using error_code = boost::system::error_code;
    using result = transport::result;
    using clock = std::chrono::steady_clock;

    /// Links `io` to `ctl` (the server's handle) for as long as this lives.
    connection(transport& io, session_control& ctl, session_context const& ctx);
    ~connection();
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;

    transport& io;
    session_settings const& cfg;
    session_context const& ctx;

    // ---- reading --------------------------------------------------------

    /// The first read into `buf`, of at most `size` bytes, without waiting;
    /// with `from`, `buf` is one of its buffers (of `size` bytes). When nothing
    /// has arrived yet: error::would_block, no buffer held, and the protocol
    /// returns with defer_to_first_byte().
    result read_first(std::unique_ptr<char[]>& buf, std::size_t size, chunk_cache* from = nullptr);
    /// The protocol gives up its frames until the client sends (its first
    /// byte, or the first of its next line): the session waits with its own
    /// frame alone (an idle connection costs little), then runs the protocol again.
    void defer_to_first_byte() noexcept { deferred_ = true; }
    /// For the session: whether the protocol returned to wait for the first byte.
    bool take_deferral() noexcept { return std::exchange(deferred_, false); }
    /// The session's wait for the first byte; not activity in itself.
    boost::asio::awaitable<error_code> wait_for_first_byte();
    boost::asio::awaitable<result> read_some(boost::asio::mutable_buffer b, bool refresh = true);
    /// Reads into `b`, whose first `filled` bytes are already read, until it
    /// is full or the stream ends: the bytes in `b` and the error (eof) that
    /// ended it early, if any. Once `enough` bytes are in, it also ends when
    /// nothing more is waiting to be read.
    boost::asio::awaitable<result> fill(boost::asio::mutable_buffer b, std::size_t filled,
                                        std::size_t enough = static_cast<std::size_t>(-1));

    // ---- replying -------------------------------------------------------

    /// False when the reply could not be sent (the request is counted as
    /// abandoned, or as timed out).
    boost::asio::awaitable<bool> send(std::string_view reply);
    /// Refuses the request in progress with an ERR line.
    boost::asio::awaitable<void> refuse(outcome why, std::string const& reason);
    /// Ends the connection if it has been silent for the idle timeout: time
    /// spent waiting for the pool, or a client taking the replies we write,
    /// is not silence. The wait in progress then ends with error::timed_out.
    void expire_if_silent();

    // ---- requests -------------------------------------------------------

    void begin_request();
    /// `answered`: how many requests this ends (one reply can answer several lines).
    void end_request(outcome o, std::size_t answered = 1);
    /// Nothing is in progress: a shutdown may close the connection now.
    void between_requests() noexcept { ctl_.idle = true; }
    bool stopping() const noexcept { return ctx.stopping->load(); }
    /// The server's handle on this session.
    session_control& control() noexcept { return ctl_; }
    /// Whether a request has begun since the accept.
    bool heard() const noexcept { return ctl_.heard; }
    /// Nothing in progress ended: a client that closed between requests, or
    /// our own shutdown of an idle connection.
    void end_quietly(error_code ec);
    /// A request in progress was cut off by the client (reset, vanished).
    void abandon(error_code ec);

    // ---- the hop ----------------------------------------------------------

    /// `task` (hashing `bytes`) on the pool, or inline when smaller than
    /// --inline-below; the session resumes here, on its strand.
    template <typename T>
    boost::asio::awaitable<T> hash(std::size_t bytes, boost::asio::awaitable<T> task);
    /// Whether a hash of ours is queued or running: time that is not the client's silence.
    bool hashing() const noexcept;
    /// When the last hash of a stream's pipeline finished (the epoch if none).
    clock::time_point hashing_ended() const noexcept;

    /// While it lives, the pipeline's hashes in flight count as ours.
    class watch_pipeline {
    public:
        watch_pipeline(connection& c, hash_pipeline const& p) noexcept : c_(c) { c_.pipe_ = &p; }
        ~watch_pipeline() { c_.pipe_ = nullptr; }
        watch_pipeline(watch_pipeline const&) = delete;
        watch_pipeline& operator=(watch_pipeline const&) = delete;

    private:
        connection& c_;
    };

    /// Waiting for a pool slot or a hash: not the client's silence.
    class busy_scope {
    public:
        explicit busy_scope(connection& c) noexcept : c_(c) { c_.busy_ = true; }
        ~busy_scope()
        {
            c_.busy_ = false;
            c_.io.touch();
        }
        busy_scope(busy_scope const&) = delete;
        busy_scope& operator=(busy_scope const&) = delete;

    private:
        connection& c_;
    };

    /// A debug line about this client, "<peer>: <message>"; the peer's name
    /// (a getpeername call) is looked up only when debug lines are on.
    template <typename... Args>
    void debug(fmt::format_string<Args...> f, Args&&... args) const
    {
        if (log::enabled(log_level::debug)) log::debug("{}: {}", peer_name(), fmt::format(f, std::forward<Args>(args)...));
    }
    std::string peer_name() const;

    /// A wait that ended because the connection expired: error::timed_out.
    error_code noticed(error_code ec) const noexcept;

private:
    session_control& ctl_;
    clock::time_point started_;
    bool busy_ = false;
    bool expired_ = false;      // silent too long: counted, told, its waits cancelled
    bool deferred_ = false;     // the protocol returned to wait for the first byte
    hash_pipeline const* pipe_ = nullptr;
};

template <typename T>
boost::asio::awaitable<T> connection::hash(std::size_t bytes, boost::asio::awaitable<T> task)
{
    ctx.stats->bytes_hashed.fetch_add(bytes, std::memory_order_relaxed);
    if (bytes < cfg.inline_below) co_return co_await std::move(task);
    busy_scope busy(*this);
    co_return co_await hop(ctx.pool, std::move(task));
}

} // namespace hashsrv
