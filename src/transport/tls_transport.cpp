// SPDX-License-Identifier: BSL-1.0
#include "transport/tls_transport.hpp"

#include "transport/descriptor_io.hpp"

#include <hashsrv/run_on.hpp>
#include <hashsrv/use_tuple.hpp>

#include <openssl/ssl.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace hashsrv {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;

tls_transport::tls_transport(int fd, asio::any_io_executor ex, tcp protocol, std::shared_ptr<ssl::context> ctx,
                             std::chrono::milliseconds idle_timeout, idle_deadline& deadline)
    : transport(fd, idle_timeout, deadline), ctx_(std::move(ctx)), stream_(tcp::socket(ex), *ctx_)
{
    // A handshake always waits for the client: the socket joins the I/O loop
    // at once. Non-blocking for our own calls: try_read must never wait.
    stream_.next_layer().assign(protocol, fd, assign_error_);
    if (!assign_error_) stream_.next_layer().non_blocking(true, assign_error_);
}

tls_transport::~tls_transport() { close(); }

namespace {

// For comparison only (bench/run scenario 7), not a configuration:
// HASHSRV_BENCH_HANDSHAKE_ON_IO_THREAD=1 runs the handshake's steps on the
// session's strand, as a server without the hop would.
bool handshake_on_io_thread()
{
    static bool const on_io = [] {
        char const* v = std::getenv("HASHSRV_BENCH_HANDSHAKE_ON_IO_THREAD");
        return v != nullptr && std::string_view(v) == "1";
    }();
    return on_io;
}

} // namespace

// The hop without a pool slot: a handshake waits for the client between its
// steps, and stalled handshakes holding slots would stop every hash.
asio::awaitable<tls_transport::error_code> tls_transport::handshake(asio::thread_pool::executor_type pool)
{
    if (assign_error_) co_return assign_error_;
    error_code ec;
    if (handshake_on_io_thread()) ec = co_await handshake_steps();
    else ec = co_await run_on(pool, handshake_steps());
    secured_ = !ec; // back on the session's strand, where send_notice reads it
    co_return ec;
}

// Runs on the pool: the SSL stream's steps complete on this coroutine's
// executor, so OpenSSL's work for each flight of the client runs there. It
// touches the stream alone; the strand only cancels or shuts the socket.
asio::awaitable<tls_transport::error_code> tls_transport::handshake_steps()
{
    auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, use_tuple);
    co_return ec;
}

// A synchronous read on the non-blocking socket: what OpenSSL holds already,
// else what the socket has, else would_block with the engine's state kept.
tls_transport::result tls_transport::try_read(asio::mutable_buffer b)
{
    error_code ec;
    auto n = stream_.read_some(asio::buffer(b, max_read), ec);
    if (descriptor_io::would_block(ec)) return {asio::error::would_block, 0};
    touch();
    return {ec, n};
}

asio::awaitable<tls_transport::error_code> tls_transport::wait_readable()
{
    if (::SSL_pending(stream_.native_handle()) > 0) co_return error_code{};
    auto [ec] = co_await stream_.next_layer().async_wait(tcp::socket::wait_read, use_tuple);
    co_return ec;
}

asio::awaitable<tls_transport::result> tls_transport::read_some(asio::mutable_buffer b, bool refresh)
{
    if (refresh) touch();
    auto r = co_await stream_.async_read_some(asio::buffer(b, max_read), use_tuple);
    if (refresh) touch();
    co_return r;
}

// Piece by piece: every piece the client takes is activity. Each piece is
// sealed and written whole by the SSL stream before it completes.
asio::awaitable<tls_transport::error_code> tls_transport::write(std::string_view data)
{
    touch();
    error_code ec;
    std::size_t sent = 0;
    set_writing(true);
    while (!ec && sent < data.size()) {
        auto [wec, n] = co_await stream_.async_write_some(asio::buffer(data.substr(sent)), use_tuple);
        ec = wec;
        sent += n;
        progress(data, sent);
    }
    set_writing(false);
    touch();
    co_return ec;
}

void tls_transport::progress(std::string_view data, std::size_t sent)
{
    torn_ = sent < data.size() && sent > 0 && data[sent - 1] != '\n';
    if (sent > 0) touch();
    look_at_socket();
}

// Best effort, and only between writes: a synchronous write that the socket
// cannot take whole is lost, which is acceptable for a connection we close.
void tls_transport::send_notice(std::string_view line) noexcept
{
    if (!secured_ || writing() || torn_ || closed_) return;
    error_code ignored;
    stream_.write_some(asio::buffer(line), ignored);
}

// During the handshake its steps run on the pool, and a cancel that falls
// between two of them would find no wait to end: the socket is shut too, so
// the next step finds it closed. Whoever cancels a handshake ends the connection.
void tls_transport::cancel() noexcept
{
    if (!secured_) ::shutdown(fd(), SHUT_RDWR);
    error_code ignored;
    stream_.next_layer().cancel(ignored);
}

void tls_transport::shutdown() noexcept
{
    closed_ = true;
    ::shutdown(fd(), SHUT_RDWR);
    cancel();
}

// A close_notify first, so that the client can tell our end from a cut
// (best effort: the socket is non-blocking); then as the plain transport.
void tls_transport::close() noexcept
{
    if (assign_error_) {
        if (!stream_.next_layer().is_open()) ::close(fd());
        else stream_.next_layer().close(assign_error_);
        return;
    }
    error_code ignored;
    if (secured_ && !closed_) stream_.shutdown(ignored);
    descriptor_io::discard_unread(fd());
    stream_.next_layer().close(ignored);
}

bool tls_transport::nothing_waiting() noexcept
{
    return ::SSL_pending(stream_.native_handle()) == 0 && descriptor_io::unread(fd()) == 0;
}

} // namespace hashsrv
