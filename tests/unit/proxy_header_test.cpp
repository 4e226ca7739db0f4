// SPDX-License-Identifier: BSL-1.0
// The PROXY protocol header parser (include/hashsrv/framing/proxy_header.hpp),
// with headers as HAProxy sends them (v1 `send-proxy`, v2 `send-proxy-v2`).
#include <hashsrv/framing/proxy_header.hpp>

#include <gtest/gtest.h>

#include <string>

using hashsrv::framing::parse_proxy_header;
using hashsrv::framing::proxy_header;
using state = proxy_header::state;

namespace {

std::string const v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};

/// A v2 header: version 2, `command`, `family`, then `addresses` (and TLVs).
std::string v2(unsigned char command, unsigned char family, std::string const& addresses)
{
    std::string h = v2_signature;
    h.push_back(static_cast<char>(0x20 | command));
    h.push_back(static_cast<char>(family));
    h.push_back(static_cast<char>(addresses.size() >> 8));
    h.push_back(static_cast<char>(addresses.size() & 0xFF));
    return h + addresses;
}

std::string bytes(std::initializer_list<int> b)
{
    std::string s;
    for (int c : b) s.push_back(static_cast<char>(c));
    return s;
}

/// Every proper prefix of a complete header asks for more bytes.
void expect_prefixes_incomplete(std::string const& header)
{
    for (std::size_t n = 0; n < header.size(); ++n)
        EXPECT_EQ(parse_proxy_header(std::string_view(header).substr(0, n)).status, state::incomplete) << n;
}

} // namespace

TEST(ProxyHeader, V1Tcp4AndTheRequestAfterIt)
{
    std::string const header = "PROXY TCP4 192.0.2.7 10.0.0.2 56324 8080\r\n";
    auto h = parse_proxy_header(header + "hello world\n");
    ASSERT_EQ(h.status, state::complete) << h.error;
    EXPECT_EQ(h.size, header.size());
    ASSERT_TRUE(h.source);
    EXPECT_EQ(h.source->address().to_string(), "192.0.2.7");
    EXPECT_EQ(h.source->port(), 56324);
    expect_prefixes_incomplete(header);
}

TEST(ProxyHeader, V1Tcp6AndUnknown)
{
    auto h = parse_proxy_header("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n");
    ASSERT_EQ(h.status, state::complete) << h.error;
    EXPECT_EQ(h.source->address().to_string(), "2001:db8::1");
    EXPECT_EQ(h.source->port(), 1);
    auto u = parse_proxy_header("PROXY UNKNOWN whatever follows\r\nx");
    EXPECT_EQ(u.status, state::complete);
    EXPECT_EQ(u.size, 32U);
    EXPECT_FALSE(u.source);
}

TEST(ProxyHeader, V1Invalid)
{
    for (std::string bad : {"GET / HTTP/1.1\r\n", "hello world\n", "PROXY TCP4 192.0.2.7 10.0.0.2 56324\r\n",
                            "PROXY TCP4 2001:db8::1 10.0.0.2 1 2\r\n", "PROXY TCP6 192.0.2.7 10.0.0.2 1 2\r\n",
                            "PROXY TCP4 192.0.2.7 10.0.0.2 65536 2\r\n", "PROXY TCP4 192.0.2.7 10.0.0.2 01 2\r\n",
                            "PROXY TCP4 192.0.2.7 10.0.0.2 1 2 3\r\n", "PROXY UDP4 192.0.2.7 10.0.0.2 1 2\r\n",
                            "PROXY TCP4 host 10.0.0.2 1 2\r\n", "PROXY  TCP4 192.0.2.7 10.0.0.2 1 2\r\n",
                            "PROXY TCP4 192.0.2.7 10.0.0.2 1 +2\r\n", "PROXy TCP4"})
        EXPECT_EQ(parse_proxy_header(bad).status, state::invalid) << bad;
    // No CRLF within the 107 bytes the specification allows.
    EXPECT_EQ(parse_proxy_header("PROXY UNKNOWN " + std::string(100, 'x')).status, state::invalid);
    EXPECT_EQ(parse_proxy_header("PROXY UNKNOWN " + std::string(80, 'x')).status, state::incomplete);
}

TEST(ProxyHeader, V2Tcp4)
{
    // 192.0.2.7:56324 -> 10.0.0.2:8080, then one TLV (PP2_TYPE_NOOP, 3 bytes), as HAProxy may add.
    auto header = v2(1, 0x11, bytes({192, 0, 2, 7, 10, 0, 0, 2, 0xDC, 0x04, 0x1F, 0x90, 0x04, 0x00, 0x03, 1, 2, 3}));
    auto h = parse_proxy_header(header + "hello");
    ASSERT_EQ(h.status, state::complete) << h.error;
    EXPECT_EQ(h.size, header.size());
    EXPECT_EQ(h.source->address().to_string(), "192.0.2.7");
    EXPECT_EQ(h.source->port(), 56324);
    expect_prefixes_incomplete(header);
}

TEST(ProxyHeader, V2Tcp6LocalAndUnspec)
{
    // 2001:db8::1 port 0x1234 -> 2001:db8::2 port 80
    std::string a = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    a += bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
    a += bytes({0x12, 0x34, 0x00, 0x50});
    auto h = parse_proxy_header(v2(1, 0x21, a));
    ASSERT_EQ(h.status, state::complete) << h.error;
    EXPECT_EQ(h.source->address().to_string(), "2001:db8::1");
    EXPECT_EQ(h.source->port(), 0x1234);
    // LOCAL: the balancer's own connection (a health check): no client address.
    auto local = parse_proxy_header(v2(0, 0x00, ""));
    EXPECT_EQ(local.status, state::complete);
    EXPECT_EQ(local.size, 16U);
    EXPECT_FALSE(local.source);
    auto unspec = parse_proxy_header(v2(1, 0x00, "abc"));
    EXPECT_EQ(unspec.status, state::complete);
    EXPECT_EQ(unspec.size, 19U);
    EXPECT_FALSE(unspec.source);
}

TEST(ProxyHeader, V2Invalid)
{
    auto wrong_version = v2(1, 0x11, std::string(12, '\0'));
    wrong_version[12] = 0x11;
    EXPECT_EQ(parse_proxy_header(wrong_version).status, state::invalid);
    EXPECT_EQ(parse_proxy_header(v2(2, 0x11, std::string(12, '\0'))).status, state::invalid); // no such command
    EXPECT_EQ(parse_proxy_header(v2(1, 0x11, std::string(11, '\0'))).status, state::invalid); // truncated
    EXPECT_EQ(parse_proxy_header(v2(1, 0x21, std::string(35, '\0'))).status, state::invalid);
    EXPECT_EQ(parse_proxy_header(v2(1, 0x11, std::string(2000, '\0'))).status, state::invalid); // too long to buffer
    EXPECT_EQ(parse_proxy_header(std::string("\r\n\r\nX")).status, state::invalid);
    EXPECT_EQ(parse_proxy_header(std::string("\x16\x03\x01", 3)).status, state::invalid); // a TLS ClientHello
}
