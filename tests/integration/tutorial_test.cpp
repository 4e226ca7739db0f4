// SPDX-License-Identifier: BSL-1.0
// The tutorial's behaviour (the default `oneshot` protocol), against the real
// binary: one read of up to 4096 bytes, the FNV-1a of exactly the bytes read,
// one digest line, close.
#include "payload.hpp"
#include "process.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <latch>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace test_support;

TEST(Tutorial, BothVectors)
{
    server_process srv({});
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    EXPECT_EQ(request(srv.port(), "test data 123\n"), "daf63590896c6e23\n");
}

// The README's promise, with the real netcat (netcat-openbsd, in scripts/deps/test.txt).
TEST(Tutorial, NetcatSession)
{
    ASSERT_TRUE(have_command("nc")) << "nc missing: scripts/install-deps.sh test installs netcat-openbsd";
    server_process srv({});
    auto port = std::to_string(srv.port());
    EXPECT_EQ(shell_output("echo \"hello world\" | nc -q1 127.0.0.1 " + port), "782e1488cd5a68b7\n");
    EXPECT_EQ(shell_output("echo \"test data 123\" | nc -q1 127.0.0.1 " + port), "daf63590896c6e23\n");
}

// A client that never half-closes still gets its reply after the first read,
// and then the server closes (EOF), as in the tutorial.
TEST(Tutorial, PlainClientWithoutHalfClose)
{
    server_process srv({});
    auto fd = connect_to(srv.port());
    ASSERT_TRUE(fd);
    ASSERT_TRUE(send_all(fd.get(), "hello world\n"));
    auto r = read_until_eof(fd.get(), 20s);
    EXPECT_EQ(r.data, "782e1488cd5a68b7\n");
    EXPECT_TRUE(r.eof) << "reset=" << r.reset << " timeout=" << r.timeout;
}

// Only the first read counts: a message sent in two parts, the second after
// the reply to the first, gets the digest of the first part alone.
TEST(Tutorial, OnlyTheFirstReadIsHashed)
{
    server_process srv({});
    auto fd = connect_to(srv.port());
    ASSERT_TRUE(fd);
    set_nodelay(fd.get());
    ASSERT_TRUE(send_all(fd.get(), "hello "));
    EXPECT_EQ(read_exactly(fd.get(), 17, 20s), reference_digest("fnv1a", "hello "));
    send_all(fd.get(), "world\n"); // too late: the server has answered and is closing
    auto r = read_until_eof(fd.get(), 20s);
    EXPECT_TRUE(r.data.empty()) << r.data;
    EXPECT_FALSE(r.timeout);
}

TEST(Tutorial, EmptyConnectionThenANormalOne)
{
    server_process srv({});
    {
        auto fd = connect_to(srv.port());
        ASSERT_TRUE(fd);
        shutdown_write(fd.get());
        auto r = read_until_eof(fd.get(), 20s);
        EXPECT_EQ(r.data, "") << "a client that sends nothing gets nothing";
        EXPECT_TRUE(r.eof);
    }
    {
        auto fd = connect_to(srv.port());
        ASSERT_TRUE(fd); // connect and close at once, without a byte
    }
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    EXPECT_TRUE(srv.running());
}

TEST(Tutorial, Payload4096BytesIsHashedWhole)
{
    server_process srv({});
    auto payload = byte_source(4096).bytes(4096);
    EXPECT_EQ(request(srv.port(), payload), reference_digest("fnv1a", payload));
    EXPECT_EQ(request(srv.port(), payload, false), reference_digest("fnv1a", payload));
}

// 5000 bytes: the tutorial reads once, into a 4096-byte buffer. The client
// gets the digest of what that first read returned. On loopback one send()
// of 5000 bytes arrives as one segment, so the first read is exactly the
// first 4096 bytes: the reply is FNV-1a(payload[0, 4096)), and the other 904
// bytes are discarded. The close is orderly (EOF, not a reset), so the reply
// is never lost.
TEST(Tutorial, Payload5000BytesGetsTheDigestOfTheFirst4096)
{
    server_process srv({});
    auto payload = byte_source(5000).bytes(5000);
    auto expected = reference_digest("fnv1a", std::string_view(payload).substr(0, 4096));
    ASSERT_NE(expected, reference_digest("fnv1a", payload));
    for (bool half_close : {true, false}) {
        auto fd = connect_to(srv.port());
        ASSERT_TRUE(fd);
        ASSERT_TRUE(send_all(fd.get(), payload));
        if (half_close) shutdown_write(fd.get());
        auto r = read_until_eof(fd.get(), 20s);
        EXPECT_EQ(r.data, expected) << "half_close=" << half_close;
        EXPECT_TRUE(r.eof) << "half_close=" << half_close << " reset=" << r.reset;
    }
}

TEST(Tutorial, BinaryBytesAreHashedAsBytes)
{
    server_process srv({});
    std::string payload("\0\xff\x80\n\r\x01", 6);
    EXPECT_EQ(request(srv.port(), payload), reference_digest("fnv1a", payload));
}

// 200 clients connected at the same time (a latch holds every send until all
// are connected), each with its own payload, all answered correctly.
TEST(Tutorial, TwoHundredConcurrentClients)
{
    constexpr int clients = 200;
    server_process srv({});
    std::latch all_connected(clients);
    std::vector<std::string> replies(clients), payloads(clients);
    for (int i = 0; i < clients; ++i)
        payloads[i] = "client " + std::to_string(i) + " " + byte_source(i + 1).bytes(static_cast<std::size_t>(i) * 13);
    std::vector<std::thread> threads;
    threads.reserve(clients);
    for (int i = 0; i < clients; ++i) {
        threads.emplace_back([&, i] {
            auto fd = connect_to(srv.port());
            all_connected.count_down();
            if (!fd) {
                replies[i] = "<connect failed>";
                return;
            }
            all_connected.wait();
            if (!send_all(fd.get(), payloads[i])) {
                replies[i] = "<send failed>";
                return;
            }
            shutdown_write(fd.get());
            replies[i] = read_until_eof(fd.get(), 60s).data;
        });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < clients; ++i)
        EXPECT_EQ(replies[i], reference_digest("fnv1a", payloads[i])) << "client " << i;
    EXPECT_TRUE(srv.running());
}
