// SPDX-License-Identifier: BSL-1.0
#include "app/run.hpp"

#include "app/open_files.hpp"
#include "app/state_file.hpp"
#include "app/systemd.hpp"
#include "app/threads.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"
#include "server/metrics_http.hpp"
#include "server/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <csignal>
#include <iostream>
#include <memory>
#include <system_error>

namespace hashsrv {

namespace asio = boost::asio;

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

/// The server and, with --metrics-port, the metrics endpoint, listening;
/// false (and the reason on stderr) when a port cannot be bound.
bool listen_all(config const& cfg, asio::io_context& ioc, asio::thread_pool& pool, metrics& stats,
                std::unique_ptr<server>& srv, std::unique_ptr<metrics_endpoint>& web)
{
    try {
        srv = std::make_unique<server>(ioc, pool, cfg, stats);
        // A passed metrics socket is a request for metrics, --metrics-port or not.
        if (cfg.metrics_port || cfg.metrics_listen_fd >= 0) web = std::make_unique<metrics_endpoint>(ioc, cfg, stats);
    } catch (listen_error const& e) {
        std::cerr << "hash_server: " << e.what() << "\n";
        return false;
    }
    return true;
}

/// Read before anything listens: a bad file is a start-up error.
bool make_tls(config const& cfg, std::shared_ptr<asio::ssl::context>& ctx)
{
    if (!cfg.tls.enabled()) return true;
    try {
        ctx = make_tls_context(cfg.tls);
    } catch (tls_error const& e) {
        std::cerr << "hash_server: " << e.what() << "\n";
        return false;
    }
    return true;
}

/// The sockets systemd passed, if any, in the copy of the configuration that
/// the server keeps; false (and the reason on stderr) when they cannot be served.
bool take_sockets(config& cfg)
{
    try {
        auto passed = take_passed_sockets();
        cfg.listen_fd = passed.hash;
        cfg.metrics_listen_fd = passed.metrics;
    } catch (std::runtime_error const& e) {
        std::cerr << "hash_server: " << e.what() << "\n";
        return false;
    }
    if (cfg.listen_fd >= 0)
        log::info("socket activation: serving the passed socket{} (the port argument and --bind are ignored)",
                  cfg.metrics_listen_fd >= 0 ? "s for the hash port and the metrics" : "");
    return true;
}

/// The service manager and the health check learn when the drain starts.
/// Scrapes go on during the drain; once it is over, the endpoint's acceptor
/// and connections and the status timer are all that could keep ioc.run() going.
void follow_the_drain(server& srv, metrics_endpoint* web, service_notifier& notifier)
{
    srv.on_draining([web, &notifier] {
        notifier.stopping();
        if (web) web->set_draining(); // GET /healthz: 503 from now on
    });
    srv.on_stopped([web, &notifier] {
        notifier.stop();
        if (web) web->stop();
    });
}

void log_serving(config const& cfg)
{
    log::info("serving protocol {} with {} on {} hash threads (--pool-policy {}){}{}", to_string(cfg.proto),
              to_string(cfg.hash), cfg.threads, to_string(cfg.pool_sched),
              cfg.tls.enabled() ? cfg.tls.min_tls13 ? " over TLS 1.3" : " over TLS 1.2 and 1.3" : "",
              cfg.proxy_protocol ? ", behind a balancer (PROXY protocol)" : "");
}

} // namespace

int run(config const& given)
{
    config cfg = given; // the server keeps a reference: this copy outlives it
    log::set_level(cfg.level);
    std::shared_ptr<asio::ssl::context> tls;
    if (!make_tls(cfg, tls) || !take_sockets(cfg)) return 1;
    raise_and_log_open_files_limit(cfg.max_connections);
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
    metrics stats;
    std::unique_ptr<server> srv;
    std::unique_ptr<metrics_endpoint> web;
    service_notifier notifier(ioc, stats.connections_active);
    if (!start_threads(cfg, ioc, pool, pool_threads, io_threads) || !listen_all(cfg, ioc, pool, stats, srv, web) ||
        !write_state_file(cfg, srv->port())) {
        io_work.reset();
        ioc.stop();
        pool.stop();
        return 1; // the thread groups join as they go out of scope
    }
    settle_pool_threads(pool, cfg.threads, cfg.pool_sched);
    if (tls) {
        srv->use_tls(std::move(tls));
        stats.tls = true;
    }
    follow_the_drain(*srv, web.get(), notifier);
    if (web) web->start();
    log_serving(cfg);
    srv->start();
    io_work.reset();
    // Last, once start-up has logged all it logs and every thread runs: to a
    // supervisor or a test the banner means "serving, nothing left to set up".
    std::cout << "Hash server listening on port " << srv->port() << std::endl;
    notifier.ready(srv->port()); // after the banner, so that both say the same
    ioc.run();
    io_threads.join();
    pool.wait(); // jobs still queued finish; then the attached threads return
    pool_threads.join();
    remove_state_file(cfg);
    return srv->forced_closes() > 0 ? 3 : 0;
}

} // namespace hashsrv
