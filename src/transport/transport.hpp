// SPDX-License-Identifier: BSL-1.0
// A connection as the protocols see it: read, write, wait, with the idle
// deadline and a close that does not destroy a reply in flight. Two kinds:
// plain_transport (TCP, descriptor first) and tls_transport (an SSL stream).
// The protocols are written once against this interface; a virtual call is
// nothing beside the system call behind each of these members.
#pragma once

#include "transport/idle_deadline.hpp"

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

class transport {
public:
    using error_code = boost::system::error_code;
    using result = std::tuple<error_code, std::size_t>;
    using clock = std::chrono::steady_clock;

    /// The most one read copies, whatever the caller's buffer: a recv of
    /// megabytes would keep the I/O thread from every other connection for a
    /// millisecond or more. 64 KiB, a pool slice's worth, keeps each read's
    /// copy well under 100 us; a full-speed upload makes four reads where a
    /// 256 KiB bound made one, which its throughput does not show.
    static constexpr std::size_t max_read = 64 * 1024;

    /// `fd`: the connection's descriptor, which the subclass owns and closes.
    /// Activity moves `deadline` to now + `idle_timeout`; whoever watches it
    /// (the server's sweep) ends the waits of a connection silent too long
    /// with cancel(): no timer per connection, nor per wait.
    transport(int fd, std::chrono::milliseconds idle_timeout, idle_deadline& deadline) noexcept
        : idle_timeout_(idle_timeout), deadline_(deadline), fd_(fd)
    {
        touch();
    }
    virtual ~transport() = default;
    transport(transport const&) = delete;
    transport& operator=(transport const&) = delete;

    /// One read that never waits: error::would_block when nothing has arrived,
    /// error::eof at the end of the stream.
    virtual result try_read(boost::asio::mutable_buffer b) = 0;
    /// Waits until there may be something to read; not activity in itself.
    virtual boost::asio::awaitable<error_code> wait_readable() = 0;
    /// `refresh`: whether these bytes count as activity for the idle deadline.
    virtual boost::asio::awaitable<result> read_some(boost::asio::mutable_buffer b, bool refresh = true) = 0;
    /// Writes all of `data` (a slow but steady reader is activity throughout).
    virtual boost::asio::awaitable<error_code> write(std::string_view data) = 0;
    /// Sends `line` if it can go at once and no reply line was left half
    /// written (it would be glued to it: a wrong digest, not an error).
    virtual void send_notice(std::string_view line) noexcept = 0;

    /// Ends the waits in progress (error::operation_aborted).
    virtual void cancel() noexcept = 0;
    /// Shuts both directions: whatever is in progress finds the connection closed.
    virtual void shutdown() noexcept = 0;
    /// Whether a write waits and the client has taken some of what the socket
    /// held since the last look: a slow reader is not silent although the
    /// kernel wakes a writer only once much of its send buffer is free.
    bool reply_taken() noexcept;
    std::optional<boost::asio::ip::tcp::endpoint> peer() const;
    /// Whether nothing more has arrived to read right now.
    virtual bool nothing_waiting() noexcept = 0;

    /// Activity: the idle deadline moves to now + the idle timeout.
    void touch() noexcept
    {
        if (idle_timeout_.count() > 0) deadline_.set(clock::now() + idle_timeout_);
    }
    clock::time_point deadline() const noexcept { return deadline_.get(); }
    void extend_deadline(clock::time_point t) noexcept { deadline_.extend(t); }
    std::chrono::milliseconds idle_timeout() const noexcept { return idle_timeout_; }

protected:
    int fd() const noexcept { return fd_; }
    bool writing() const noexcept { return writing_; }
    /// Whether a write waits for room in the socket; while one does, what
    /// the socket holds is looked at for reply_taken().
    void set_writing(bool waits) noexcept;
    /// Takes a fresh look at what the socket holds (a write made progress).
    void look_at_socket() noexcept;

private:
    std::chrono::milliseconds idle_timeout_;
    idle_deadline& deadline_;
    int fd_;
    bool writing_ = false;      // a write waits for room in the socket
    std::size_t in_flight_ = 0; // bytes the socket held at the last look
};

} // namespace hashsrv
