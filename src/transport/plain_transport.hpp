// SPDX-License-Identifier: BSL-1.0
// A plain TCP connection as the protocols see it: read, write, wait, with the
// idle deadline and a close that does not destroy a reply in flight.
//
// Reads and writes are tried on the descriptor first (descriptor_io.hpp), so
// a request whose bytes came with the connect and whose reply fits the send
// buffer is served without the I/O loop; the descriptor becomes an Asio
// socket the first time the connection has to wait. A TLS transport offers
// the same members over an SSL stream.
#pragma once

#include "transport/idle_deadline.hpp"

#include <hashsrv/use_tuple.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <tuple>

namespace hashsrv {

class plain_transport {
public:
    using error_code = boost::system::error_code;
    using result = std::tuple<error_code, std::size_t>;
    using clock = std::chrono::steady_clock;

    /// The most one read copies, whatever the caller's buffer: a recv of
    /// megabytes would keep the I/O thread from every other connection for a
    /// millisecond or more; 256 KiB is ~50-100 us of copying.
    static constexpr std::size_t max_read = 256 * 1024;

    /// Takes the accepted, non-blocking `fd`. `ex`: the session's strand.
    /// Activity moves `deadline` to now + `idle_timeout`; whoever watches it
    /// (the server's sweep) ends the waits of a connection silent too long
    /// with cancel(): no timer per connection, nor per wait.
    plain_transport(int fd, boost::asio::any_io_executor ex, boost::asio::ip::tcp protocol,
                    std::chrono::milliseconds idle_timeout, idle_deadline& deadline);
    ~plain_transport();
    plain_transport(plain_transport const&) = delete;
    plain_transport& operator=(plain_transport const&) = delete;

    /// One read that never waits: error::would_block when nothing has arrived,
    /// error::eof at the end of the stream.
    result try_read(boost::asio::mutable_buffer b);
    /// Waits until the socket is readable; not activity in itself.
    boost::asio::awaitable<error_code> wait_readable();
    /// `refresh`: whether these bytes count as activity for the idle deadline.
    boost::asio::awaitable<result> read_some(boost::asio::mutable_buffer b, bool refresh = true);
    /// Writes all of `data` (a slow but steady reader is activity throughout).
    boost::asio::awaitable<error_code> write(std::string_view data);
    /// Sends `line` if the socket takes it at once and no reply line was left
    /// half written (it would be glued to it: a wrong digest, not an error).
    void send_notice(std::string_view line) noexcept;

    /// Ends the waits in progress (error::operation_aborted).
    void cancel() noexcept;
    /// Shuts both directions: whatever is in progress finds the connection closed.
    void shutdown() noexcept;

    /// Activity: the idle deadline moves to now + the idle timeout.
    void touch() noexcept
    {
        if (idle_timeout_.count() > 0) deadline_.set(clock::now() + idle_timeout_);
    }
    clock::time_point deadline() const noexcept { return deadline_.get(); }
    void extend_deadline(clock::time_point t) noexcept { deadline_.extend(t); }
    std::chrono::milliseconds idle_timeout() const noexcept { return idle_timeout_; }
    /// Whether a write waits and the client has taken some of what the socket
    /// held since the last look: a slow reader is not silent although the
    /// kernel wakes a writer only once much of its send buffer is free.
    bool reply_taken() noexcept;

    std::optional<boost::asio::ip::tcp::endpoint> peer() const;

private:
    using socket = with_tuple<boost::asio::ip::tcp::socket>;

    error_code hand_to_asio();
    void progress(std::string_view data, std::size_t sent);
    void close() noexcept;

    int fd_;
    boost::asio::any_io_executor ex_;
    boost::asio::ip::tcp protocol_;
    std::optional<socket> sock_; // once handed to Asio
    std::chrono::milliseconds idle_timeout_;
    idle_deadline& deadline_;
    bool tried_second_read_ = false;
    bool torn_ = false;         // the socket took part of a reply line, not the rest
    bool writing_ = false;      // a write waits for room in the socket
    std::size_t in_flight_ = 0; // bytes the socket held at the last look
};

} // namespace hashsrv
