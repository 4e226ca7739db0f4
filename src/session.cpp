// SPDX-License-Identifier: BSL-1.0
#include "session.hpp"

#include "descriptor_io.hpp"
#include "hash_pipeline.hpp"
#include "job_limit.hpp"
#include "log.hpp"
#include "metrics.hpp"

#include <hashsrv/framing/lines.hpp>
#include <hashsrv/framing/stream.hpp>
#include <hashsrv/hash/hasher.hpp>
#include <hashsrv/run_on.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include <sys/socket.h>
#include <unistd.h>

namespace hashsrv {

namespace asio = boost::asio;
using boost::system::error_code;
using asio::ip::tcp;

void session_control::close_if_idle()
{
    asio::post(strand, [self = shared_from_this()] {
        error_code ignored;
        if (self->socket && self->idle) self->socket->cancel(ignored);
    });
}

void session_control::force_close()
{
    asio::post(strand, [self = shared_from_this()] {
        if (self->descriptor < 0) return;
        ::shutdown(self->descriptor, SHUT_RDWR); // a hop in progress then finds it closed
        error_code ignored;
        if (self->socket) self->socket->cancel(ignored);
    });
}

namespace {

using clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The most one read copies, whatever --chunk-size says: a recv of megabytes
// would keep the I/O thread from every other connection for a millisecond
// or more. 256 KiB is ~50-100 us of copying; a bigger stream chunk is
// filled by several reads, each a separate turn of the I/O loop.
constexpr std::size_t max_read = 256 * 1024;

// ---- The work that hops: named coroutine functions taking their inputs by
// value (views into buffers that the session keeps alive across the co_await).

asio::awaitable<std::string> digest_reply(algorithm alg, std::string_view message)
{
    std::string out;
    out.reserve(hasher::hex_size(alg) + 1);
    append_hex_digest_of(out, alg, message);
    out.push_back('\n');
    co_return out;
}

asio::awaitable<std::string> digest_lines(algorithm alg, std::string_view complete_lines)
{
    std::string out;
    framing::for_each_line(complete_lines, [&](std::string_view line) {
        append_hex_digest_of(out, alg, line);
        out.push_back('\n');
    });
    co_return out;
}

/// Replies of `lines` hashed and held at once, per connection, at most.
constexpr std::size_t reply_slice_bytes = 64 * 1024;

/// The first lines of `complete`, at most `most` of them.
struct lines_prefix {
    std::size_t bytes = 0;
    std::size_t lines = 0;
};

lines_prefix first_lines(std::string_view complete, std::size_t most)
{
    lines_prefix p;
    for (; p.lines < most && p.bytes < complete.size(); ++p.lines) {
        auto nl = complete.find('\n', p.bytes);
        p.bytes = nl == std::string_view::npos ? complete.size() : nl + 1;
    }
    return p;
}

template <typename T>
asio::awaitable<T> counted_on_pool(metrics* stats, asio::awaitable<T> task)
{
    pool_job_running running(*stats);
    co_return co_await std::move(task);
}

/// One connection's I/O, hop and idle deadline. Lives in the session
/// coroutine's frame; every member is touched on the session's strand only.
/// Reads and writes are tried on the descriptor first (descriptor_io.hpp);
/// it becomes an Asio socket the first time the session has to wait.
class connection {
public:
    connection(int fd, session_control& ctl, session_context const& ctx)
        : fd_(fd), ctl_(ctl), ctx_(ctx), cfg_(*ctx.cfg)
    {
        ctl_.descriptor = fd_;
        touch();
    }

    /// Whether the session times its own waits (oneshot) rather than having
    /// a watchdog raced against it.
    bool times_its_own_waits() const { return cfg_.proto == protocol::oneshot; }

    asio::awaitable<void> serve()
    {
        switch (cfg_.proto) {
        case protocol::oneshot: co_await serve_oneshot(); break;
        case protocol::stream: co_await serve_stream(); break;
        case protocol::lines: co_await serve_lines(); break;
        }
    }

    /// Returns once the connection has been silent for the idle timeout
    /// (time spent waiting for the pool, or a client taking the replies we
    /// write, does not count as silence).
    asio::awaitable<void> watchdog()
    {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        for (;;) {
            auto now = clock::now();
            if (busy_ || (pipe_ && pipe_->busy())) deadline_ = std::max(deadline_, now + cfg_.idle_timeout);
            else if (pipe_) deadline_ = std::max(deadline_, pipe_->finished_at() + cfg_.idle_timeout);
            if (deadline_ <= now) {
                if (!reply_taken()) co_return;
                deadline_ = now + cfg_.idle_timeout; // the client reads its replies: activity
            }
            timer.expires_at(deadline_);
            auto [ec] = co_await timer.async_wait(use_tuple);
            if (ec) co_return; // cancelled: the session ended first
        }
    }

    /// The client was silent too long: say so if its socket takes it at once.
    void send_timeout_notice()
    {
        ctx_.stats->idle_timeouts.fetch_add(1, std::memory_order_relaxed);
        ctx_.stats->count(outcome::idle_timeout);
        debug("{}: idle timeout");
        // After part of a reply line the notice would be glued to it: a
        // wrong digest rather than an error. The client sees the close only.
        if (torn_) return;
        static constexpr std::string_view notice = "ERR idle timeout\n";
        descriptor_io::try_send(fd_, asio::buffer(notice));
    }

    /// Closes with a FIN. Bytes the client sent beyond what was read would
    /// make close() send a reset instead, which can destroy the reply in
    /// flight: when there are any, half-close and discard them first. (The
    /// usual case costs one ioctl, not a shutdown as well.)
    void finish()
    {
        if (descriptor_io::unread(fd_) > 0) {
            ::shutdown(fd_, SHUT_WR);
            std::array<char, 4096> sink;
            for (int i = 0; i < 256 && descriptor_io::unread(fd_) > 0; ++i)
                if (std::get<0>(descriptor_io::try_receive(fd_, asio::buffer(sink)))) break;
        }
        ctl_.socket = nullptr;
        ctl_.descriptor = -1;
        error_code ignored;
        if (sock_) sock_->close(ignored); // Asio's, since the session waited on it
        else ::close(fd_);
    }

    /// A debug line about this client; the peer's name (a getpeername call)
    /// is only looked up when debug lines are on.
    template <typename... Args>
    void debug(fmt::format_string<std::string, Args...> f, Args&&... args) const
    {
        if (log::enabled(log_level::debug)) log::debug(f, peer(), std::forward<Args>(args)...);
    }

    std::string peer() const
    {
        auto ep = descriptor_io::peer(fd_);
        return ep ? ep->address().to_string() + ":" + std::to_string(ep->port()) : "connection";
    }

private:
    // ---- the three protocols ------------------------------------------------

    /// One read, one hash, one write. Most requests never wait (the bytes
    /// came with the connect, the reply fits the send buffer), so no
    /// watchdog runs beside this session: only a wait that does happen is
    /// timed (see `timed`), and a request that needs none arms no timer.
    asio::awaitable<void> serve_oneshot()
    {
        constexpr std::size_t size = 4096; // one read of at most 4096 bytes, as in the tutorial
        std::unique_ptr<char[]> buf;
        auto [ec, n] = co_await read_first(buf, size);
        if (ec) co_return end_quietly(ec); // connected and closed without a request
        begin_request();
        auto reply = co_await hash(n, digest_reply(cfg_.hash, {buf.get(), n}));
        if (co_await write(reply)) co_return;
        end_request(outcome::ok);
    }

    asio::awaitable<void> serve_stream()
    {
        // The first read goes to a buffer of one read's size, not a whole
        // chunk: a 12-byte request does not allocate (and free) a 16 MiB
        // chunk. Only an upload that goes on past it takes a chunk buffer
        // (from the cache of chunk buffers) and copies these bytes over.
        std::size_t const first_size = std::min(cfg_.chunk_size, max_read);
        std::unique_ptr<char[]> a;
        // With first_size the chunk size, the first buffer is a chunk buffer: from the cache.
        auto [ec, n] = co_await read_first(a, first_size, first_size == cfg_.chunk_size ? ctx_.chunks.get() : nullptr);
        if (ec && ec != asio::error::eof) co_return end_quietly(ec);
        begin_request(); // an empty upload (connect, half-close) is a request too
        framing::stream_limit limit(cfg_.max_stream_bytes);
        if (!ec) std::tie(ec, n) = co_await fill({a.get(), room(limit, first_size)}, n);
        if (ec && ec != asio::error::eof) co_return abandon(ec);
        bool first_is_chunk = first_size == cfg_.chunk_size;
        if (!ec && !first_is_chunk) { // more than one read's worth: a whole chunk
            auto chunk = ctx_.chunks->take();
            std::memcpy(chunk.get(), a.get(), n);
            a = std::move(chunk);
            first_is_chunk = true;
            std::tie(ec, n) = co_await fill({a.get(), room(limit, cfg_.chunk_size)}, n);
            if (ec && ec != asio::error::eof) {
                ctx_.chunks->give(std::move(a));
                co_return abandon(ec);
            }
        }
        // Up to three chunks in flight: one hashing, one queued behind it on
        // the pool, one being read (bench/README.md, scenario 3).
        constexpr std::size_t depth = 3;
        hash_pipeline pipe(co_await asio::this_coro::executor, ctx_.pool, *ctx_.pool_slots, *ctx_.stats, cfg_.hash,
                           cfg_.inline_below, ctx_.chunks, depth, cfg_.pool_slice, std::move(a), first_is_chunk);
        pipe_ = &pipe; // for the watchdog
        struct forget {
            hash_pipeline const*& p;
            ~forget() { p = nullptr; }
        } forget_pipe{pipe_};
        while (n > 0) { // a full chunk, or the last one (ec: the end of the upload)
            if (!limit.add(n)) {
                co_await send_error(outcome::too_big, "stream longer than --max-stream-bytes (" +
                                                          std::to_string(limit.max()) + " bytes)");
                co_return;
            }
            busy_ = true; // waiting for a pool slot is not silence either
            co_await pipe.submit(n);
            busy_ = false;
            if (ec) break;
            auto next = co_await pipe.next_buffer();
            std::tie(ec, n) = co_await fill(asio::buffer(next, room(limit, next.size())), 0);
            if (ec && ec != asio::error::eof) break; // cut off: the rest is not hashed
        }
        if (ec != asio::error::eof) co_return abandon(ec); // chunks still in flight finish on their own
        std::string reply = co_await pipe.digest();
        reply.push_back('\n');
        if (co_await write(reply)) co_return;
        end_request(outcome::ok);
    }

    /// Bytes worth reading into a chunk of `size`: no more than one past the
    /// limit, so that an upload over it is refused without waiting for more.
    static std::size_t room(framing::stream_limit const& limit, std::size_t size)
    {
        auto left = limit.max() - limit.total();
        return left >= size ? size : static_cast<std::size_t>(left) + 1;
    }

    /// Reads into `b` (whose first `filled` bytes are already read) until it
    /// is full or the stream ends, at most max_read per read: returns the
    /// bytes in `b` and the error (eof) that ended it early, if any.
    asio::awaitable<std::tuple<error_code, std::size_t>> fill(asio::mutable_buffer b, std::size_t filled)
    {
        while (filled < b.size()) {
            auto [ec, n] = co_await read_some(asio::buffer(static_cast<char*>(b.data()) + filled, b.size() - filled));
            filled += n;
            if (ec) co_return std::tuple{ec, filled};
        }
        co_return std::tuple{error_code{}, filled};
    }

    asio::awaitable<void> serve_lines()
    {
        if (auto ec = co_await wait_readable()) co_return end_quietly(ec);
        framing::line_framer framer(cfg_.max_line);
        std::size_t capacity = std::min(cfg_.chunk_size, cfg_.max_line + 1);
        auto buf = std::make_unique_for_overwrite<char[]>(capacity);
        std::size_t used = 0;
        for (;;) {
            if (used == 0) {
                ctl_.idle = true; // between lines: shutdown may close us here
                if (ctx_.stopping->load()) co_return;
            }
            if (used == capacity) { // a long line still arriving: grow, up to the limit
                auto bigger = std::min(capacity * 2, cfg_.max_line + 1);
                auto grown = std::make_unique_for_overwrite<char[]>(bigger);
                std::memcpy(grown.get(), buf.get(), used);
                buf = std::move(grown);
                capacity = bigger;
            }
            // The bytes of an unfinished line do not reset the idle clock: a
            // line must arrive whole within --idle-timeout (slowloris).
            auto [ec, n] = co_await read_some(asio::buffer(buf.get() + used, capacity - used), used == 0);
            if (ec) {
                if (ec != asio::error::eof || used == 0) co_return end_quietly(ec);
                // A final line without "\n" is hashed as it is.
                auto reply = co_await hash(used, digest_reply(cfg_.hash, {buf.get(), used}));
                if (!co_await write(reply)) end_request(outcome::ok);
                co_return;
            }
            if (used == 0) begin_request();
            used += n;
            auto found = framer.scan({buf.get(), used});
            if (found.complete > 0) {
                if (!co_await answer_lines({buf.get(), found.complete})) co_return;
                std::memmove(buf.get(), buf.get() + found.complete, used - found.complete);
                used -= found.complete;
                framer.consume(found.complete);
                if (used > 0) begin_request();
            }
            if (found.too_long) {
                co_await send_error(outcome::too_long,
                                    "line longer than --max-line (" + std::to_string(cfg_.max_line) + " bytes)");
                co_return;
            }
        }
    }

    /// Answers the complete lines in `complete`, one hop per slice of lines
    /// whose replies fill at most reply_slice_bytes, each slice written before
    /// the next is hashed: a client that pipelines many short lines and reads
    /// slowly (or never) makes us hold one slice of replies, not one reply per
    /// line it sent. False when a write failed.
    asio::awaitable<bool> answer_lines(std::string_view complete)
    {
        auto const reply_line = hasher::hex_size(cfg_.hash) + 1;
        auto const per_slice = std::max<std::size_t>(1, reply_slice_bytes / reply_line);
        while (!complete.empty()) {
            auto slice = first_lines(complete, per_slice);
            auto reply = co_await hash(slice.bytes, digest_lines(cfg_.hash, complete.substr(0, slice.bytes)));
            if (co_await write(reply)) co_return false;
            ctx_.stats->requests[static_cast<std::size_t>(outcome::ok)].fetch_add(slice.lines - 1,
                                                                                 std::memory_order_relaxed);
            end_request(outcome::ok);
            complete.remove_prefix(slice.bytes);
            if (!complete.empty()) begin_request();
        }
        co_return true;
    }

    // ---- helpers shared by the protocols ----------------------------------

    void touch() { deadline_ = clock::now() + cfg_.idle_timeout; }

    void begin_request()
    {
        ctl_.idle = false;
        started_ = clock::now();
    }

    void end_request(outcome o)
    {
        ctx_.stats->count(o);
        ctx_.stats->latency.observe(clock::now() - started_);
    }

    /// Nothing in progress ended: a client that closed between requests, or
    /// our own shutdown of an idle connection.
    void end_quietly(error_code ec)
    {
        if (ec == asio::error::operation_aborted && ctx_.stopping->load()) return;
        if (ec != asio::error::eof && ec != asio::error::operation_aborted && ec != asio::error::timed_out)
            debug("{}: {}", ec.message());
    }

    /// A request in progress was cut off by the client (reset, vanished).
    void abandon(error_code ec)
    {
        if (ec == asio::error::operation_aborted && !ctx_.stopping->load()) return; // the watchdog counts it
        ctx_.stats->count(ec == asio::error::operation_aborted ? outcome::shutdown : outcome::client_gone);
        debug("{}: request abandoned: {}", ec.message());
    }

    /// A connection's first read. Most clients send with the connect, so a
    /// non-blocking read is tried at once (no reactor round trip, no epoll
    /// re-arm); a client that has not sent yet is then waited for without a
    /// buffer, so an idle connection holds none (bench/README.md, scenario 4).
    /// `from`: the buffer comes from this cache (and goes back to it while waiting); `size` is then its size.
    asio::awaitable<std::tuple<error_code, std::size_t>> read_first(std::unique_ptr<char[]>& buf, std::size_t size,
                                                                    chunk_cache* from = nullptr)
    {
        touch();
        for (;;) {
            buf = from ? from->take() : std::make_unique_for_overwrite<char[]>(size);
            auto [ec, n] = descriptor_io::try_receive(fd_, asio::buffer(buf.get(), std::min(size, max_read)));
            if (!descriptor_io::would_block(ec)) {
                touch();
                co_return std::tuple{ec, n};
            }
            if (from) from->give(std::move(buf));
            buf.reset();
            // Readiness can be spurious (a reused descriptor's stale event):
            // then the loop waits again, against the same deadline.
            if (auto wec = co_await wait_readable()) co_return std::tuple{wec, std::size_t{0}};
        }
    }

    /// Waits until the socket is readable; not activity in itself.
    asio::awaitable<error_code> wait_readable()
    {
        if (auto ec = hand_to_asio()) co_return ec;
        auto [ec] = co_await timed(sock_->async_wait(tcp::socket::wait_read, use_tuple));
        co_return ec;
    }

    /// `refresh`: whether these bytes count as activity for the idle timeout.
    /// A small upload's end (the FIN) mostly comes with its bytes, so one read
    /// after read_first is still tried on the descriptor: such a session never
    /// registers with epoll. Only one: Asio's reads go through the I/O loop's
    /// queue, so a fast uploader cannot keep the I/O thread to itself.
    asio::awaitable<std::tuple<error_code, std::size_t>> read_some(asio::mutable_buffer b, bool refresh = true)
    {
        b = asio::buffer(b, max_read);
        if (refresh) touch();
        if (!sock_ && !tried_second_read_) {
            tried_second_read_ = true;
            auto r = descriptor_io::try_receive(fd_, b);
            if (!descriptor_io::would_block(std::get<0>(r))) {
                if (refresh) touch();
                co_return r;
            }
        }
        if (auto ec = hand_to_asio()) co_return std::tuple{ec, std::size_t{0}};
        auto r = co_await sock_->async_read_some(b, use_tuple);
        if (refresh) touch();
        co_return r;
    }

    /// Writes it all; on failure counts the request as abandoned and returns the error.
    asio::awaitable<error_code> write(std::string_view data)
    {
        touch();
        // Most replies fit the socket's send buffer: a non-blocking write
        // sends them without a round trip through the I/O loop.
        auto [ec, sent] = descriptor_io::try_send(fd_, asio::buffer(data));
        if (descriptor_io::would_block(ec)) ec = {};
        if (!ec) progress(data, sent);
        // The rest piece by piece rather than with one async_write: every
        // piece the client takes is activity, so a slow but steady reader is
        // never timed out in the middle of a long reply.
        while (!ec && sent < data.size() && !(ec = hand_to_asio())) {
            auto [wec, n] = co_await timed(sock_->async_write_some(asio::buffer(data.substr(sent)), use_tuple));
            ec = wec;
            sent += n;
            progress(data, sent);
        }
        touch();
        if (ec && ec != asio::error::timed_out) abandon(ec);
        co_return ec;
    }

    /// `op`, or error::timed_out at the idle deadline (the last touch() plus
    /// --idle-timeout), when this session times its own waits (oneshot).
    template <typename... R>
    asio::awaitable<std::tuple<error_code, R...>> timed(asio::awaitable<std::tuple<error_code, R...>> op)
    {
        if (!times_its_own_waits() || cfg_.idle_timeout.count() == 0) co_return co_await std::move(op);
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer timer(co_await asio::this_coro::executor, deadline_);
        auto first = co_await (std::move(op) || timer.async_wait(use_tuple));
        if (first.index() == 0) co_return std::get<0>(std::move(first));
        send_timeout_notice();
        co_return std::tuple<error_code, R...>{asio::error::timed_out, R{}...};
    }

    /// `sent` bytes of `data` are in the socket. A write done at once (the
    /// usual case) costs no system call here.
    void progress(std::string_view data, std::size_t sent)
    {
        writing_ = sent < data.size();
        torn_ = writing_ && sent > 0 && data[sent - 1] != '\n';
        if (!writing_) return;
        if (sent > 0) touch();
        in_flight_ = descriptor_io::unacknowledged(fd_);
    }

    /// Whether a write is waiting and the client has taken some of what the
    /// socket holds since we last looked. The kernel wakes a writer only once
    /// a large part of its send buffer is free, so with a slow reader the
    /// write itself may make no progress for longer than the idle timeout
    /// while the client reads steadily.
    bool reply_taken()
    {
        if (!writing_) return false;
        auto now = descriptor_io::unacknowledged(fd_);
        bool taken = now < in_flight_;
        in_flight_ = now;
        return taken;
    }

    asio::awaitable<void> send_error(outcome o, std::string const& reason)
    {
        debug("{}: {}", reason);
        ctx_.stats->count(o);
        co_await write("ERR " + reason + "\n");
    }

    /// The hop: `task` runs on the pool (or inline when it is small enough),
    /// and the session resumes here, on its strand.
    template <typename T>
    asio::awaitable<T> hash(std::size_t bytes, asio::awaitable<T> task)
    {
        ctx_.stats->bytes_hashed.fetch_add(bytes, std::memory_order_relaxed);
        if (bytes < cfg_.inline_below) co_return co_await std::move(task);
        busy_ = true;
        struct not_busy {
            connection* c;
            ~not_busy()
            {
                c->busy_ = false;
                c->touch();
            }
        } guard{this};
        auto slot = co_await ctx_.pool_slots->acquire();
        ctx_.stats->hops.fetch_add(1, std::memory_order_relaxed);
        ctx_.stats->pool_jobs_queued.fetch_add(1, std::memory_order_relaxed);
        co_return co_await run_on(ctx_.pool, counted_on_pool(ctx_.stats, std::move(task)));
    }

    /// Makes the descriptor an Asio socket (sock_) the first time the session
    /// must wait: an epoll_ctl ADD, which fails only when the kernel is out of memory.
    error_code hand_to_asio()
    {
        if (sock_) return {};
        error_code ec;
        sock_.emplace(ctl_.strand).assign(ctx_.protocol, fd_, ec);
        if (ec) {
            sock_.reset(); // the descriptor stays ours to close
            return ec;
        }
        ctl_.socket = &*sock_;
        return {};
    }

    int fd_;
    std::optional<tcp::socket> sock_; // once handed to Asio
    session_control& ctl_;
    session_context const& ctx_;
    config const& cfg_;
    clock::time_point deadline_;
    clock::time_point started_;
    bool busy_ = false; // a hash is queued or running for us
    bool tried_second_read_ = false;
    bool torn_ = false;    // the socket took part of a reply line, not the rest
    bool writing_ = false; // a write waits for room in the socket
    std::size_t in_flight_ = 0; // bytes the socket held at the last look
    hash_pipeline const* pipe_ = nullptr; // stream: its hashes in flight
};

} // namespace

asio::awaitable<void> run_session(int descriptor, std::shared_ptr<session_control> ctl, session_context ctx)
{
    connection conn(descriptor, *ctl, ctx);
    try {
        if (ctx.cfg->idle_timeout.count() == 0 || conn.times_its_own_waits()) {
            co_await conn.serve();
        } else {
            using namespace asio::experimental::awaitable_operators;
            auto first = co_await (conn.serve() || conn.watchdog());
            if (first.index() == 1) conn.send_timeout_notice();
        }
    } catch (std::exception const& e) {
        log::warn("{}: session failed: {}", conn.peer(), e.what());
    }
    conn.finish();
}

} // namespace hashsrv
