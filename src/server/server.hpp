// SPDX-License-Identifier: BSL-1.0
// The acceptor, the connection limit, signal handling and the graceful drain.
#pragma once

#include "pool/job_limit.hpp"
#include "protocols/session.hpp"
#include "server/listener.hpp"
#include "server/server_settings.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hashsrv {

struct metrics;

class server final : client_admission {
public:
    /// Binds and listens at once; throws listen_error if it cannot.
    server(boost::asio::io_context& ioc, boost::asio::thread_pool& pool, server_settings const& cfg, metrics& stats);

    /// The port actually bound (differs from the configured one when that was 0).
    std::uint16_t port() const;

    /// The port speaks TLS with `ctx` (made from the settings' files); SIGHUP
    /// then reads them again. Before start().
    void use_tls(std::shared_ptr<boost::asio::ssl::context> ctx) { tls_ = std::move(ctx); }

    /// Starts accepting, and stopping on SIGINT or SIGTERM.
    void start();

    /// Graceful shutdown, from any thread: stop accepting at once, close idle
    /// connections at once (those silent since their accept after the drain
    /// grace), give requests in progress until the shutdown timeout. A second
    /// call closes everything at once.
    void stop();

    /// Called once, on the strand, when the drain starts (the service manager
    /// and the health check learn that we are stopping).
    void on_draining(std::function<void()> f) { on_draining_ = std::move(f); }

    /// Called once the drain is over (for example to close the metrics endpoint).
    void on_stopped(std::function<void()> f) { on_stopped_ = std::move(f); }

    /// Connections that the drain deadline cut off (0 after a clean drain).
    std::size_t forced_closes() const { return forced_; }

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> signal_loop();
    boost::asio::awaitable<void> sweep_loop();
    /// Expires the silent sessions in the buckets from `bucket` on, about a
    /// thousand buckets and sessions' worth; false once past the last bucket.
    bool sweep_slice(std::chrono::steady_clock::time_point now, std::size_t& bucket);
    boost::asio::awaitable<void> drain();
    boost::asio::awaitable<void> end_drain_grace(std::chrono::milliseconds grace);
    void begin_shutdown();
    void reload_tls();
    void spawn_session(int fd);
    /// Starts the sessions of up to `n` descriptors of the backlog, oldest first.
    void start_backlog(std::size_t n);
    /// Starts one turn's sessions from the backlog; true while taken
    /// descriptors still wait (the accept loop then lets other work run).
    bool start_turn_of_backlog();
    bool admit(session_control& ctl, boost::asio::ip::address const& client) override;
    /// Takes one of `client`'s connections under --max-connections-per-client;
    /// counts and logs a refusal.
    bool hold_slot(std::string const& client);
    /// Tells a refused client why and closes its connection.
    void refuse(int fd);
    void session_ended(std::uint64_t id);
    void force_close_all();

    boost::asio::io_context& ioc_;
    boost::asio::thread_pool& pool_;
    server_settings const& cfg_;
    metrics& stats_;
    session_strand strand_; // the acceptor, the timers and the signals
    acceptor acceptor_;
    boost::asio::ip::tcp protocol_; // of the accepted sockets
    with_tuple<boost::asio::signal_set> signals_;
    with_tuple<boost::asio::steady_timer> slot_free_; // wakes the accept loop below the connection limit
    with_tuple<boost::asio::steady_timer> drained_;   // wakes the drain when the last session ends
    with_tuple<boost::asio::steady_timer> sweep_;     // the idle sweep's period
    with_tuple<boost::asio::steady_timer> grace_;     // the drain's grace for connections silent since accept
    job_limit pool_slots_;
    // Up to 64 MiB of stream chunk buffers (at least one) kept for the next
    // upload, so that its recv does not fault fresh pages in.
    std::shared_ptr<chunk_cache> chunks_ = std::make_shared<chunk_cache>(cfg_.chunk_size, std::size_t{64} << 20);
    std::atomic<bool> stopping_{false};
    std::function<void()> on_draining_;
    std::function<void()> on_stopped_;
    std::shared_ptr<boost::asio::ssl::context> tls_; // on strand_: new connections take the current one
    std::size_t forced_ = 0;
    bool drain_over_ = false; // on strand_
    /// Accepted descriptors whose sessions have not started yet: the kernel's
    /// accept queue, continued (on strand_; counted against --max-connections).
    std::deque<int> backlog_;

    std::mutex mutex_; // guards sessions_, per_client_ and next_id_
    std::unordered_map<std::uint64_t, std::shared_ptr<session_control>> sessions_;
    std::unordered_map<std::string, std::size_t> per_client_; // with --max-connections-per-client
    std::uint64_t next_id_ = 0;
    std::atomic<std::size_t> active_{0};
};

} // namespace hashsrv
