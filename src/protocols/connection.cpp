// SPDX-License-Identifier: BSL-1.0
#include "protocols/connection.hpp"

#include "pool/hash_pipeline.hpp"

namespace hashsrv {

namespace asio = boost::asio;

connection::connection(transport& io_, session_control& ctl, session_context const& ctx_)
    : io(io_), cfg(*ctx_.cfg), ctx(ctx_), ctl_(ctl)
{
    ctl_.conn = this;
}

connection::~connection() { ctl_.conn = nullptr; }

// Most clients send with the connect, so a non-blocking read is tried at once
// (no reactor round trip, no epoll registration); a client that has not sent
// yet is waited for without a buffer.
connection::result connection::read_first(std::unique_ptr<char[]>& buf, std::size_t size, chunk_cache* from)
{
    buf = from ? from->take() : std::make_unique_for_overwrite<char[]>(size);
    auto [ec, n] = io.try_read(asio::buffer(buf.get(), size));
    if (ec == asio::error::would_block) {
        if (from) from->give(std::move(buf));
        buf.reset();
    }
    return {ec, n};
}

asio::awaitable<connection::error_code> connection::wait_for_first_byte()
{
    co_return noticed(co_await io.wait_readable());
}

asio::awaitable<connection::result> connection::read_some(asio::mutable_buffer b, bool refresh)
{
    auto [ec, n] = co_await io.read_some(b, refresh);
    co_return result{noticed(ec), n};
}

asio::awaitable<connection::result> connection::fill(asio::mutable_buffer b, std::size_t filled, std::size_t enough)
{
    while (filled < b.size()) {
        auto [ec, n] = co_await read_some(asio::buffer(static_cast<char*>(b.data()) + filled, b.size() - filled));
        filled += n;
        if (ec) co_return result{ec, filled};
        // A full buffer ends the loop anyway: ask the socket only short of it.
        if (filled >= enough && filled < b.size() && io.nothing_waiting()) break;
    }
    co_return result{error_code{}, filled};
}

asio::awaitable<bool> connection::send(std::string_view reply)
{
    auto ec = noticed(co_await io.write(reply));
    if (ec && ec != asio::error::timed_out) abandon(ec);
    co_return !ec;
}

asio::awaitable<void> connection::refuse(outcome why, std::string const& reason)
{
    debug("{}", reason);
    ctx.stats->count(why);
    co_await send("ERR " + reason + "\n");
}

void connection::expire_if_silent()
{
    if (expired_) return;
    auto const now = clock::now();
    auto const timeout = io.idle_timeout();
    if (hashing()) return io.extend_deadline(now + timeout);
    io.extend_deadline(hashing_ended() + timeout);
    if (io.deadline() > now) return;
    if (io.reply_taken()) return io.extend_deadline(now + timeout); // the client reads its replies
    expired_ = true;
    ctx.stats->idle_timeouts.fetch_add(1, std::memory_order_relaxed);
    ctx.stats->count(outcome::idle_timeout);
    debug("idle timeout");
    io.send_notice("ERR idle timeout\n");
    io.cancel();
}

connection::error_code connection::noticed(error_code ec) const noexcept
{
    return ec == asio::error::operation_aborted && expired_ ? error_code(asio::error::timed_out) : ec;
}

void connection::begin_request()
{
    ctl_.idle = false;
    ctl_.heard = true;
    started_ = clock::now();
}

void connection::end_request(outcome o, std::size_t answered)
{
    ctx.stats->requests[static_cast<std::size_t>(o)].fetch_add(answered, std::memory_order_relaxed);
    ctx.stats->latency.observe(clock::now() - started_);
}

void connection::end_quietly(error_code ec)
{
    if (ec == asio::error::operation_aborted && stopping()) return;
    if (ec != asio::error::eof && ec != asio::error::operation_aborted && ec != asio::error::timed_out)
        debug("{}", ec.message());
}

void connection::abandon(error_code ec)
{
    // Counted when it expired; or cancelled for a reason other than a shutdown.
    if (ec == asio::error::timed_out || (ec == asio::error::operation_aborted && !stopping())) return;
    ctx.stats->count(ec == asio::error::operation_aborted ? outcome::shutdown : outcome::client_gone);
    debug("request abandoned: {}", ec.message());
}

bool connection::hashing() const noexcept { return busy_ || (pipe_ && pipe_->busy()); }

connection::clock::time_point connection::hashing_ended() const noexcept
{
    return pipe_ ? pipe_->finished_at() : clock::time_point{};
}

std::string connection::peer_name() const
{
    auto ep = io.peer();
    auto own = ep ? ep->address().to_string() + ":" + std::to_string(ep->port()) : "connection";
    return ctl_.proxied ? ctl_.client + " (via " + own + ")" : own;
}

} // namespace hashsrv
