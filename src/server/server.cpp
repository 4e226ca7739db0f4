// SPDX-License-Identifier: BSL-1.0
#include "server/server.hpp"

#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "transport/descriptor_io.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <utility>

#include <sys/socket.h>
#include <unistd.h>

namespace hashsrv {

namespace asio = boost::asio;
using boost::system::error_code;
using asio::ip::tcp;

namespace {

constexpr std::chrono::milliseconds accept_backoff{100};
// In a burst of connections the loop takes up to accept_turn descriptors from
// the kernel, starts up to start_turn sessions, and lets what else is queued
// run. The kernel's accept queue then empties at the pace of accept4 alone,
// faster than sessions start, and drops no handshake while they do (a dropped
// SYN costs its client a second or more); and no turn of the loop holds the
// I/O thread for long.
constexpr std::size_t accept_turn = 32;
constexpr std::size_t start_turn = 8;
// A full turn then leaves descriptors waiting, so the loop yields after it.
static_assert(start_turn < accept_turn);
using clock = std::chrono::steady_clock;

} // namespace

server::server(asio::io_context& ioc, asio::thread_pool& pool, server_settings const& cfg, metrics& stats)
    : ioc_(ioc), pool_(pool), cfg_(cfg), stats_(stats), strand_(asio::make_strand(ioc)),
      acceptor_(cfg.listen_fd >= 0 ? adopt(strand_, cfg.listen_fd, "cannot serve the passed hash socket")
                                   : listen(strand_, cfg.bind, cfg.port)), protocol_(acceptor_.local_endpoint().protocol()),
      signals_(strand_, SIGINT, SIGTERM, SIGHUP), slot_free_(strand_), drained_(strand_), sweep_(strand_),
      grace_(strand_),
      pool_slots_(strand_, cfg.max_inflight)
{
}

std::uint16_t server::port() const { return acceptor_.local_endpoint().port(); }

void server::start()
{
    asio::co_spawn(strand_, accept_loop(), asio::detached);
    asio::co_spawn(strand_, signal_loop(), asio::detached);
    if (cfg_.idle_timeout.count() > 0) asio::co_spawn(strand_, sweep_loop(), asio::detached);
}

void server::stop()
{
    asio::post(strand_, [this] { begin_shutdown(); });
}

asio::awaitable<void> server::signal_loop()
{
    for (;;) {
        auto [ec, sig] = co_await signals_.async_wait();
        if (ec) co_return; // cancelled once the drain is over
        if (sig == SIGHUP) {
            // Its default action would end the process at once, without a drain.
            if (tls_) reload_tls();
            else log::info("received SIGHUP: nothing to reload; going on");
            continue;
        }
        log::info("received signal {}", sig);
        begin_shutdown(); // may finish the drain at once, before we wait again
        if (drain_over_) co_return;
    }
}

// Certificates rotate without a restart: connections accepted from now on
// use the new pair; those already open keep the context they began with.
void server::reload_tls()
{
    try {
        tls_ = make_tls_context(cfg_.tls);
        log::info("received SIGHUP: reloaded the TLS certificate {} and key {}", cfg_.tls.cert, cfg_.tls.key);
    } catch (tls_error const& e) {
        log::error("received SIGHUP: cannot reload TLS: {}; keeping the certificate in use", e.what());
    }
}

// The idle timeout, for every connection at once: one timer for the server
// instead of one per connection (or per wait), which would cost each idle
// connection a timer and the coroutines that race it against the wait. A
// connection expires between its deadline and one period later (two, if the
// table grew and rehashed in the middle of a walk).
asio::awaitable<void> server::sweep_loop()
{
    auto const period = std::clamp<std::chrono::milliseconds>(cfg_.idle_timeout / 8, std::chrono::milliseconds(1),
                                                              std::chrono::milliseconds(1000));
    while (!drain_over_) {
        sweep_.expires_after(period);
        if (auto [ec] = co_await sweep_.async_wait(); ec) co_return;
        auto const now = clock::now();
        // A walk of tens of thousands of sessions at once would hold the I/O
        // thread, and the mutex that accepts take, for milliseconds: it goes
        // a slice at a time, and what queued meanwhile runs in between.
        for (std::size_t bucket = 0; sweep_slice(now, bucket);) co_await asio::post(strand_, asio::use_awaitable);
    }
}

bool server::sweep_slice(clock::time_point now, std::size_t& bucket)
{
    // Buckets count too: the table keeps its size after a crowd has gone.
    constexpr std::size_t steps_per_slice = 1024;
    std::lock_guard lock(mutex_);
    auto const buckets = sessions_.bucket_count();
    for (std::size_t steps = 0; bucket < buckets && steps < steps_per_slice; ++bucket, ++steps)
        for (auto it = sessions_.begin(bucket); it != sessions_.end(bucket); ++it, ++steps)
            if (it->second->deadline.passed(now)) it->second->expire_if_silent();
    return bucket < buckets;
}

asio::awaitable<void> server::accept_loop()
{
    with_tuple<asio::steady_timer> backoff(strand_);
    std::size_t failed_accepts = 0; // in the current burst of accept errors
    auto burst_began = clock::now();
    for (std::size_t taken = 0;;) {
        if (stopping_) co_return; // begin_shutdown started the backlog's sessions
        bool const full = active_.load() + backlog_.size() >= cfg_.max_connections;
        if (taken == accept_turn || (full && !backlog_.empty())) {
            taken = 0;
            // A burst yields; a lone connection that took the last slot does not.
            if (start_turn_of_backlog()) co_await asio::post(strand_, asio::use_awaitable);
            continue;
        }
        if (full) {
            slot_free_.expires_at(asio::steady_timer::time_point::max());
            co_await slot_free_.async_wait();
            continue;
        }
        // accept4 hands over a descriptor that no Asio socket has registered
        // with epoll yet: the session does that only if it has to wait.
        auto [ec, fd] = descriptor_io::try_accept(acceptor_.native_handle());
        if (!ec) {
            if (failed_accepts > 0) {
                auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - burst_began).count();
                log::info("accepting again after {} failed accepts in {} ms", std::exchange(failed_accepts, 0), ms);
            }
            backlog_.push_back(fd);
            ++taken;
            continue;
        }
        // Nothing more to take for now: start what was taken before waiting.
        taken = 0;
        if (start_turn_of_backlog()) {
            co_await asio::post(strand_, asio::use_awaitable);
            continue;
        }
        if (descriptor_io::would_block(ec)) {
            // No readiness is lost between the accept4 and this wait, even
            // with several I/O threads: Asio queues a wait with an
            // epoll_ctl(MOD) that re-arms the edge-triggered registration,
            // and the kernel reports a connection already pending at once.
            auto [wec] = co_await acceptor_.async_wait(tcp::acceptor::wait_read);
            if (stopping_) co_return;
            ec = wec;
            if (!ec) continue;
        }
        if (ec == asio::error::connection_aborted || ec.value() == EPROTO) continue; // gone before accepted
        // EMFILE and friends: the tutorial's loop broke here and never
        // accepted again. Ours waits for descriptors to be freed, and logs a
        // burst of failures once, not every retry.
        stats_.accept_errors.fetch_add(1, std::memory_order_relaxed);
        if (failed_accepts++ == 0) {
            burst_began = clock::now();
            log::warn("accept failed: {}; retrying every {} ms", ec.message(), accept_backoff.count());
        }
        backoff.expires_after(accept_backoff);
        co_await backoff.async_wait();
    }
}

bool server::start_turn_of_backlog()
{
    start_backlog(start_turn);
    return !backlog_.empty();
}

void server::start_backlog(std::size_t n)
{
    for (; n > 0 && !backlog_.empty(); --n) {
        spawn_session(backlog_.front());
        backlog_.pop_front();
    }
}

namespace {

/// One key per client address: an IPv4 client seen through an IPv6 socket
/// counts as itself.
std::string client_key(asio::ip::address const& a)
{
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
    return a.to_string();
}

} // namespace

void server::spawn_session(int fd)
{
    auto ctl = std::make_shared<session_control>(asio::make_strand(ioc_));
    // Behind a load balancer the client is known once its PROXY header is read (admit).
    if (cfg_.max_per_client > 0 && !cfg_.proxy_protocol) {
        auto ep = descriptor_io::peer(fd);
        ctl->client = ep ? client_key(ep->address()) : "?";
        if (!hold_slot(ctl->client)) return refuse(fd);
    }
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
        sessions_.emplace(id, ctl);
        active_.fetch_add(1);
    }
    stats_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    stats_.connections_active.fetch_add(1, std::memory_order_relaxed);
    session_context ctx{&cfg_, protocol_, hash_pool{pool_.get_executor(), &pool_slots_, &stats_}, chunks_, &stats_, &stopping_,
                        tls_, cfg_.proxy_protocol ? this : nullptr};
    asio::co_spawn(ctl->strand, run_session(fd, ctl, ctx), [this, id](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& ex) {
                log::error("session ended by an exception: {}", ex.what());
            }
        }
        session_ended(id);
    });
}

bool server::admit(session_control& ctl, asio::ip::address const& client)
{
    auto key = client_key(client);
    if (cfg_.max_per_client > 0 && !hold_slot(key)) return false;
    ctl.proxied = true;
    ctl.client = std::move(key);
    return true;
}

bool server::hold_slot(std::string const& client)
{
    {
        std::lock_guard lock(mutex_);
        auto& held = per_client_[client];
        if (held < cfg_.max_per_client) {
            ++held;
            return true;
        }
    }
    stats_.connections_rejected.fetch_add(1, std::memory_order_relaxed);
    log::debug("{}: refused: {} connections from it already (--max-connections-per-client)", client,
               cfg_.max_per_client);
    return false;
}

void server::refuse(int fd)
{
    descriptor_io::try_send(fd, asio::buffer(too_many_from_client));
    ::close(fd);
}

void server::session_ended(std::uint64_t id)
{
    std::size_t was = 0;
    {
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(id);
        // Its client, if it holds one of the client's slots (the session has ended: no race).
        if (it != sessions_.end() && cfg_.max_per_client > 0 && !it->second->client.empty()) {
            auto held = per_client_.find(it->second->client);
            if (held != per_client_.end() && --held->second == 0) per_client_.erase(held);
        }
        if (it != sessions_.end()) sessions_.erase(it);
        was = active_.fetch_sub(1);
    }
    stats_.connections_active.fetch_sub(1, std::memory_order_relaxed);
    if (was == cfg_.max_connections) asio::post(strand_, [this] { slot_free_.cancel(); });
    if (was == 1 && stopping_) asio::post(strand_, [this] { drained_.cancel(); });
}

void server::begin_shutdown()
{
    if (stopping_.exchange(true)) {
        log::warn("second stop request: closing every connection now");
        forced_ = std::max(forced_, active_.load()); // requests cut off: exit status 3, as at the deadline
        force_close_all();
        return;
    }
    error_code ignored;
    acceptor_.close(ignored);
    slot_free_.cancel();
    // Accepted, not yet started: their clients may have sent a request already.
    start_backlog(backlog_.size());
    // Half the deadline at most, so that a silent connection is closed as
    // idle before the deadline would count it as a request cut off.
    auto const grace = std::min(cfg_.drain_grace, cfg_.shutdown_timeout / 2);
    std::size_t active = 0;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, ctl] : sessions_) ctl->close_if_idle(grace.count() > 0);
        active = sessions_.size();
    }
    log::info("shutting down: stopped accepting; draining {} connections (up to {} ms; {} ms for those silent "
              "since their accept to start a request)",
              active, cfg_.shutdown_timeout.count(), grace.count());
    if (on_draining_) on_draining_();
    if (grace.count() > 0) asio::co_spawn(strand_, end_drain_grace(grace), asio::detached);
    asio::co_spawn(strand_, drain(), asio::detached);
}

asio::awaitable<void> server::end_drain_grace(std::chrono::milliseconds grace)
{
    grace_.expires_after(grace);
    if (auto [ec] = co_await grace_.async_wait(); ec) co_return; // the drain ended first
    std::lock_guard lock(mutex_);
    for (auto& [id, ctl] : sessions_) ctl->close_if_idle();
}

asio::awaitable<void> server::drain()
{
    drained_.expires_after(cfg_.shutdown_timeout);
    while (active_.load() > 0) {
        auto [ec] = co_await drained_.async_wait();
        if (!ec) break; // the deadline passed
    }
    if (auto left = active_.load(); left > 0) {
        forced_ = left;
        log::warn("shutdown timeout passed: closing {} connections with requests in progress", left);
        force_close_all();
    } else {
        log::info("all connections drained");
    }
    drain_over_ = true;
    signals_.cancel();
    sweep_.cancel();
    grace_.cancel();
    if (on_stopped_) on_stopped_();
}

void server::force_close_all()
{
    std::lock_guard lock(mutex_);
    for (auto& [id, ctl] : sessions_) ctl->force_close();
}

} // namespace hashsrv
