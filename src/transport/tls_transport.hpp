// SPDX-License-Identifier: BSL-1.0
// A TLS connection as the protocols see it (transport.hpp): Asio's SSL stream
// over the accepted socket, which is registered with the I/O loop at once (a
// handshake always waits for the client). The socket is non-blocking for our
// own synchronous calls, so that try_read and send_notice never wait.
#pragma once

#include "transport/transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>

namespace hashsrv {

class tls_transport final : public transport {
public:
    /// Takes the accepted, non-blocking `fd`. `ex`: the session's strand.
    /// `ctx` is held for as long as the connection lives: a reload (SIGHUP)
    /// replaces the server's context for new connections only.
    tls_transport(int fd, boost::asio::any_io_executor ex, boost::asio::ip::tcp protocol,
                  std::shared_ptr<boost::asio::ssl::context> ctx, std::chrono::milliseconds idle_timeout,
                  idle_deadline& deadline);
    ~tls_transport() override;

    /// The server's side of the handshake, bounded by the idle deadline (the
    /// sweep cancels it like any other wait). Its steps run on `pool` (the
    /// key exchange and signature are its CPU); the waits for the client hold
    /// no pool thread. Resumes the caller on its own executor.
    boost::asio::awaitable<error_code> handshake(boost::asio::thread_pool::executor_type pool);

    result try_read(boost::asio::mutable_buffer b) override;
    boost::asio::awaitable<error_code> wait_readable() override;
    boost::asio::awaitable<result> read_some(boost::asio::mutable_buffer b, bool refresh = true) override;
    boost::asio::awaitable<error_code> write(std::string_view data) override;
    void send_notice(std::string_view line) noexcept override;
    void cancel() noexcept override;
    void shutdown() noexcept override;
    bool nothing_waiting() noexcept override;

private:
    boost::asio::awaitable<error_code> handshake_steps();
    void progress(std::string_view data, std::size_t sent);
    void close() noexcept;

    std::shared_ptr<boost::asio::ssl::context> ctx_;
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
    error_code assign_error_;   // the socket could not be registered with the I/O loop
    bool secured_ = false;      // the handshake is done
    bool torn_ = false;         // the client has part of a reply line, not the rest
    bool closed_ = false;       // shut down: no close_notify, no drain
};

} // namespace hashsrv
