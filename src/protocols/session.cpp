// SPDX-License-Identifier: BSL-1.0
// A session: the connection's transport, the protocol that serves it, and the
// idle deadline raced against the protocol when the transport does not time
// its own waits.
#include "protocols/session.hpp"

#include "observe/log.hpp"
#include "protocols/connection.hpp"
#include "protocols/protocols.hpp"
#include "transport/plain_transport.hpp"

#include <hashsrv/use_tuple.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace hashsrv {

namespace asio = boost::asio;

void session_control::close_if_idle()
{
    asio::post(strand, [self = shared_from_this()] {
        if (self->io && self->idle) self->io->cancel();
    });
}

void session_control::force_close()
{
    asio::post(strand, [self = shared_from_this()] {
        if (self->io) self->io->shutdown(); // a hop in progress then finds it closed
    });
}

namespace {

using clock = std::chrono::steady_clock;

asio::awaitable<void> serve(connection& conn)
{
    switch (conn.cfg.proto) {
    case protocol::oneshot: co_await serve_oneshot(conn); break;
    case protocol::stream: co_await serve_stream(conn); break;
    case protocol::lines: co_await serve_lines(conn); break;
    }
}

/// Returns once the connection has been silent for the idle timeout. Time
/// spent waiting for the pool, or a client taking the replies we write, is
/// not silence.
asio::awaitable<void> watchdog(connection& conn)
{
    auto& io = conn.io;
    auto const timeout = io.idle_timeout();
    with_tuple<asio::steady_timer> timer(co_await asio::this_coro::executor);
    for (;;) {
        auto now = clock::now();
        auto deadline = std::max(io.deadline(), conn.hashing() ? now + timeout : conn.hashing_ended() + timeout);
        if (deadline <= now) {
            if (!io.reply_taken()) co_return;
            deadline = now + timeout; // the client reads its replies: activity
        }
        io.extend_deadline(deadline);
        timer.expires_at(deadline);
        auto [ec] = co_await timer.async_wait();
        if (ec) co_return; // cancelled: the session ended first
    }
}

/// Oneshot sessions mostly never wait: their transport times each wait that
/// does happen instead of a watchdog timer for every connection.
bool times_its_own_waits(session_settings const& cfg) { return cfg.proto == protocol::oneshot; }

} // namespace

asio::awaitable<void> run_session(int descriptor, std::shared_ptr<session_control> ctl, session_context ctx)
{
    auto const& cfg = *ctx.cfg;
    plain_transport io(descriptor, ctl->strand, ctx.protocol, cfg.idle_timeout, times_its_own_waits(cfg));
    connection conn(io, *ctl, ctx);
    try {
        if (cfg.idle_timeout.count() == 0 || times_its_own_waits(cfg)) {
            co_await serve(conn);
        } else {
            using namespace asio::experimental::awaitable_operators;
            auto first = co_await (serve(conn) || watchdog(conn));
            if (first.index() == 1) conn.timed_out();
        }
    } catch (std::exception const& e) {
        log::warn("{}: session failed: {}", conn.peer_name(), e.what());
    }
}

} // namespace hashsrv
