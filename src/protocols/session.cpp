// SPDX-License-Identifier: BSL-1.0
// A session: the connection's transport and the protocol that serves it. The
// idle deadline is the server's to watch (server.cpp, the sweep).
#include "protocols/session.hpp"

#include "observe/log.hpp"
#include "protocols/connection.hpp"
#include "protocols/protocols.hpp"
#include "protocols/proxy_admission.hpp"
#include "transport/plain_transport.hpp"
#include "protocols/tls_handshake.hpp"
#include "transport/tls_transport.hpp"

#include <boost/asio/post.hpp>

namespace hashsrv {

namespace asio = boost::asio;

void session_control::close_if_idle(bool spare_silent)
{
    asio::post(strand, [self = shared_from_this(), spare_silent] {
        if (self->conn && self->idle && (self->heard || !spare_silent)) self->conn->io.cancel();
    });
}

void session_control::force_close()
{
    asio::post(strand, [self = shared_from_this()] {
        if (self->conn) self->conn->io.shutdown(); // a hop in progress then finds it closed
    });
}

void session_control::expire_if_silent()
{
    asio::post(strand, [self = shared_from_this()] {
        if (self->conn) self->conn->expire_if_silent();
    });
}

namespace {

using protocol_coroutine = asio::awaitable<void> (*)(connection&);

protocol_coroutine protocol_for(protocol p)
{
    switch (p) {
    case protocol::stream: return serve_stream;
    case protocol::lines: return serve_lines;
    case protocol::oneshot: break;
    }
    return serve_oneshot;
}

// A protocol that finds nothing to read returns rather than wait with its
// frames: the session waits for the first byte here, its own frame the only
// one an idle connection keeps, and runs the protocol again.
asio::awaitable<void> serve_deferring(connection& conn)
{
    auto const serve = protocol_for(conn.cfg.proto);
    co_await serve(conn);
    while (conn.take_deferral()) {
        if (auto ec = co_await conn.wait_for_first_byte()) {
            conn.end_quietly(ec);
            break;
        }
        co_await serve(conn);
    }
}

asio::awaitable<void> run_tls_session(int descriptor, std::shared_ptr<session_control> ctl, session_context ctx)
{
    tls_transport io(descriptor, ctl->strand, ctx.protocol, std::move(ctx.tls), ctx.cfg->idle_timeout, ctl->deadline);
    connection conn(io, *ctl, ctx);
    try {
        if (ctx.admission && !co_await admit_proxied(conn, descriptor, false)) co_return;
        if (co_await tls_handshake(conn, io)) co_await serve_deferring(conn);
    } catch (std::exception const& e) {
        log::warn("{}: session failed: {}", conn.peer_name(), e.what());
    }
}

// The plain path keeps its loop inline: no frame beside the session's own
// for an idle connection. Without a PROXY header to read, its frame has no
// room for that step either.
template <bool Proxied>
asio::awaitable<void> run_plain_session(int descriptor, std::shared_ptr<session_control> ctl, session_context ctx)
{
    plain_transport io(descriptor, ctl->strand, ctx.protocol, ctx.cfg->idle_timeout, ctl->deadline);
    connection conn(io, *ctl, ctx);
    auto const serve = protocol_for(ctx.cfg->proto);
    try {
        if constexpr (Proxied)
            if (!co_await admit_proxied(conn, descriptor, true)) co_return;
        co_await serve(conn);
        while (conn.take_deferral()) {
            if (auto ec = co_await conn.wait_for_first_byte()) {
                conn.end_quietly(ec);
                break;
            }
            co_await serve(conn);
        }
    } catch (std::exception const& e) {
        log::warn("{}: session failed: {}", conn.peer_name(), e.what());
    }
}

} // namespace

// Not a coroutine: the choice is made before any frame exists. A branch
// inside one coroutine would make every plain connection's frame keep room
// for the TLS path's awaitable and arguments (about 140 bytes per idle
// connection, bench/results/2026-12-02.md section 9).
asio::awaitable<void> run_session(int descriptor, std::shared_ptr<session_control> ctl, session_context ctx)
{
    if (ctx.tls) return run_tls_session(descriptor, std::move(ctl), std::move(ctx));
    if (ctx.admission) return run_plain_session<true>(descriptor, std::move(ctl), std::move(ctx));
    return run_plain_session<false>(descriptor, std::move(ctl), std::move(ctx));
}

} // namespace hashsrv
