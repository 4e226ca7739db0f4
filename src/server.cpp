// SPDX-License-Identifier: BSL-1.0
#include "server.hpp"

#include "app/open_files.hpp"
#include "descriptor_io.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "metrics_http.hpp"
#include "threads.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <system_error>
#include <utility>

#include <sys/socket.h>
#include <unistd.h>

namespace hashsrv {

namespace asio = boost::asio;
using boost::system::error_code;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds accept_backoff{100};
using clock = std::chrono::steady_clock;

std::string describe(tcp::endpoint const& ep)
{
    auto a = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port());
}

void listen_on(tcp::acceptor& acc, tcp::endpoint const& ep)
{
    try {
        acc.open(ep.protocol());
        acc.set_option(tcp::acceptor::reuse_address(true));
        if (ep.address().is_v6() && ep.address().is_unspecified())
            acc.set_option(asio::ip::v6_only(false)); // one socket for IPv6 and IPv4
        acc.bind(ep);
        acc.listen(asio::socket_base::max_listen_connections);
        acc.non_blocking(true); // the accept loop tries accept4 before it waits
    } catch (boost::system::system_error const& e) {
        error_code ignored;
        acc.close(ignored);
        throw listen_error(e.code(), "cannot listen on " + describe(ep));
    }
}

tcp::acceptor make_acceptor(asio::io_context& ioc, session_strand const& strand, config const& cfg)
{
    tcp::acceptor acc(strand);
    if (!cfg.bind.empty()) {
        listen_on(acc, {asio::ip::make_address(cfg.bind), cfg.port});
        return acc;
    }
    try {
        listen_on(acc, {tcp::v6(), cfg.port});
    } catch (listen_error const& e) {
        if (e.code != asio::error::address_family_not_supported) throw;
        listen_on(acc, {tcp::v4(), cfg.port}); // a host without IPv6
    }
    (void)ioc;
    return acc;
}

} // namespace

server::server(asio::io_context& ioc, asio::thread_pool& pool, config const& cfg, metrics& stats)
    : ioc_(ioc), pool_(pool), cfg_(cfg), stats_(stats), strand_(asio::make_strand(ioc)),
      acceptor_(make_acceptor(ioc, strand_, cfg)), protocol_(acceptor_.local_endpoint().protocol()),
      signals_(strand_, SIGINT, SIGTERM, SIGHUP), slot_free_(strand_), drained_(strand_), pool_slots_(strand_, cfg.max_inflight)
{
}

std::uint16_t server::port() const { return acceptor_.local_endpoint().port(); }

void server::start()
{
    log::info("serving protocol {} with {} on {} hash threads (--pool-policy {})", to_string(cfg_.proto),
              to_string(cfg_.hash), cfg_.threads, to_string(cfg_.pool_sched));
    asio::co_spawn(strand_, accept_loop(), asio::detached);
    asio::co_spawn(strand_, signal_loop(), asio::detached);
}

void server::stop()
{
    asio::post(strand_, [this] { begin_shutdown(); });
}

asio::awaitable<void> server::signal_loop()
{
    for (;;) {
        auto [ec, sig] = co_await signals_.async_wait(use_tuple);
        if (ec) co_return; // cancelled once the drain is over
        if (sig == SIGHUP) {
            // Its default action would end the process at once, without a drain.
            log::info("received SIGHUP: nothing to reload; going on");
            continue;
        }
        log::info("received signal {}", sig);
        begin_shutdown(); // may finish the drain at once, before we wait again
        if (drain_over_) co_return;
    }
}

asio::awaitable<void> server::accept_loop()
{
    asio::steady_timer backoff(strand_);
    std::size_t failed_accepts = 0; // in the current burst of accept errors
    auto burst_began = clock::now();
    for (;;) {
        while (active_.load() >= cfg_.max_connections && !stopping_) {
            slot_free_.expires_at(asio::steady_timer::time_point::max());
            co_await slot_free_.async_wait(use_tuple);
        }
        if (stopping_) co_return;
        // accept4 hands over a descriptor that no Asio socket has registered
        // with epoll yet: the session does that only if it has to wait.
        auto [ec, fd] = descriptor_io::try_accept(acceptor_.native_handle());
        if (descriptor_io::would_block(ec)) {
            // No readiness is lost between the accept4 and this wait, even
            // with several I/O threads: Asio queues a wait with an
            // epoll_ctl(MOD) that re-arms the edge-triggered registration,
            // and the kernel reports a connection already pending at once.
            auto [wec] = co_await acceptor_.async_wait(tcp::acceptor::wait_read, use_tuple);
            if (stopping_) co_return;
            ec = wec;
            if (!ec) continue;
        }
        if (ec == asio::error::connection_aborted || ec.value() == EPROTO) continue; // gone before accepted
        if (ec) {
            // EMFILE and friends: the tutorial's loop broke here and never
            // accepted again. Ours waits for descriptors to be freed, and
            // logs a burst of failures once, not every retry.
            stats_.accept_errors.fetch_add(1, std::memory_order_relaxed);
            if (failed_accepts++ == 0) {
                burst_began = clock::now();
                log::warn("accept failed: {}; retrying every {} ms", ec.message(), accept_backoff.count());
            }
            backoff.expires_after(accept_backoff);
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        if (failed_accepts > 0) {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - burst_began).count();
            log::info("accepting again after {} failed accepts in {} ms", std::exchange(failed_accepts, 0), ms);
        }
        spawn_session(fd);
    }
}

void server::spawn_session(int fd)
{
    auto client = cfg_.max_per_client > 0 ? client_address(fd) : std::string{};
    auto ctl = std::make_shared<session_control>(asio::make_strand(ioc_));
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        if (!client.empty()) {
            auto& held = per_client_[client];
            if (held >= cfg_.max_per_client) return refuse(fd, client);
            ++held;
        }
        id = next_id_++;
        sessions_.emplace(id, ctl);
        active_.fetch_add(1);
    }
    stats_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    stats_.connections_active.fetch_add(1, std::memory_order_relaxed);
    session_context ctx{&cfg_, protocol_, pool_.get_executor(), &pool_slots_, chunks_, &stats_, &stopping_};
    asio::co_spawn(ctl->strand, run_session(fd, ctl, ctx), [this, id, client](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (std::exception const& ex) {
                log::error("session ended by an exception: {}", ex.what());
            }
        }
        session_ended(id, client);
    });
}

std::string server::client_address(int fd)
{
    auto ep = descriptor_io::peer(fd);
    if (!ep) return "?";
    auto a = ep->address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string(); // one key per client
    return a.to_string();
}

void server::refuse(int fd, std::string const& client)
{
    stats_.connections_rejected.fetch_add(1, std::memory_order_relaxed);
    log::debug("{}: refused: {} connections from it already (--max-connections-per-client)", client,
               cfg_.max_per_client);
    static constexpr std::string_view notice = "ERR too many connections from your address\n";
    descriptor_io::try_send(fd, asio::buffer(notice));
    ::close(fd);
}

void server::session_ended(std::uint64_t id, std::string const& client)
{
    std::size_t was = 0;
    {
        std::lock_guard lock(mutex_);
        sessions_.erase(id);
        if (!client.empty()) {
            auto it = per_client_.find(client);
            if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
        }
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
    std::size_t active = 0;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, ctl] : sessions_) ctl->close_if_idle();
        active = sessions_.size();
    }
    log::info("shutting down: stopped accepting; draining {} connections (up to {} ms)", active,
              cfg_.shutdown_timeout.count());
    asio::co_spawn(strand_, drain(), asio::detached);
}

asio::awaitable<void> server::drain()
{
    drained_.expires_after(cfg_.shutdown_timeout);
    while (active_.load() > 0) {
        auto [ec] = co_await drained_.async_wait(use_tuple);
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
    if (on_stopped_) on_stopped_();
}

void server::force_close_all()
{
    std::lock_guard lock(mutex_);
    for (auto& [id, ctl] : sessions_) ctl->force_close();
}

namespace {

/// Starts the pool's threads and the I/O threads beyond the calling one.
/// Thread creation is the one failure of a valid command line that cannot be
/// checked earlier: it is reported like a port that cannot be bound.
bool start_threads(config const& cfg, asio::io_context& ioc, asio::thread_pool& pool, thread_group& pool_threads,
                   thread_group& io_threads)
{
    try {
        pool_threads.start(cfg.threads, [&pool] { pool.attach(); });
    } catch (std::system_error const& e) {
        std::cerr << "hash_server: cannot start " << cfg.threads << " hash threads (--threads): " << e.code().message()
                  << "\n";
        return false;
    }
    try {
        io_threads.start(cfg.io_threads - 1, [&ioc] {
            name_this_thread("hash-io");
            ioc.run();
        });
    } catch (std::system_error const& e) {
        std::cerr << "hash_server: cannot start " << cfg.io_threads << " I/O threads (--io-threads): "
                  << e.code().message() << "\n";
        return false;
    }
    return true;
}

} // namespace

int run(config const& cfg)
{
    log::set_level(cfg.level);
    app::raise_and_log_open_files_limit(cfg.max_connections);
    // A closed stderr or stdout (`hash_server 2>&1 | tee log`, tee gone) must
    // not end the process: the write fails and the log line is lost.
    std::signal(SIGPIPE, SIG_IGN);
    // Declared in this order on purpose: the pool's jobs resume on the
    // io_context, so the io_context must outlive the pool (and run() returns
    // before the pool is waited for). The other order is a use-after-free.
    asio::io_context ioc;
    auto io_work = asio::make_work_guard(ioc); // the I/O threads wait for the server to start
    // A pool with no threads of its own: ours attach to it. thread_pool(n)
    // cannot undo the threads it started when one of them fails; ours can.
    asio::thread_pool pool(0);
    thread_group pool_threads, io_threads;
    auto abandon = [&] {
        io_work.reset();
        ioc.stop();
        pool.stop();
        return 1; // the thread groups join as they go out of scope
    };
    if (!start_threads(cfg, ioc, pool, pool_threads, io_threads)) return abandon();
    settle_pool_threads(pool, cfg.threads, cfg.pool_sched);
    metrics stats;
    std::unique_ptr<server> srv;
    std::unique_ptr<metrics_endpoint> web;
    try {
        srv = std::make_unique<server>(ioc, pool, cfg, stats);
        if (cfg.metrics_port) web = std::make_unique<metrics_endpoint>(ioc, cfg, stats);
    } catch (listen_error const& e) {
        std::cerr << "hash_server: " << e.what() << "\n";
        return abandon();
    }
    if (web) {
        // Scrapes go on during the drain; once it is over, the endpoint's
        // acceptor and connections are all that could keep ioc.run() going.
        srv->on_stopped([&web] { web->stop(); });
        web->start();
    }
    srv->start();
    io_work.reset();
    // Last, once start-up has logged all it logs and every thread runs: to a
    // supervisor or a test the banner means "serving, nothing left to set up".
    std::cout << "Hash server listening on port " << srv->port() << std::endl;
    ioc.run();
    io_threads.join();
    pool.wait(); // jobs still queued finish; then the attached threads return
    pool_threads.join();
    if (srv->forced_closes() > 0) return 3;
    return 0;
}

} // namespace hashsrv
