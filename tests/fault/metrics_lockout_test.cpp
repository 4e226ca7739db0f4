// SPDX-License-Identifier: BSL-1.0
// The metrics endpoint under abuse: idle connections cannot lock scrapes out,
// a trickled request header is cut off, bad requests get a status, and the
// endpoint listens on loopback unless told otherwise.
#include "http.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"
#include "system.hpp"

#include <gtest/gtest.h>

#include <ifaddrs.h>

#include <string>
#include <vector>

using namespace test_support;

namespace {

/// An IPv4 address of this host other than loopback; empty when it has none.
std::string non_loopback_ipv4()
{
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return {};
    std::string found;
    for (auto* a = list; a && found.empty(); a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        auto const& in = reinterpret_cast<sockaddr_in const*>(a->ifa_addr)->sin_addr;
        if ((ntohl(in.s_addr) >> 24) == 127) continue;
        char text[INET_ADDRSTRLEN];
        found = ::inet_ntop(AF_INET, &in, text, sizeof text);
    }
    ::freeifaddrs(list);
    return found;
}

bool can_connect(std::string const& address, std::uint16_t port)
{
    auto fd = tcp_socket();
    return connect_errno(fd.get(), ipv4(address.c_str(), port)) == 0;
}

} // namespace

// 200 connections that never send a byte, and 20 keep-alive ones idle between
// scrapes, beside a cap of 64: the oldest idle ones make room, so a scrape is
// answered 200 (the bound only detects a hang).
TEST(MetricsLockout, ScrapeGetsThroughBesideManyIdleConnections)
{
    raise_fd_limit();
    server_process srv({"--metrics-port", "0"});
    auto mport = metrics_port(srv);
    std::vector<fd_guard> idle;
    for (int i = 0; i < 20; ++i) {
        idle.push_back(connect_to(mport));
        ASSERT_TRUE(send_all(idle.back().get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
        ASSERT_NE(read_exactly(idle.back().get(), 15, 20s), "") << "keep-alive scrape " << i;
    }
    for (int i = 0; i < 200; ++i) {
        idle.push_back(connect_to(mport));
        ASSERT_TRUE(idle.back()) << "connect " << i;
    }
    for (int round = 0; round < 3; ++round) {
        auto r = http_get(mport, "/metrics");
        EXPECT_EQ(r.status, 200) << "round " << round << "\n" << log_tail(srv);
        idle.push_back(connect_to(mport)); // and the attacker comes back
    }
    expect_healthy_then_stop(srv);
}

// A request header that trickles in is cut off at the header deadline (a few
// seconds), not held for the idle minute.
TEST(MetricsLockout, TrickledHeaderIsCutOff)
{
    server_process srv({"--metrics-port", "0"});
    auto fd = connect_to(metrics_port(srv));
    ASSERT_TRUE(fd);
    ASSERT_TRUE(send_all(fd.get(), "GET /metrics HTTP/1.1\r\n"));
    auto r = read_until_eof(fd.get(), 30s); // a hang guard: the deadline is 5 s, the old idle timeout 60 s
    EXPECT_FALSE(r.timeout) << "still open after 30 s";
    expect_healthy_then_stop(srv);
}

// Every request gets a status line: 404 for another path, 405 for a POST
// (with its body), 431 for headers over 8 KiB.
TEST(MetricsLockout, BadRequestsGetAStatus)
{
    server_process srv({"--metrics-port", "0"});
    auto mport = metrics_port(srv);
    EXPECT_EQ(http_get(mport, "/other").status, 404);
    auto send = [&](std::string const& req) {
        auto fd = connect_to(mport);
        send_all(fd.get(), req);
        return parse_http(read_until_eof(fd.get(), 20s));
    };
    auto post = send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    EXPECT_EQ(post.status, 405) << post.headers;
    EXPECT_NE(post.headers.find("Allow: GET, HEAD"), std::string::npos) << post.headers;
    auto big = send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16384, 'a') + "\r\n\r\n");
    EXPECT_EQ(big.status, 431) << big.headers;
    EXPECT_EQ(http_get(mport, "/metrics").status, 200);
    expect_healthy_then_stop(srv);
}

// Loopback by default, --bind or not; --metrics-bind opens it up.
TEST(MetricsLockout, ListensOnLoopbackUnlessToldOtherwise)
{
    auto address = non_loopback_ipv4();
    if (address.empty()) GTEST_SKIP() << "this host has no IPv4 address besides loopback";
    {
        server_process srv({"--metrics-port", "0"});
        auto mport = metrics_port(srv);
        EXPECT_EQ(http_get(mport, "/metrics").status, 200);
        EXPECT_FALSE(can_connect(address, mport)) << "metrics reachable on " << address;
        EXPECT_TRUE(can_connect(address, srv.port())) << "the hash port still listens everywhere";
        expect_healthy_then_stop(srv);
    }
    {
        server_process srv({"--metrics-port", "0", "--metrics-bind", "0.0.0.0", "--bind", "127.0.0.1"});
        auto mport = metrics_port(srv);
        EXPECT_TRUE(can_connect(address, mport)) << "--metrics-bind 0.0.0.0";
        EXPECT_FALSE(can_connect(address, srv.port())) << "--bind 127.0.0.1 keeps the hash port off it";
        expect_healthy_then_stop(srv);
    }
}
