#include "metrics_http.hpp"

#include "log.hpp"
#include "metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/version.hpp>

#include <exception>
#include <string>

namespace hashsrv {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A scrape request is a request line and a few headers. Anything bigger is
// not Prometheus, and must not make us buffer it.
constexpr std::size_t max_request_bytes = 8 * 1024;
// A silent HTTP client (or a keep-alive one between scrapes) may not hold a
// connection longer than this; Prometheus scrapes far more often.
constexpr std::chrono::seconds http_idle_timeout{60};
// Scrapers are few; a flood of connections is closed at once rather than served.
constexpr std::size_t max_http_connections = 64;
constexpr std::chrono::milliseconds accept_backoff{100};

constexpr char content_type[] = "text/plain; version=0.0.4; charset=utf-8";

void listen_on(tcp::acceptor& acc, tcp::endpoint const& ep)
{
    acc.open(ep.protocol());
    acc.set_option(tcp::acceptor::reuse_address(true));
    if (ep.address().is_v6() && ep.address().is_unspecified())
        acc.set_option(asio::ip::v6_only(false)); // one socket for IPv6 and IPv4
    acc.bind(ep);
    acc.listen();
}

/// The same addresses as the hash port: --bind, or every IPv6 and IPv4 address.
tcp::acceptor make_acceptor(session_strand const& strand, config const& cfg)
{
    tcp::acceptor acc(strand);
    auto port = cfg.metrics_port.value_or(0);
    try {
        if (!cfg.bind.empty()) {
            listen_on(acc, {asio::ip::make_address(cfg.bind), port});
            return acc;
        }
        try {
            listen_on(acc, {tcp::v6(), port});
        } catch (boost::system::system_error const& e) {
            if (e.code() != asio::error::address_family_not_supported) throw;
            error_code ignored;
            acc.close(ignored);
            listen_on(acc, {tcp::v4(), port}); // a host without IPv6
        }
    } catch (boost::system::system_error const& e) {
        throw boost::system::system_error(e.code(), "cannot listen for metrics on port " + std::to_string(port));
    }
    return acc;
}

bool is_metrics_path(beast::string_view target)
{
    // Prometheus may add URL parameters (params: in scrape_config); we have none to honour.
    auto path = target.substr(0, target.find('?'));
    return path == "/metrics";
}

http::response<http::string_body> respond(http::request<http::empty_body> const& req, metrics const& stats,
                                          config const& cfg)
{
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "hash_server/" HASHSRV_VERSION);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    if (!is_metrics_path(req.target())) {
        res.result(http::status::not_found);
        res.body() = "not found: the metrics are at /metrics\n";
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.body() = "method not allowed\n";
    } else {
        res.result(http::status::ok);
        res.set(http::field::content_type, content_type);
        res.body() = stats.render(cfg);
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

metrics_endpoint::metrics_endpoint(asio::io_context& ioc, config const& cfg, metrics const& stats)
    : cfg_(cfg), stats_(stats), strand_(asio::make_strand(ioc)), acceptor_(make_acceptor(strand_, cfg))
{
}

std::uint16_t metrics_endpoint::port() const { return acceptor_.local_endpoint().port(); }

void metrics_endpoint::start()
{
    log::info("metrics on port {} (GET /metrics)", port());
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
    for (auto* stream : connections_) stream->socket().close(ignored);
}

asio::awaitable<void> metrics_endpoint::accept_loop()
{
    asio::steady_timer backoff(strand_);
    while (!stopped_) {
        auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
        if (stopped_) co_return;
        if (ec) {
            log::debug("metrics: accept failed: {}", ec.message());
            backoff.expires_after(accept_backoff);
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        if (connections_.size() >= max_http_connections) {
            log::debug("metrics: {} connections open already; closing a new one", connections_.size());
            continue; // the socket closes as it goes out of scope
        }
        asio::co_spawn(strand_, serve(std::move(sock)), log_failure);
    }
}

asio::awaitable<void> metrics_endpoint::serve(tcp::socket sock)
{
    beast::tcp_stream stream(std::move(sock));
    auto self = connections_.insert(connections_.end(), &stream);
    struct forget {
        std::list<beast::tcp_stream*>& list;
        std::list<beast::tcp_stream*>::iterator it;
        ~forget() { list.erase(it); }
    } registration{connections_, self};

    beast::flat_buffer buffer(max_request_bytes);
    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(max_request_bytes);
        stream.expires_after(http_idle_timeout);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        (void)n;
        if (ec) {
            if (!ordinary_end(ec)) log::debug("metrics: bad request: {}", ec.message());
            break;
        }
        auto res = respond(parser.get(), stats_, cfg_);
        stream.expires_after(http_idle_timeout);
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
    stream.socket().close(ignored);
}

} // namespace hashsrv
