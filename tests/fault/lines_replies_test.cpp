// SPDX-License-Identifier: BSL-1.0
// `lines` clients that pipeline many short lines and read their replies
// slowly or never. A line of one byte ("\n") asks for a 65-byte SHA-256 reply:
// the server must not hold the replies to a whole read buffer at once, must
// count a slow reader's progress as activity, and must never glue anything to
// a reply line it could only partly write.
#include "polling.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"
#include "system.hpp"

#include <gtest/gtest.h>

#include <sys/ioctl.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace test_support;

namespace {

constexpr std::size_t sha256_line = 65; // 64 hex digits and "\n"

/// Connects to 127.0.0.1:port with a 4 KiB receive buffer, set before the
/// connect so that the window the server sees is small from the start.
fd_guard connect_small_window(std::uint16_t port)
{
    auto fd = tcp_socket();
    int size = 4096;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (connect_errno(fd.get(), ipv4("127.0.0.1", port)) != 0) return fd_guard{};
    return fd;
}

std::size_t unread_bytes(int fd)
{
    int n = 0;
    ::ioctl(fd, FIONREAD, &n);
    return static_cast<std::size_t>(n);
}

/// The server's VmRSS once it has stopped changing (the same for 1 s), or the
/// highest seen within the bound; in KiB.
std::size_t settled_rss(server_process const& srv)
{
    std::size_t high = srv.rss_kib(), last = high;
    int same = 0;
    for (int i = 0; i < 150 && same < 5; ++i) {
        std::this_thread::sleep_for(200ms);
        auto now = srv.rss_kib();
        high = std::max(high, now);
        same = now == last ? same + 1 : 0;
        last = now;
    }
    return high;
}

/// True when `got` is a run of whole `digest` lines, possibly ended by
/// "ERR idle timeout\n" after a whole line, or by a prefix of `digest`
/// (a line the server could only partly write before it closed) with
/// nothing after it.
::testing::AssertionResult only_whole_replies(std::string_view got, std::string_view digest)
{
    std::size_t lines = 0;
    while (!got.empty()) {
        if (got.substr(0, digest.size()) == digest) {
            got.remove_prefix(digest.size());
            ++lines;
            continue;
        }
        if (got == "ERR idle timeout\n") return ::testing::AssertionSuccess();
        if (got.size() < digest.size() && digest.substr(0, got.size()) == got) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << "after " << lines << " whole replies: '"
                                             << std::string(got.substr(0, 200)) << "'";
    }
    return ::testing::AssertionSuccess();
}

} // namespace

// The attack at half the scale: 50 connections each send 65 537 empty
// lines and never read. Replies are hashed and held one slice (64 KiB) at a
// time per connection, so the server grows by a few MiB, not 50 x 4.2 MB; and
// another client is answered meanwhile.
TEST(LinesReplies, PipelinedLinesNeverReadHoldBoundedMemory)
{
    raise_fd_limit();
    if (sanitized) {
        // ASan keeps freed memory in quarantine (256 MiB by default) and so in
        // VmRSS: the replies already handed to the kernel would count.
        std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
        ::setenv("ASAN_OPTIONS", (asan + (asan.empty() ? "" : ":") + "quarantine_size_mb=1").c_str(), 1);
    }
    server_process srv({"--protocol", "lines", "--hash", "sha256", "--idle-timeout", "120"});
    std::string const probe = "warm up\n";
    ASSERT_EQ(request(srv.port(), probe), reference_lines("sha256", probe));
    auto const before = settled_rss(srv);

    std::string const flood(65537, '\n');
    std::vector<fd_guard> clients;
    for (int i = 0; i < 50; ++i) {
        clients.push_back(connect_small_window(srv.port()));
        ASSERT_TRUE(clients.back()) << "connect " << i;
        ASSERT_TRUE(send_all(clients.back().get(), flood)) << "send " << i;
    }
    // Every connection has been answered in part: the server is at work on all of them.
    ASSERT_TRUE(eventually(
        [&] { return std::all_of(clients.begin(), clients.end(), [](auto& c) { return unread_bytes(c.get()) > 0; }); },
        60s))
        << log_tail(srv);
    auto const after = settled_rss(srv);
    auto const grown_kib = after - std::min(before, after);
    std::size_t const limit_kib = (sanitized ? 96 : 24) * 1024;
    std::printf("50 connections x 65537 lines unread: VmRSS %zu -> +%zu KiB (limit %zu KiB)\n", before, grown_kib,
                limit_kib);
    EXPECT_LE(grown_kib, limit_kib);

    std::string const other = "another client\n";
    EXPECT_EQ(request(srv.port(), other), reference_lines("sha256", other)) << log_tail(srv);
    for (auto& c : clients) reset_close(c);
    expect_healthy_then_stop(srv, "sha256", true);
}

// A reader that takes at most 4 KiB every 10 ms is slow but active: each piece of a
// reply it takes counts as activity, so it gets every digest and then EOF,
// although the replies take many idle timeouts to read. (4.2 MB of replies:
// more than the kernel's largest send buffer, tcp_wmem's 4 MiB, can absorb.)
TEST(LinesReplies, SlowButSteadyReaderGetsEveryReply)
{
    server_process srv({"--protocol", "lines", "--hash", "sha256", "--idle-timeout", "0.5"});
    constexpr std::size_t lines = 65537;
    auto c = connect_small_window(srv.port());
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), std::string(lines, '\n')));
    shutdown_write(c.get());
    std::string got;
    bool eof = false;
    auto until = clock::now() + 120s; // a hang guard only
    while (!eof && clock::now() < until) {
        std::this_thread::sleep_for(10ms);
        char buf[4096];
        auto n = ::recv(c.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) got.append(buf, static_cast<std::size_t>(n));
        else if (n == 0) eof = true;
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
    }
    auto const digest = reference_digest("sha256", "\n");
    EXPECT_TRUE(eof) << "received " << got.size() << " bytes\n" << log_tail(srv);
    EXPECT_EQ(got.size(), lines * sha256_line);
    EXPECT_TRUE(only_whole_replies(got, digest));
    EXPECT_EQ(got.find("ERR"), std::string::npos) << log_tail(srv);
    expect_healthy_then_stop(srv, "sha256", true);
}

// A reader that stops reading altogether is still closed after the idle
// timeout, and what it finds in its socket afterwards is whole digest lines
// (perhaps ending in part of one), never an error glued to a torn line.
TEST(LinesReplies, ReaderThatStopsIsClosedWithoutATornReply)
{
    server_process srv({"--protocol", "lines", "--hash", "sha256", "--idle-timeout", "1", "--log-level", "debug"});
    auto c = connect_small_window(srv.port());
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), std::string(65537, '\n')));
    auto first = read_exactly(c.get(), 100000, 20s); // some replies, then it stops reading
    ASSERT_EQ(first.size(), 100000U) << log_tail(srv);
    ASSERT_TRUE(eventually([&] { return srv.log().find("idle timeout") != std::string::npos; }, 30s))
        << log_tail(srv);
    auto rest = read_until_eof(c.get(), 30s);
    EXPECT_FALSE(rest.timeout) << log_tail(srv);
    EXPECT_TRUE(only_whole_replies(first + rest.data, reference_digest("sha256", "\n")));
    expect_healthy_then_stop(srv, "sha256", true);
}
