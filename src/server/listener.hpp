// SPDX-License-Identifier: BSL-1.0
// Listening sockets, the same way for the hash port and the metrics port.
#pragma once

#include <hashsrv/use_tuple.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace hashsrv {

/// A socket that cannot listen: the operator's message (the address and the
/// system's reason, without Boost's source location) and the error code.
struct listen_error : std::runtime_error {
    listen_error(boost::system::error_code ec, std::string const& what)
        : std::runtime_error(what + ": " + ec.message()), code(ec)
    {
    }
    boost::system::error_code code;
};

using acceptor = with_tuple<boost::asio::ip::tcp::acceptor>;

/// "[::1]:8080" or "127.0.0.1:8080".
std::string describe(boost::asio::ip::tcp::endpoint const& ep);

/// A non-blocking listener on `address` (every IPv6 and IPv4 address when
/// empty, IPv4 alone on a host without IPv6) and `port`, with the system's
/// largest backlog. Throws listen_error, whose message starts with `what`
/// ("cannot listen on" when empty) and names the address.
acceptor listen(boost::asio::any_io_executor const& ex, std::string_view address, std::uint16_t port,
                std::string const& what = {});

/// Takes over `fd`, a listening TCP socket bound by someone else (systemd's
/// socket activation). Throws listen_error, naming `what` and the descriptor,
/// when it is not a listening IPv4 or IPv6 stream socket.
acceptor adopt(boost::asio::any_io_executor const& ex, int fd, std::string const& what);

} // namespace hashsrv
