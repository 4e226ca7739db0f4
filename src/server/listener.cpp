// SPDX-License-Identifier: BSL-1.0
#include "server/listener.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include <sys/socket.h>

namespace hashsrv {

namespace asio = boost::asio;
using asio::ip::tcp;

std::string describe(tcp::endpoint const& ep)
{
    auto a = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port());
}

namespace {

void listen_on(acceptor& acc, tcp::endpoint const& ep, std::string const& what)
{
    try {
        acc.open(ep.protocol());
        acc.set_option(tcp::acceptor::reuse_address(true));
        if (ep.address().is_v6() && ep.address().is_unspecified())
            acc.set_option(asio::ip::v6_only(false)); // one socket for IPv6 and IPv4
        acc.bind(ep);
        acc.listen(asio::socket_base::max_listen_connections);
        acc.non_blocking(true); // an accept loop may try accept4 before it waits
    } catch (boost::system::system_error const& e) {
        boost::system::error_code ignored;
        acc.close(ignored);
        throw listen_error(e.code(), (what.empty() ? "cannot listen on" : what) + " " + describe(ep));
    }
}

} // namespace

acceptor listen(asio::any_io_executor const& ex, std::string_view address, std::uint16_t port, std::string const& what)
{
    acceptor acc(ex);
    if (!address.empty()) {
        listen_on(acc, {asio::ip::make_address(address), port}, what);
        return acc;
    }
    try {
        listen_on(acc, {tcp::v6(), port}, what);
    } catch (listen_error const& e) {
        if (e.code != asio::error::address_family_not_supported) throw;
        listen_on(acc, {tcp::v4(), port}, what); // a host without IPv6
    }
    return acc;
}

acceptor adopt(asio::any_io_executor const& ex, int fd, std::string const& what)
{
    auto fail = [&](std::string const& why) {
        return listen_error(boost::system::errc::make_error_code(boost::system::errc::invalid_argument),
                            what + " (descriptor " + std::to_string(fd) + ") " + why);
    };
    // A unit's ListenDatagram= or a unix socket would be accepted by assign()
    // and fail only at the first accept: check what systemd handed us.
    int listening = 0, type = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0)
        throw fail("is not a listening socket");
    len = sizeof type;
    ::sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
        ::getsockname(fd, reinterpret_cast<::sockaddr*>(&addr), &addr_len) != 0 ||
        (addr.ss_family != AF_INET && addr.ss_family != AF_INET6))
        throw fail("is not a TCP socket");
    acceptor acc(ex);
    try {
        acc.assign(addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd);
        acc.non_blocking(true); // an accept loop may try accept4 before it waits
    } catch (boost::system::system_error const& e) {
        throw listen_error(e.code(), what + " (descriptor " + std::to_string(fd) + ")");
    }
    return acc;
}

} // namespace hashsrv
