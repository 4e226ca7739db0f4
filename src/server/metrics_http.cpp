// SPDX-License-Identifier: BSL-1.0
#include "server/metrics_http.hpp"

#include "observe/log.hpp"
#include "observe/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/version.hpp>

#include <algorithm>
#include <array>
#include <exception>
#include <string>

namespace hashsrv {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using asio::ip::tcp;

namespace {

// A scrape request is a request line and a few headers. Anything bigger is
// not Prometheus, and must not make us buffer it.
constexpr std::size_t max_request_bytes = 8 * 1024;
// A keep-alive client between scrapes may not hold a connection longer than
// this; Prometheus scrapes far more often.
constexpr std::chrono::seconds http_idle_timeout{60};
// A request must arrive whole this soon after its first byte (or after the
// connect): a client that trickles its headers holds a slot no longer.
constexpr std::chrono::seconds header_deadline{5};
// Scrapers are few. At this many connections the oldest idle one is closed to
// make room for a newcomer; when none is idle, newcomers wait in the backlog.
constexpr std::size_t max_http_connections = 64;
constexpr std::chrono::milliseconds accept_backoff{100};

constexpr char content_type[] = "text/plain; version=0.0.4; charset=utf-8";

/// --metrics-bind (loopback unless told otherwise), on --metrics-port.
acceptor make_acceptor(session_strand const& strand, server_settings const& cfg)
{
    if (cfg.metrics_listen_fd >= 0) return adopt(strand, cfg.metrics_listen_fd, "cannot serve the passed metrics socket");
    auto port = cfg.metrics_port.value_or(0);
    try {
        return listen(strand, cfg.metrics_bind, port);
    } catch (listen_error const& e) {
        throw listen_error(e.code, "cannot listen for metrics on port " + std::to_string(port) + " of " +
                                       cfg.metrics_bind + " (--metrics-bind)");
    }
}

enum class route { metrics, healthz, none };

route route_of(beast::string_view target)
{
    // Prometheus may add URL parameters (params: in scrape_config); we have none to honour.
    auto path = target.substr(0, target.find('?'));
    if (path == "/metrics") return route::metrics;
    if (path == "/healthz") return route::healthz;
    return route::none;
}

http::response<http::string_body> plain(http::status status, unsigned version, bool keep_alive, std::string body)
{
    http::response<http::string_body> res{status, version};
    res.keep_alive(keep_alive);
    res.set(http::field::server, "hash_server/" HASHSRV_VERSION);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::move(body);
    return res;
}

/// `req` is a request's header; a body after it (a POST's) is never read, so
/// such a request is answered and the connection closed.
http::response<http::string_body> respond(http::request_parser<http::empty_body> const& parser, metrics const& stats,
                                          server_settings const& cfg, bool draining)
{
    auto const& req = parser.get();
    auto res = plain(http::status::ok, req.version(), req.keep_alive() && parser.is_done(), {});
    auto const where = route_of(req.target());
    if (where == route::none) {
        res.result(http::status::not_found);
        res.body() = "not found: the metrics are at /metrics, the health at /healthz\n";
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.body() = "method not allowed\n";
    } else if (where == route::healthz) {
        // Draining: the load balancer should send new clients elsewhere now,
        // before the listener is gone.
        res.result(draining ? http::status::service_unavailable : http::status::ok);
        res.body() = draining ? "draining\n" : "serving\n";
    } else {
        res.result(http::status::ok);
        res.set(http::field::content_type, content_type);
        res.body() = stats.render(cfg.proto, cfg.hash);
    }
    res.prepare_payload(); // Content-Length, also for HEAD
    if (req.method() == http::verb::head) res.body().clear();
    return res;
}

/// Ends of a connection that need no log line at debug level either.
bool ordinary_end(error_code ec)
{
    return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::operation_aborted ||
           ec == beast::error::timeout;
}

void log_failure(std::exception_ptr e)
{
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (std::exception const& ex) {
        log::debug("metrics: {}", ex.what());
    }
}

} // namespace

metrics_endpoint::metrics_endpoint(asio::io_context& ioc, server_settings const& cfg, metrics const& stats)
    : cfg_(cfg), stats_(stats), strand_(asio::make_strand(ioc)), acceptor_(make_acceptor(strand_, cfg)),
      room_(strand_)
{
}

std::uint16_t metrics_endpoint::port() const { return acceptor_.local_endpoint().port(); }

void metrics_endpoint::start()
{
    log::info("metrics on port {} (GET /metrics, GET /healthz)", port());
    asio::co_spawn(strand_, accept_loop(), log_failure);
}

void metrics_endpoint::stop()
{
    asio::post(strand_, [this] { close_all(); });
}

void metrics_endpoint::close_all()
{
    stopped_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    room_.cancel();
    for (auto& c : connections_) c.stream->socket().close(ignored);
}

asio::awaitable<void> metrics_endpoint::accept_loop()
{
    asio::steady_timer backoff(strand_);
    while (!stopped_) {
        // A newcomer is there before room is made for it: an idle scrape
        // connection is closed only for a client that is waiting.
        auto [wec] = co_await acceptor_.async_wait(tcp::acceptor::wait_read, use_tuple);
        if (stopped_) co_return;
        co_await make_room();
        if (stopped_) co_return;
        auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
        if (stopped_) co_return;
        (void)wec;
        if (ec) {
            log::debug("metrics: accept failed: {}", ec.message());
            backoff.expires_after(accept_backoff);
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        asio::co_spawn(strand_, serve(std::move(sock)), log_failure);
    }
}

asio::awaitable<void> metrics_endpoint::make_room()
{
    while (connections_.size() >= max_http_connections && !stopped_) {
        // The list is in accept order: the first idle one is the oldest.
        auto idle = std::find_if(connections_.begin(), connections_.end(), [](auto const& c) { return c.idle; });
        if (idle != connections_.end()) {
            log::debug("metrics: {} connections open; closing the oldest idle one", connections_.size());
            idle->idle = false; // evicted once
            idle->stream->cancel();
        }
        // Woken when a connection ends or becomes idle.
        room_.expires_at(asio::steady_timer::time_point::max());
        co_await room_.async_wait(use_tuple);
    }
}

/// Waits for the first byte of a request; the connection is idle (and may be
/// evicted) meanwhile. False when the connection is over.
asio::awaitable<bool> metrics_endpoint::await_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                                      connection_entry& self, bool first)
{
    if (buffer.size() > 0) co_return true; // pipelined after the last request
    self.idle = true;
    room_.cancel();
    stream.expires_after(first ? std::chrono::seconds(header_deadline) : http_idle_timeout);
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(max_request_bytes), use_tuple);
    buffer.commit(n);
    self.idle = false;
    if (ec && !ordinary_end(ec)) log::debug("metrics: {}", ec.message());
    co_return !ec && !stopped_;
}

metrics_endpoint::registration::registration(metrics_endpoint& ep, beast::tcp_stream& stream)
    : ep_(ep), it_(ep.connections_.insert(ep.connections_.end(), connection_entry{&stream, false}))
{
}

metrics_endpoint::registration::~registration()
{
    ep_.connections_.erase(it_);
    ep_.room_.cancel(); // room for a newcomer
}

asio::awaitable<void> metrics_endpoint::serve(tcp::socket sock)
{
    beast::tcp_stream stream(std::move(sock));
    registration registered(*this, stream);
    auto& self = registered.entry();

    beast::flat_buffer buffer(max_request_bytes);
    bool unread_input = false; // a request body or header we did not read
    for (bool first = true; co_await await_request(stream, buffer, self, first); first = false) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(max_request_bytes);
        stream.expires_after(header_deadline);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        (void)n;
        http::response<http::string_body> res;
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
            res = plain(http::status::request_header_fields_too_large, 11, false, "request header too large\n");
            res.prepare_payload();
            unread_input = true;
        } else if (ec) {
            if (!ordinary_end(ec)) log::debug("metrics: bad request: {}", ec.message());
            break;
        } else {
            res = respond(parser, stats_, cfg_, draining_.load(std::memory_order_relaxed));
            unread_input = !parser.is_done();
        }
        stream.expires_after(header_deadline);
        auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
        (void)wn;
        if (wec) {
            if (!ordinary_end(wec)) log::debug("metrics: write failed: {}", wec.message());
            break;
        }
        if (!res.keep_alive() || stopped_) break;
    }
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (unread_input && !stopped_) co_await discard_input(stream);
    stream.socket().close(ignored);
}

/// Bytes left unread would make close() send a reset, which can destroy the
/// reply in flight (a 431, a 405 to a POST): read and drop some, briefly.
asio::awaitable<void> metrics_endpoint::discard_input(beast::tcp_stream& stream)
{
    std::array<char, 4096> sink{};
    std::size_t dropped = 0;
    stream.expires_after(std::chrono::seconds(1));
    while (dropped < 1024 * 1024) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
        if (ec) break;
        dropped += n;
    }
}

} // namespace hashsrv
