// SPDX-License-Identifier: BSL-1.0
// One coroutine per connection, on a strand of its own: what the server sees
// of a session.
#pragma once

#include "pool/chunk_cache.hpp"
#include "pool/hop.hpp"
#include "protocols/session_settings.hpp"
#include "transport/idle_deadline.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

namespace hashsrv {

class connection;
struct metrics;

using session_strand = boost::asio::strand<boost::asio::io_context::executor_type>;

/// The server's handle on a session, for its idle sweep and its shutdown.
/// Its fields but `deadline` are touched on the session's strand only; the
/// server reaches them by posting there.
struct session_control : std::enable_shared_from_this<session_control> {
    explicit session_control(session_strand s) : strand(std::move(s)) {}

    session_strand strand;
    idle_deadline deadline;        // read by the server's sweep
    connection* conn = nullptr;    // the session's connection, while it has one
    bool idle = true;              // no request in progress
    bool heard = false;            // a request has begun since the accept
    bool proxied = false;          // `client` came from a PROXY header
    /// The client's address, when the server counts its connections
    /// (--max-connections-per-client) or a PROXY header named it.
    std::string client;

    /// The sweep found `deadline` passed: ends the session if it is still
    /// silent (a hash in progress or a client taking its replies is not).
    void expire_if_silent();
    /// Ends the session if it is between requests (nothing read yet, or
    /// between lines); a request in progress is left to finish. With
    /// `spare_silent`, one silent since its accept is left too (the drain's
    /// grace: its client may be on its way behind a load balancer).
    void close_if_idle(bool spare_silent = false);
    /// Ends the session whatever it is doing (the drain deadline passed).
    void force_close();
};

/// With --proxy-protocol the server learns a session's client only once the
/// session has read its header: the session asks then.
class client_admission {
public:
    client_admission() = default;
    virtual ~client_admission() = default;
    client_admission(client_admission const&) = delete;
    client_admission& operator=(client_admission const&) = delete;

    /// Whether `client` may hold one more connection; if so, it becomes
    /// `ctl`'s client. On the session's strand.
    virtual bool admit(session_control& ctl, boost::asio::ip::address const& client) = 0;
};

/// What a client over --max-connections-per-client is told.
inline constexpr std::string_view too_many_from_client = "ERR too many connections from your address\n";

/// What a session needs from the server; the server outlives every session.
struct session_context {
    session_settings const* cfg;
    boost::asio::ip::tcp protocol; // the listener's, so its accepted sockets'
    hash_pool pool;
    std::shared_ptr<chunk_cache> chunks; // stream: chunk buffers kept between uploads
    metrics* stats;
    std::atomic<bool> const* stopping;
    /// Set: the port speaks TLS, with this context (the one current at the accept).
    std::shared_ptr<boost::asio::ssl::context> tls = nullptr;
    client_admission* admission = nullptr; // with --proxy-protocol
};

/// Serves the accepted, non-blocking `descriptor` and closes it.
boost::asio::awaitable<void> run_session(int descriptor, std::shared_ptr<session_control> ctl, session_context ctx);

} // namespace hashsrv
