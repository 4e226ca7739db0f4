// SPDX-License-Identifier: BSL-1.0
#include "protocols/tls_handshake.hpp"

#include "protocols/connection.hpp"
#include "transport/tls_transport.hpp"

#include <boost/asio/ssl/error.hpp>

namespace hashsrv {

namespace asio = boost::asio;

namespace {

/// A client that left (or a shutdown) is not a failed handshake: a port
/// scanner or a health check that only connects would otherwise look like one.
handshake_result classify(boost::system::error_code ec)
{
    if (!ec) return handshake_result::ok;
    if (ec == asio::error::timed_out) return handshake_result::timeout;
    if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::ssl::error::stream_truncated || ec == asio::error::broken_pipe)
        return handshake_result::closed;
    return handshake_result::failed;
}

} // namespace

asio::awaitable<bool> tls_handshake(connection& conn, tls_transport& io)
{
    auto const began = connection::clock::now();
    auto ec = conn.noticed(co_await io.handshake(conn.ctx.pool.executor));
    auto const r = classify(ec);
    conn.ctx.stats->count(r);
    if (r == handshake_result::ok) {
        conn.ctx.stats->tls_handshake_duration.observe(connection::clock::now() - began);
        co_return true;
    }
    // OpenSSL's reason only: never the client's bytes.
    if (r == handshake_result::failed) conn.debug("TLS handshake failed: {}", ec.message());
    else if (r == handshake_result::closed) conn.debug("TLS handshake cut off: {}", ec.message());
    co_return false;
}

} // namespace hashsrv
