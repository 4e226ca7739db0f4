// SPDX-License-Identifier: BSL-1.0
// GET /metrics over HTTP (Boost.Beast), served in the server's own io_context:
// the Prometheus text format from metrics::render(); and GET /healthz, for
// load balancers and orchestrators: 200 while serving, 503 while draining.
#pragma once

#include "protocols/session.hpp"
#include "server/listener.hpp"
#include "server/server_settings.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <cstdint>
#include <list>

namespace hashsrv {

struct metrics;

/// The scrape endpoint. Every HTTP connection is a coroutine of its own; all of
/// them share one strand, because scrapes are rare and cheap and one strand
/// lets stop() reach every connection without a lock.
class metrics_endpoint {
public:
    /// Binds --metrics-bind on --metrics-port and listens at once;
    /// throws listen_error if it cannot.
    metrics_endpoint(boost::asio::io_context& ioc, server_settings const& cfg, metrics const& stats);

    /// The port actually bound (differs from the configured one when that was 0).
    std::uint16_t port() const;

    void start();

    /// From any thread, when the drain starts: /healthz answers 503 from now on.
    void set_draining() { draining_.store(true, std::memory_order_relaxed); }

    /// From any thread: close the acceptor and every scrape connection, so
    /// that nothing of ours keeps io_context::run() from returning.
    void stop();

private:
    struct connection_entry {
        boost::beast::tcp_stream* stream;
        bool idle; // waiting for a request's first byte: may be evicted
    };

    /// A scrape connection's entry in connections_, for as long as it is served.
    class registration {
    public:
        registration(metrics_endpoint& ep, boost::beast::tcp_stream& stream);
        ~registration();
        registration(registration const&) = delete;
        registration& operator=(registration const&) = delete;
        connection_entry& entry() { return *it_; }

    private:
        metrics_endpoint& ep_;
        std::list<connection_entry>::iterator it_;
    };

    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> make_room();
    boost::asio::awaitable<bool> await_request(boost::beast::tcp_stream& stream, boost::beast::flat_buffer& buffer,
                                               connection_entry& self, bool first);
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket sock);
    boost::asio::awaitable<void> discard_input(boost::beast::tcp_stream& stream);
    void close_all();

    server_settings const& cfg_;
    metrics const& stats_;
    session_strand strand_;
    acceptor acceptor_;
    std::atomic<bool> draining_{false};
    bool stopped_ = false;                             // on strand_
    std::list<connection_entry> connections_; // on strand_: the open scrapes, oldest first
    boost::asio::steady_timer room_;          // on strand_: wakes make_room()
};

} // namespace hashsrv
