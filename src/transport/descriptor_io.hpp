// SPDX-License-Identifier: BSL-1.0
// Non-blocking tries on a connection's descriptor, for the requests that
// never wait. Asio 1.81 registers every accepted socket with epoll (an
// epoll_ctl ADD, and a DEL at close because an assigned descriptor may be a
// dup) and makes it non-blocking with an ioctl before its first try: three
// system calls that a one-shot request whose bytes came with the connect does
// not need, at about 3% of such a request's CPU each. The server accepts
// with accept4 and the session hands its descriptor to an Asio socket the
// first time it must wait.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <cerrno>
#include <cstddef>
#include <optional>
#include <tuple>

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hashsrv::descriptor_io {

using boost::system::error_code;

inline error_code last_error() { return {errno, boost::asio::error::get_system_category()}; }

/// Accepts one pending connection, non-blocking and close-on-exec from the
/// start; error::would_block when none is pending.
inline std::tuple<error_code, int> try_accept(int listener)
{
    for (;;) {
        int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) return {error_code{}, fd};
        if (errno != EINTR) return {last_error(), -1};
    }
}

/// One recv that never blocks: error::eof at the end of the stream,
/// error::would_block when nothing has arrived. `flags` adds to MSG_DONTWAIT
/// (MSG_PEEK: look, and leave the bytes in the socket).
inline std::tuple<error_code, std::size_t> try_receive(int fd, boost::asio::mutable_buffer b, int flags = 0)
{
    for (;;) {
        auto n = ::recv(fd, b.data(), b.size(), MSG_DONTWAIT | flags);
        if (n > 0) return {error_code{}, static_cast<std::size_t>(n)};
        if (n == 0) return {b.size() == 0 ? error_code{} : boost::asio::error::eof, 0};
        if (errno != EINTR) return {last_error(), 0};
    }
}

/// One send that never blocks and never raises SIGPIPE; it may send less
/// than all (error::would_block when nothing fits).
inline std::tuple<error_code, std::size_t> try_send(int fd, boost::asio::const_buffer b)
{
    for (;;) {
        auto n = ::send(fd, b.data(), b.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) return {error_code{}, static_cast<std::size_t>(n)};
        if (errno != EINTR) return {last_error(), 0};
    }
}

/// Bytes received and not yet read (0 when it cannot tell).
inline std::size_t unread(int fd)
{
    int n = 0;
    if (::ioctl(fd, FIONREAD, &n) != 0 || n < 0) return 0;
    return static_cast<std::size_t>(n);
}

/// The connection's peer, if the system still knows it.
inline std::optional<boost::asio::ip::tcp::endpoint> peer(int fd)
{
    boost::asio::ip::tcp::endpoint ep;
    auto size = static_cast<socklen_t>(ep.capacity());
    if (::getpeername(fd, ep.data(), &size) != 0) return std::nullopt;
    ep.resize(size);
    return ep;
}

/// Bytes written and not yet acknowledged by the peer (0 when it cannot tell).
inline std::size_t unacknowledged(int fd)
{
    int n = 0;
    if (::ioctl(fd, SIOCOUTQ, &n) != 0 || n < 0) return 0;
    return static_cast<std::size_t>(n);
}

inline bool would_block(error_code const& ec)
{
    return ec == boost::asio::error::would_block || ec == boost::asio::error::try_again;
}

/// Bytes the client sent beyond what was read would make close() send a
/// reset instead of a FIN, which can destroy the reply in flight: when there
/// are any, half-close and discard them. The usual case costs one ioctl.
inline void discard_unread(int fd)
{
    if (unread(fd) == 0) return;
    ::shutdown(fd, SHUT_WR);
    std::array<char, 4096> sink;
    for (int i = 0; i < 256 && unread(fd) > 0; ++i)
        if (std::get<0>(try_receive(fd, boost::asio::buffer(sink)))) break;
}

} // namespace hashsrv::descriptor_io
