// SPDX-License-Identifier: BSL-1.0
// --proxy-protocol: behind a load balancer that sends a PROXY header (v1 or
// v2) ahead of its client's bytes, every protocol serves the bytes after the
// header, the client it names is the one logged and limited, and a
// connection without a valid header is closed unserved.
#include "http.hpp"
#include "polling.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <csignal>

#include <string>
#include <thread>
#include <vector>

using namespace test_support;
using namespace std::chrono_literals;

namespace {

std::string v1(std::string_view source) { return "PROXY TCP4 " + std::string(source) + " 127.0.0.1 40000 8080\r\n"; }

/// A v2 PROXY header (command PROXY, TCP over IPv4) naming 198.51.100.<last>:40000.
std::string v2(unsigned char last)
{
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h += std::string("\x21\x11\x00\x0c", 4);                  // v2 PROXY, TCP4, 12 bytes of addresses
    h += std::string("\xc6\x33\x64", 3) + static_cast<char>(last); // source 198.51.100.<last>
    h += std::string("\x7f\x00\x00\x01", 4);                  // destination 127.0.0.1
    h += std::string("\x9c\x40\x1f\x90", 4);                  // ports 40000, 8080
    return h;
}

/// Sends `bytes`, half-closes, returns everything that comes back.
std::string exchange(std::uint16_t port, std::string_view bytes)
{
    auto fd = connect_to(port);
    if (!fd || !send_all(fd.get(), bytes)) return "<connect or send failed>";
    shutdown_write(fd.get());
    return read_until_eof(fd.get(), 20s).data;
}

} // namespace

TEST(ProxyProtocol, EveryProtocolServesTheBytesAfterTheHeader)
{
    {
        server_process srv({"--proxy-protocol"});
        EXPECT_EQ(exchange(srv.port(), v1("203.0.113.7") + "hello world\n"), "782e1488cd5a68b7\n");
        EXPECT_EQ(exchange(srv.port(), v2(9) + "hello world\n"), "782e1488cd5a68b7\n");
        // The balancer's own check: a LOCAL header, then an ordinary request.
        EXPECT_EQ(exchange(srv.port(), std::string("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16) + "hello world\n"),
                  "782e1488cd5a68b7\n");
        srv.signal(SIGTERM);
        auto st = srv.wait_exit(30s);
        ASSERT_TRUE(st.has_value()) << log_tail(srv);
        EXPECT_TRUE(st->exited && st->code == 0) << log_tail(srv);
    }
    {
        server_process srv({"--proxy-protocol=on", "--protocol", "stream"});
        std::string const upload(3 << 20, 'x');
        EXPECT_EQ(exchange(srv.port(), v2(10) + upload), reference_digest("fnv1a", upload));
    }
    {
        server_process srv({"--proxy-protocol", "--protocol", "lines"});
        EXPECT_EQ(exchange(srv.port(), v1("203.0.113.8") + "hello world\nhello world\n"),
                  "782e1488cd5a68b7\n782e1488cd5a68b7\n");
    }
}

TEST(ProxyProtocol, AHeaderInPiecesIsWaitedFor)
{
    server_process srv({"--proxy-protocol"});
    auto fd = connect_to(srv.port());
    ASSERT_TRUE(fd);
    auto const header = v2(11);
    for (std::size_t at = 0; at < header.size(); at += 5) { // a byte past the signature, the length, the addresses
        ASSERT_TRUE(send_all(fd.get(), std::string_view(header).substr(at, 5)));
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(send_all(fd.get(), "hello world\n"));
    shutdown_write(fd.get());
    EXPECT_EQ(read_until_eof(fd.get(), 20s).data, "782e1488cd5a68b7\n");
}

TEST(ProxyProtocol, NoValidHeaderIsClosedUnservedAndCounted)
{
    server_process srv({"--proxy-protocol", "--metrics-port", "0", "--log-level", "debug"});
    auto const mport = metrics_port(srv);
    // A client that came around the balancer, a broken v1 line, a v2 header of another version.
    for (std::string const& bad : {std::string("hello world\n"), std::string("PROXY TCP4 nonsense\r\nhello world\n"),
                                  std::string("\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x0c", 16) + std::string(12, '\0')}) {
        auto reply = exchange(srv.port(), bad);
        EXPECT_EQ(reply, "") << "served without a valid header: " << reply;
    }
    EXPECT_TRUE(eventually([&] { return sample(scrape(mport), "hash_server_proxy_header_errors_total") == 3; }))
        << scrape(mport);
    EXPECT_NE(wait_for_log(srv, "no valid PROXY header").find("no valid PROXY header"), std::string::npos)
        << log_tail(srv);
    // Without the option a header is just bytes of the request: it is hashed.
    server_process plain({});
    EXPECT_EQ(exchange(plain.port(), v1("203.0.113.7") + "hello world\n"),
              reference_digest("fnv1a", v1("203.0.113.7") + "hello world\n"));
}

TEST(ProxyProtocol, ThePerClientLimitCountsTheClientNotTheBalancer)
{
    server_process srv({"--proxy-protocol", "--max-connections-per-client", "1", "--idle-timeout", "60",
                        "--log-level", "debug"});
    // All of these come from 127.0.0.1, the "balancer"; two clients behind it.
    auto held = connect_to(srv.port());
    ASSERT_TRUE(held && send_all(held.get(), v1("203.0.113.20")));
    ASSERT_NE(wait_for_log(srv, "203.0.113.20 (via ").find("203.0.113.20 (via "), std::string::npos)
        << "the first client's header was not read: " << log_tail(srv);

    EXPECT_EQ(exchange(srv.port(), v1("203.0.113.20") + "hello world\n"), "ERR too many connections from your address\n");
    EXPECT_EQ(exchange(srv.port(), v1("203.0.113.21") + "hello world\n"), "782e1488cd5a68b7\n");
    EXPECT_NE(wait_for_log(srv, "203.0.113.20: refused").find("203.0.113.20: refused"), std::string::npos)
        << log_tail(srv);

    // Its slot is free again once the first client's connection ends.
    ASSERT_TRUE(send_all(held.get(), "hello world\n"));
    shutdown_write(held.get());
    EXPECT_EQ(read_until_eof(held.get(), 20s).data, "782e1488cd5a68b7\n");
    std::string answer;
    EXPECT_TRUE(eventually([&] {
        answer = exchange(srv.port(), v1("203.0.113.20") + "hello world\n");
        return answer == "782e1488cd5a68b7\n";
    })) << answer;
}
