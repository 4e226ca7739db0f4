// SPDX-License-Identifier: BSL-1.0
#include "server/listener.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>

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

} // namespace hashsrv
