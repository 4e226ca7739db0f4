// SPDX-License-Identifier: BSL-1.0
// --protocol lines: a persistent connection; every "\n"-terminated line,
// "\n" included, is one request and gets one digest line back, in order.
#include "payload.hpp"
#include "process.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "sockets.hpp"
#include "text.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace test_support;

namespace {

std::string fnv_line(std::string_view line) { return reference_digest("fnv1a", line); }

/// Sends `payload` in `piece`-sized sends and half-closes, reading the replies
/// meanwhile.
read_result pipeline(std::uint16_t port, std::string const& payload, std::size_t piece,
                     std::chrono::milliseconds limit = 60s)
{
    auto fd = connect_to(port);
    if (!fd) return {};
    return write_while_reading(
        fd.get(), [&](int out) { send_in_pieces(out, payload, [piece] { return piece; }); }, limit);
}

} // namespace

TEST(LinesProtocol, NetcatSession)
{
    ASSERT_TRUE(have_command("nc")) << "nc missing: scripts/install-deps.sh test installs netcat-openbsd";
    server_process srv({"--protocol", "lines"});
    auto port = std::to_string(srv.port());
    EXPECT_EQ(shell_output("echo \"hello world\" | nc -q1 127.0.0.1 " + port), "782e1488cd5a68b7\n");
    EXPECT_EQ(shell_output("printf \"hello world\\ntest data 123\\n\" | nc -q1 127.0.0.1 " + port),
              "782e1488cd5a68b7\ndaf63590896c6e23\n");
}

// 20 000 lines sent without waiting for any reply; the replies come back in order.
TEST(LinesProtocol, TwentyThousandPipelinedLines)
{
    constexpr int count = 20'000;
    server_process srv({"--protocol", "lines"});
    std::string payload, expected;
    byte_source src(20'000);
    std::vector<std::string> lines;
    lines.reserve(count);
    for (int i = 0; i < count; ++i) {
        // Lines of varying length (0 to ~120 bytes), printable, unique.
        std::string line = std::to_string(i) + ":";
        auto extra = src.bytes(static_cast<std::size_t>(i % 120));
        for (char c : extra) line.push_back(static_cast<char>('!' + static_cast<unsigned char>(c) % 90));
        line.push_back('\n');
        payload += line;
        expected += fnv_line(line);
        lines.push_back(std::move(line));
    }
    auto r = pipeline(srv.port(), payload, 64 * 1024);
    ASSERT_FALSE(r.timeout) << "hang: got " << r.data.size() << " of " << expected.size() << " bytes";
    EXPECT_TRUE(r.eof);
    auto got = split_lines(r.data);
    ASSERT_EQ(got.size(), static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        if (got[i] != fnv_line(lines[i])) {
            ADD_FAILURE() << "reply " << i << " is " << got[i] << ", expected the digest of '" << lines[i] << "'";
            break;
        }
    }
    EXPECT_EQ(r.data, expected);
}

// Request, reply, request, reply on one connection.
TEST(LinesProtocol, RequestReplyOnOneConnection)
{
    server_process srv({"--protocol", "lines"});
    auto fd = connect_to(srv.port());
    ASSERT_TRUE(fd);
    for (int i = 0; i < 50; ++i) {
        auto line = "request " + std::to_string(i) + "\n";
        ASSERT_TRUE(send_all(fd.get(), line));
        ASSERT_EQ(read_exactly(fd.get(), 17, 20s), fnv_line(line)) << "request " << i;
    }
    shutdown_write(fd.get());
    auto r = read_until_eof(fd.get(), 20s);
    EXPECT_EQ(r.data, "");
    EXPECT_TRUE(r.eof);
}

// A line cut into many small sends is one request.
TEST(LinesProtocol, LineArrivingInPieces)
{
    server_process srv({"--protocol", "lines"});
    auto fd = connect_to(srv.port());
    ASSERT_TRUE(fd);
    set_nodelay(fd.get());
    std::string const line = "hello world\n";
    for (char c : line) {
        ASSERT_TRUE(send_all(fd.get(), std::string_view(&c, 1)));
        std::this_thread::sleep_for(2ms); // give the server a chance to read each byte alone
    }
    EXPECT_EQ(read_exactly(fd.get(), 17, 20s), "782e1488cd5a68b7\n");
}

TEST(LinesProtocol, FinalLineWithoutNewlineIsHashedAsItIs)
{
    server_process srv({"--protocol", "lines"});
    EXPECT_EQ(request(srv.port(), "a\nb"), fnv_line("a\n") + fnv_line("b"));
    EXPECT_EQ(request(srv.port(), "hello world"), fnv_line("hello world"));
    EXPECT_NE(fnv_line("hello world"), "782e1488cd5a68b7\n"); // the "\n" is part of the request
}

TEST(LinesProtocol, EmptyLinesAndEmptyConnection)
{
    server_process srv({"--protocol", "lines"});
    EXPECT_EQ(request(srv.port(), "\n\n"), fnv_line("\n") + fnv_line("\n"));
    auto r = [&] {
        auto fd = connect_to(srv.port());
        shutdown_write(fd.get());
        return read_until_eof(fd.get(), 20s);
    }();
    EXPECT_EQ(r.data, "") << "no bytes, no request";
    EXPECT_TRUE(r.eof);
}

TEST(LinesProtocol, Xxh3AndSha256OverTheWire)
{
    std::vector<std::string> lines = {"abc\n", "\n", "hello world\n"};
    lines.push_back(byte_source(3).bytes(1000) + "\n");
    for (auto& l : lines) std::replace(l.begin(), l.end() - 1, '\n', ' ');
    std::string payload;
    for (auto& l : lines) payload += l;
    payload += "tail without newline";
    lines.push_back("tail without newline");
    for (std::string alg : {"xxh3", "sha256", "fnv1a"}) {
        server_process srv({"--protocol", "lines", "--hash", alg});
        std::string expected;
        for (auto& l : lines) expected += reference_digest(alg, l);
        EXPECT_EQ(pipeline(srv.port(), payload, 7).data, expected) << alg;
    }
}

// The limit counts the bytes of a line without its "\n".
TEST(LinesProtocol, MaxLineExactlyAtTheLimitIsServed)
{
    server_process srv({"--protocol", "lines", "--max-line", "10"});
    std::string const line = "0123456789\n";
    EXPECT_EQ(request(srv.port(), line + line), fnv_line(line) + fnv_line(line));
    // At EOF without "\n": still at most max-line bytes.
    EXPECT_EQ(request(srv.port(), "0123456789"), fnv_line("0123456789"));
}

TEST(LinesProtocol, MaxLineOnePastTheLimitIsRefused)
{
    server_process srv({"--protocol", "lines", "--max-line", "10"});
    // The lines before the long one are answered, then the ERR line, then close.
    auto fd = connect_to(srv.port());
    ASSERT_TRUE(fd);
    ASSERT_TRUE(send_all(fd.get(), "ok\n0123456789A\n"));
    auto r = read_until_eof(fd.get(), 20s);
    auto got = split_lines(r.data);
    ASSERT_EQ(got.size(), 2U) << r.data;
    EXPECT_EQ(got[0], fnv_line("ok\n"));
    EXPECT_EQ(got[1].rfind("ERR ", 0), 0U) << got[1];
    EXPECT_EQ(r.data.back(), '\n');
    EXPECT_TRUE(r.eof) << "the connection closes after the ERR line";
    // A long line is refused as soon as it is too long, before its "\n" comes.
    auto fd2 = connect_to(srv.port());
    ASSERT_TRUE(fd2);
    ASSERT_TRUE(send_all(fd2.get(), "0123456789A"));
    auto r2 = read_until_eof(fd2.get(), 20s);
    EXPECT_EQ(r2.data.rfind("ERR ", 0), 0U) << r2.data;
    EXPECT_TRUE(r2.eof);
}

// A line longer than one read (default read size 64 KiB) but within
// --max-line: the server's buffer grows up to the limit and no further.
TEST(LinesProtocol, LongLinesAroundTheLimit)
{
    constexpr std::size_t max = 100'000;
    server_process srv({"--protocol", "lines", "--max-line", std::to_string(max)});
    std::string at(max, 'a');
    for (std::size_t i = 0; i < at.size(); ++i) at[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(pipeline(srv.port(), at + "\nshort\n", 4096).data, fnv_line(at + "\n") + fnv_line("short\n"));
    auto past = pipeline(srv.port(), at + "b\n", 4096);
    EXPECT_EQ(past.data.rfind("ERR ", 0), 0U) << past.data.substr(0, 100);
}

// One client's error ends that client's connection only.
TEST(LinesProtocol, OneClientsErrorDoesNotDisturbAnother)
{
    server_process srv({"--protocol", "lines", "--max-line", "10"});
    auto good = connect_to(srv.port());
    ASSERT_TRUE(good);
    ASSERT_TRUE(send_all(good.get(), "first\n"));
    EXPECT_EQ(read_exactly(good.get(), 17, 20s), fnv_line("first\n"));
    EXPECT_EQ(request(srv.port(), "this line is too long\n").rfind("ERR ", 0), 0U);
    ASSERT_TRUE(send_all(good.get(), "second\n"));
    EXPECT_EQ(read_exactly(good.get(), 17, 20s), fnv_line("second\n"));
}

// Many pipelining clients at once, with several I/O threads and a small pool:
// every client gets exactly its own replies, in its own order.
TEST(LinesProtocol, ManyPipeliningClientsOnSeveralIoThreads)
{
    constexpr int clients = 32, lines_each = 500;
    server_process srv({"--protocol", "lines", "--io-threads", "3", "--threads", "2", "--max-inflight", "4"});
    std::vector<std::string> payloads(clients), expected(clients), got(clients);
    for (int c = 0; c < clients; ++c)
        for (int i = 0; i < lines_each; ++i) {
            auto line = "client " + std::to_string(c) + " line " + std::to_string(i) + "\n";
            payloads[c] += line;
            expected[c] += fnv_line(line);
        }
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&, c] { got[c] = pipeline(srv.port(), payloads[c], 1000, 90s).data; });
    for (auto& t : threads) t.join();
    for (int c = 0; c < clients; ++c) EXPECT_EQ(got[c], expected[c]) << "client " << c;
}
