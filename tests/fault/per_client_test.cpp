// SPDX-License-Identifier: BSL-1.0
// --max-connections-per-client: one source address cannot hold every slot
// (silent connections renewed every idle timeout would otherwise lock
// everyone else out); the others are served, and the refusals are counted.
#include "http.hpp"
#include "polling.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace test_support;

namespace {

/// Connects to the server's port from `source` (any 127.x.y.z is loopback).
fd_guard connect_from(char const* source, std::uint16_t port)
{
    auto fd = tcp_socket();
    auto const local = ipv4(source, 0);
    if (::bind(fd.get(), reinterpret_cast<sockaddr const*>(&local), sizeof local) != 0) return fd_guard{};
    if (connect_errno(fd.get(), ipv4("127.0.0.1", port)) != 0) return fd_guard{};
    return fd;
}

} // namespace

TEST(PerClient, OneAddressCannotHoldEverySlot)
{
    server_process srv({"--max-connections", "8", "--max-connections-per-client", "3", "--idle-timeout", "60",
                        "--metrics-port", "0"});
    auto const mport = metrics_port(srv);
    auto const base = srv.open_fds();
    std::vector<fd_guard> held;
    for (int i = 0; i < 3; ++i) held.push_back(connect_from("127.0.0.1", srv.port()));
    ASSERT_TRUE(eventually([&] { return srv.open_fds() >= base + 3; })) << log_tail(srv);

    // A fourth from the same address is refused at once, with a reason.
    auto extra = connect_from("127.0.0.1", srv.port());
    ASSERT_TRUE(extra);
    auto refused = read_until_eof(extra.get(), 20s);
    EXPECT_FALSE(refused.timeout);
    EXPECT_EQ(refused.data, "ERR too many connections from your address\n");

    // Another address is served meanwhile.
    auto other = connect_from("127.0.0.2", srv.port());
    ASSERT_TRUE(other);
    ASSERT_TRUE(send_all(other.get(), "hello world\n"));
    shutdown_write(other.get());
    EXPECT_EQ(read_until_eof(other.get(), 20s).data, "782e1488cd5a68b7\n");

    // Once one of the three ends, the first address gets a slot again.
    held.pop_back();
    std::string answer;
    ASSERT_TRUE(eventually([&] {
        auto again = connect_from("127.0.0.1", srv.port());
        send_all(again.get(), "hello world\n");
        shutdown_write(again.get());
        answer = read_until_eof(again.get(), 20s).data;
        return answer == "782e1488cd5a68b7\n";
    })) << answer;
    auto m = scrape(mport);
    EXPECT_GE(sample(m, "hash_server_connections_rejected_total"), 1) << m;
    held.clear();
    expect_healthy_then_stop(srv);
}

// Off by default: many connections from one address are all served.
TEST(PerClient, NoLimitByDefault)
{
    server_process srv({});
    std::vector<fd_guard> held;
    for (int i = 0; i < 20; ++i) held.push_back(connect_to(srv.port()));
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    held.clear();
    expect_healthy_then_stop(srv);
}
