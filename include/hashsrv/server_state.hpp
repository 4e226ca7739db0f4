// SPDX-License-Identifier: BSL-1.0
// What a running server tells its health check (`--state-file`, read by
// `hash_client --check`): where it answers and how, whatever the
// configuration came from (command line, environment, config file). One
// `key=value` per line, so a shell can read it too.
#pragma once

#include <hashsrv/framing/protocol.hpp>
#include <hashsrv/hash/algorithm.hpp>
#include <hashsrv/parse.hpp>

#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hashsrv {

struct server_state {
    std::string host = "127.0.0.1"; // an address of the server's to connect to
    std::uint16_t port = 0;
    protocol proto = protocol::oneshot;
    algorithm hash = algorithm::fnv1a;
    bool tls = false;
    bool proxy_protocol = false; // a connection must start with a PROXY header
    long pid = 0;
};

inline std::string format_state(server_state const& s)
{
    std::ostringstream out;
    out << "# hash_server's endpoint, for `hash_client --check`\n"
        << "pid=" << s.pid << "\nhost=" << s.host << "\nport=" << s.port << "\nprotocol=" << to_string(s.proto)
        << "\nhash=" << to_string(s.hash) << "\ntls=" << (s.tls ? "on" : "off")
        << "\nproxy_protocol=" << (s.proxy_protocol ? "on" : "off") << "\n";
    return out.str();
}

/// Throws std::invalid_argument on a malformed or incomplete state.
inline server_state parse_state(std::string_view text)
{
    server_state s;
    bool has_port = false;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        auto eq = line.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("not key=value: '" + line + "'");
        auto key = line.substr(0, eq), value = line.substr(eq + 1);
        if (key == "host") s.host = value;
        else if (key == "port") {
            s.port = parse_port(value);
            has_port = true;
        } else if (key == "protocol") {
            if (value == "oneshot") s.proto = protocol::oneshot;
            else if (value == "stream") s.proto = protocol::stream;
            else if (value == "lines") s.proto = protocol::lines;
            else throw std::invalid_argument("protocol: '" + value + "'");
        } else if (key == "hash") {
            auto a = parse_algorithm(value);
            if (!a) throw std::invalid_argument("hash: '" + value + "'");
            s.hash = *a;
        } else if (key == "tls") s.tls = value == "on";
        else if (key == "proxy_protocol") s.proxy_protocol = value == "on";
        else if (key == "pid") s.pid = static_cast<long>(parse_unsigned(value, "a process id"));
        // Other keys: written by a newer server; not needed for the check.
    }
    if (!has_port || s.host.empty()) throw std::invalid_argument("no host or port");
    return s;
}

} // namespace hashsrv
