// SPDX-License-Identifier: BSL-1.0
// The PROXY protocol header that a load balancer (HAProxy's `send-proxy` and
// `send-proxy-v2`) sends ahead of its client's bytes, so that the server
// learns the client's address. Both versions: v1 (a text line) and v2
// (binary). Pure: parses the bytes received so far; no sockets.
// The format: https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hashsrv::framing {

struct proxy_header {
    enum class state { incomplete, invalid, complete };
    state status = state::incomplete;
    /// When complete: the header's length; the client's bytes start after it.
    std::size_t size = 0;
    /// The client. None for a LOCAL v2 header (the balancer's own health
    /// check), for `PROXY UNKNOWN` and for families other than TCP over IP:
    /// the connection's own peer stands then.
    std::optional<boost::asio::ip::tcp::endpoint> source;
    /// When invalid: why, for the log.
    std::string_view error;
};

/// A v1 line is at most 107 bytes with its CRLF (the specification's bound).
inline constexpr std::size_t proxy_v1_max = 107;
/// A v2 header is 16 bytes plus its addresses and TLVs; more than this many
/// bytes of TLVs is refused rather than buffered.
inline constexpr std::size_t proxy_v2_max = 16 + 1024;

namespace detail {

inline constexpr std::string_view proxy_v1_prefix = "PROXY ";
inline constexpr std::string_view proxy_v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};

inline proxy_header proxy_invalid(std::string_view why) { return {proxy_header::state::invalid, 0, std::nullopt, why}; }

/// Decimal 0..65535 without sign, spaces or leading zeros.
inline std::optional<std::uint16_t> proxy_port(std::string_view s)
{
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    std::uint32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

/// The next space-separated field of `line`, removed from it.
inline std::string_view proxy_field(std::string_view& line)
{
    auto sp = line.find(' ');
    auto field = line.substr(0, sp);
    line.remove_prefix(sp == std::string_view::npos ? line.size() : sp + 1);
    return field;
}

/// "PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n", or "PROXY UNKNOWN ...\r\n".
inline proxy_header parse_proxy_v1(std::string_view bytes)
{
    auto end = bytes.substr(0, proxy_v1_max).find("\r\n");
    if (end == std::string_view::npos)
        return bytes.size() < proxy_v1_max ? proxy_header{} : proxy_invalid("v1 line longer than 107 bytes");
    std::string_view line = bytes.substr(proxy_v1_prefix.size(), end - proxy_v1_prefix.size());
    proxy_header h{proxy_header::state::complete, end + 2, std::nullopt, {}};
    auto family = proxy_field(line);
    if (family == "UNKNOWN") return h; // the rest of the line is to be ignored
    if (family != "TCP4" && family != "TCP6") return proxy_invalid("v1: family other than TCP4, TCP6, UNKNOWN");
    auto src = proxy_field(line), dst = proxy_field(line), sport = proxy_field(line), dport = line;
    boost::system::error_code ec, ec2;
    auto src_addr = boost::asio::ip::make_address(std::string(src), ec);
    auto dst_addr = boost::asio::ip::make_address(std::string(dst), ec2);
    if (ec || ec2 || src_addr.is_v4() != (family == "TCP4") || dst_addr.is_v4() != src_addr.is_v4())
        return proxy_invalid("v1: bad address");
    auto port = proxy_port(sport);
    if (!port || !proxy_port(dport)) return proxy_invalid("v1: bad port");
    h.source = boost::asio::ip::tcp::endpoint(src_addr, *port);
    return h;
}

inline std::uint16_t proxy_be16(std::string_view b, std::size_t at)
{
    return static_cast<std::uint16_t>((static_cast<unsigned char>(b[at]) << 8) | static_cast<unsigned char>(b[at + 1]));
}

/// The address block of a complete v2 PROXY header (`bytes` holds all of it).
inline proxy_header parse_proxy_v2_addresses(std::string_view bytes, std::size_t size)
{
    proxy_header h{proxy_header::state::complete, size, std::nullopt, {}};
    auto const family = static_cast<unsigned char>(bytes[13]);
    auto const length = size - 16;
    if (family == 0x11) { // TCP over IPv4: source, destination, source port, destination port
        if (length < 12) return proxy_invalid("v2: TCP4 addresses truncated");
        std::array<unsigned char, 4> a;
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<unsigned char>(bytes[16 + i]);
        h.source = boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4(a), proxy_be16(bytes, 24));
    } else if (family == 0x21) { // TCP over IPv6
        if (length < 36) return proxy_invalid("v2: TCP6 addresses truncated");
        std::array<unsigned char, 16> a;
        for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<unsigned char>(bytes[16 + i]);
        h.source = boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v6(a), proxy_be16(bytes, 48));
    }
    // UNSPEC, UDP, unix sockets: accepted, the connection's own peer stands.
    return h;
}

inline proxy_header parse_proxy_v2(std::string_view bytes)
{
    if (bytes.size() < 16) return {};
    auto const version_command = static_cast<unsigned char>(bytes[12]);
    if ((version_command >> 4) != 2) return proxy_invalid("v2: version other than 2");
    auto const command = version_command & 0x0F;
    if (command > 1) return proxy_invalid("v2: command other than LOCAL or PROXY");
    std::size_t const size = 16 + std::size_t{proxy_be16(bytes, 14)};
    if (size > proxy_v2_max) return proxy_invalid("v2: header longer than 1040 bytes");
    if (bytes.size() < size) return {};
    if (command == 0) return {proxy_header::state::complete, size, std::nullopt, {}}; // LOCAL
    return parse_proxy_v2_addresses(bytes, size);
}

/// Whether `bytes` could still become `prefix` (it is a prefix of it).
inline bool proxy_may_become(std::string_view bytes, std::string_view prefix)
{
    return prefix.substr(0, bytes.size()) == bytes.substr(0, prefix.size());
}

} // namespace detail

/// A v2 LOCAL header: "this connection is the balancer's own" (a health
/// check); the server serves it as coming from its peer.
inline constexpr std::string_view proxy_v2_local{"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16};

/// The PROXY header at the front of `bytes` (everything received so far):
/// complete (with its size and the client), invalid, or incomplete (read more
/// and call again with all of it).
inline proxy_header parse_proxy_header(std::string_view bytes)
{
    using namespace detail;
    if (!bytes.empty() && bytes[0] == 'P') {
        if (!proxy_may_become(bytes, proxy_v1_prefix)) return proxy_invalid("no PROXY header");
        return bytes.size() < proxy_v1_prefix.size() ? proxy_header{} : parse_proxy_v1(bytes);
    }
    if (!proxy_may_become(bytes, proxy_v2_signature)) return proxy_invalid("no PROXY header");
    return bytes.size() < proxy_v2_signature.size() ? proxy_header{} : parse_proxy_v2(bytes);
}

} // namespace hashsrv::framing
