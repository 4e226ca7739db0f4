// SPDX-License-Identifier: BSL-1.0
#include "app/state_file.hpp"

#include <hashsrv/server_state.hpp>

#include <boost/asio/ip/address.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include <unistd.h>

namespace hashsrv {

namespace {

/// An address of ours that a local client can connect to: loopback when
/// the server listens on every address (however the wildcard was written).
std::string local_address(std::string const& bind)
{
    if (bind.empty()) return "127.0.0.1";
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(bind, ec);
    if (ec || !a.is_unspecified()) return bind;
    return a.is_v4() ? "127.0.0.1" : "::1";
}

} // namespace

bool write_state_file(config const& cfg, std::uint16_t port)
{
    if (cfg.state_file.empty()) return true;
    server_state s;
    s.host = local_address(cfg.bind);
    s.port = port;
    s.proto = cfg.proto;
    s.hash = cfg.hash;
    s.tls = cfg.tls.enabled();
    s.proxy_protocol = cfg.proxy_protocol;
    s.pid = static_cast<long>(::getpid());
    auto const temporary = cfg.state_file + ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << format_state(s);
        out.flush();
        if (!out) {
            std::cerr << "hash_server: --state-file: cannot write " << temporary << ": " << std::strerror(errno) << "\n";
            return false;
        }
    }
    if (std::rename(temporary.c_str(), cfg.state_file.c_str()) != 0) {
        std::cerr << "hash_server: --state-file: cannot rename " << temporary << " to " << cfg.state_file << ": "
                  << std::strerror(errno) << "\n";
        std::remove(temporary.c_str());
        return false;
    }
    return true;
}

void remove_state_file(config const& cfg)
{
    if (!cfg.state_file.empty()) std::remove(cfg.state_file.c_str());
}

} // namespace hashsrv
