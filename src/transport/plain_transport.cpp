// SPDX-License-Identifier: BSL-1.0
#include "transport/plain_transport.hpp"

#include "transport/descriptor_io.hpp"

#include <algorithm>

#include <sys/socket.h>
#include <unistd.h>

namespace hashsrv {

namespace asio = boost::asio;
using asio::ip::tcp;

plain_transport::plain_transport(int fd, asio::any_io_executor ex, tcp protocol, std::chrono::milliseconds idle_timeout,
                                 idle_deadline& deadline)
    : transport(fd, idle_timeout, deadline), ex_(std::move(ex)), protocol_(protocol)
{
}

plain_transport::~plain_transport() { close(); }

plain_transport::result plain_transport::try_read(asio::mutable_buffer b)
{
    auto [ec, n] = descriptor_io::try_receive(fd(), asio::buffer(b, max_read));
    if (descriptor_io::would_block(ec)) return {asio::error::would_block, 0};
    touch();
    return {ec, n};
}

asio::awaitable<plain_transport::error_code> plain_transport::wait_readable()
{
    if (auto ec = hand_to_asio()) co_return ec;
    auto [ec] = co_await sock_->async_wait(tcp::socket::wait_read);
    co_return ec;
}

// A small upload's end (the FIN) mostly comes with its bytes, so one read
// after the first is still tried on the descriptor: such a connection never
// registers with epoll. Only one: Asio's reads go through the I/O loop's
// queue, so a fast uploader cannot keep the I/O thread to itself.
asio::awaitable<plain_transport::result> plain_transport::read_some(asio::mutable_buffer b, bool refresh)
{
    b = asio::buffer(b, max_read);
    if (refresh) touch();
    if (!sock_ && !std::exchange(tried_second_read_, true)) {
        auto r = descriptor_io::try_receive(fd(), b);
        if (!descriptor_io::would_block(std::get<0>(r))) {
            if (refresh) touch();
            co_return r;
        }
    }
    if (auto ec = hand_to_asio()) co_return result{ec, 0};
    auto r = co_await sock_->async_read_some(b);
    if (refresh) touch();
    co_return r;
}

asio::awaitable<plain_transport::error_code> plain_transport::write(std::string_view data)
{
    touch();
    // Most replies fit the socket's send buffer: a non-blocking send takes
    // them without a round trip through the I/O loop.
    auto [ec, sent] = descriptor_io::try_send(fd(), asio::buffer(data));
    if (descriptor_io::would_block(ec)) ec = {};
    if (!ec) progress(data, sent);
    // The rest piece by piece rather than with one async_write: every piece
    // the client takes is activity.
    while (!ec && sent < data.size() && !(ec = hand_to_asio())) {
        auto [wec, n] = co_await sock_->async_write_some(asio::buffer(data.substr(sent)));
        ec = wec;
        sent += n;
        progress(data, sent);
    }
    touch();
    co_return ec;
}

void plain_transport::send_notice(std::string_view line) noexcept
{
    if (!torn_) descriptor_io::try_send(fd(), asio::buffer(line));
}

void plain_transport::cancel() noexcept
{
    error_code ignored;
    if (sock_) sock_->cancel(ignored);
}

void plain_transport::shutdown() noexcept
{
    ::shutdown(fd(), SHUT_RDWR);
    cancel();
}

// An epoll_ctl ADD, which fails only when the kernel is out of memory.
plain_transport::error_code plain_transport::hand_to_asio()
{
    if (sock_) return {};
    error_code ec;
    sock_.emplace(ex_).assign(protocol_, fd(), ec);
    if (ec) sock_.reset(); // the descriptor stays ours to close
    return ec;
}

// A write done at once (the usual case) costs no system call here.
void plain_transport::progress(std::string_view data, std::size_t sent)
{
    bool const waits = sent < data.size();
    torn_ = waits && sent > 0 && data[sent - 1] != '\n';
    if (waits && sent > 0) touch();
    set_writing(waits);
}

// Unread bytes would turn the FIN into a reset (descriptor_io::discard_unread).
void plain_transport::close() noexcept
{
    descriptor_io::discard_unread(fd());
    error_code ignored;
    if (sock_) sock_->close(ignored); // Asio's, since the connection waited on it
    else ::close(fd());
}

bool plain_transport::nothing_waiting() noexcept { return descriptor_io::unread(fd()) == 0; }

} // namespace hashsrv
