// SPDX-License-Identifier: BSL-1.0
// Limits and timeouts: --idle-timeout, --max-connections, --max-inflight.
#include "payload.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <latch>
#include <string>
#include <thread>
#include <vector>

using namespace test_support;

namespace {

/// A client that sends `sent` and then falls silent gets the replies to what
/// was whole in it, then the idle timeout's ERR line, then EOF.
void expect_closed_once_silent(server_process const& srv, std::string_view sent, std::string_view replies)
{
    auto fd = connect_to(srv.port());
    ASSERT_TRUE(fd);
    ASSERT_TRUE(send_all(fd.get(), sent));
    auto r = read_until_eof(fd.get(), 30s);
    EXPECT_EQ(r.data, replies);
    EXPECT_TRUE(r.eof);
}

} // namespace

// A silent client is closed with "ERR idle timeout" after --idle-timeout,
// and meanwhile other clients are served as usual.
TEST(Limits, IdleTimeoutClosesASilentClientWhileOthersAreServed)
{
    server_process srv({"--idle-timeout", "1"});
    auto silent = connect_to(srv.port());
    ASSERT_TRUE(silent);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    auto r = read_until_eof(silent.get(), 30s);
    EXPECT_FALSE(r.timeout) << "the silent client was never closed";
    EXPECT_EQ(r.data, "ERR idle timeout\n");
    EXPECT_TRUE(r.eof);
    EXPECT_EQ(request(srv.port(), "test data 123\n"), "daf63590896c6e23\n");
}

// In `lines`, silence between requests counts too: a client that got its
// answer and then says nothing is closed.
TEST(Limits, IdleTimeoutBetweenLines)
{
    server_process srv({"--protocol", "lines", "--idle-timeout", "1"});
    expect_closed_once_silent(srv, "hello world\n", "782e1488cd5a68b7\nERR idle timeout\n");
}

// In `stream`, a client that stalls mid-upload is closed as well.
TEST(Limits, IdleTimeoutMidStream)
{
    server_process srv({"--protocol", "stream", "--idle-timeout", "1"});
    ASSERT_NO_FATAL_FAILURE(
        expect_closed_once_silent(srv, "the beginning of an upload that never ends", "ERR idle timeout\n"));
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
}

// --max-connections 2: two connections are held open; a third connects (the
// kernel's backlog completes the handshake) but the server does not accept
// it, so it gets no reply, until one of the two closes; then it is answered.
TEST(Limits, ConnectionLimitHoldsANewcomerUntilASlotFrees)
{
    server_process srv({"--max-connections", "2"});
    auto base = srv.open_sockets();
    auto a = connect_to(srv.port());
    auto b = connect_to(srv.port());
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(wait_for_sockets(srv, base + 2)) << "the server did not accept the first two";

    auto c = connect_to(srv.port());
    ASSERT_TRUE(c) << "the kernel backlog should complete the third connection";
    ASSERT_TRUE(send_all(c.get(), "hello world\n"));
    shutdown_write(c.get());
    // Not accepted while both slots are taken: no reply, no close, no new descriptor.
    EXPECT_TRUE(stays_silent(c.get(), 500ms)) << "the third connection was served beyond the limit";
    EXPECT_EQ(srv.open_sockets(), base + 2);

    a.reset(); // a slot frees
    auto r = read_until_eof(c.get(), 30s);
    EXPECT_EQ(r.data, "782e1488cd5a68b7\n");
    EXPECT_TRUE(r.eof);

    // The held connection b was never disturbed; it is served when it speaks.
    ASSERT_TRUE(send_all(b.get(), "test data 123\n"));
    EXPECT_EQ(read_until_eof(b.get(), 20s).data, "daf63590896c6e23\n");
    EXPECT_TRUE(srv.running());
}

// With one hash job allowed in flight, many concurrent uploads queue for the
// pool (in their sockets) and are all answered correctly.
TEST(Limits, OneInflightJobServesManyClients)
{
    constexpr int clients = 40;
    server_process srv({"--protocol", "stream", "--max-inflight", "1", "--threads", "2"});
    std::latch ready(clients);
    std::vector<std::string> payloads(clients), replies(clients);
    for (int i = 0; i < clients; ++i) payloads[i] = byte_source(100 + i).bytes(200'000 + i);
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
        threads.emplace_back([&, i] {
            auto fd = connect_to(srv.port());
            ready.count_down();
            if (!fd) return;
            ready.wait();
            replies[i] = write_while_reading(fd.get(), [&](int out) { send_all(out, payloads[i]); }, 90s).data;
        });
    for (auto& t : threads) t.join();
    for (int i = 0; i < clients; ++i) EXPECT_EQ(replies[i], reference_digest("fnv1a", payloads[i])) << i;
}
