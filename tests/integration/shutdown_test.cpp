// SPDX-License-Identifier: BSL-1.0
// SIGTERM/SIGINT: stop accepting at once; close idle connections at once
// (those silent since their accept after --drain-grace, serving their request
// if it comes within it); let a request in progress finish with its correct
// digest; exit 0.
// (The drain deadline, --shutdown-timeout and exit code 3 are covered by the
// reliability tests.)
#include "payload.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "sockets.hpp"
#include "system.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <thread>
#include <vector>

using namespace test_support;

namespace {

/// Connects and tells apart "refused" (nobody listening) from other failures.
bool connection_refused(std::uint16_t port)
{
    auto fd = tcp_socket();
    return connect_errno(fd.get(), ipv4("127.0.0.1", port)) == ECONNREFUSED;
}

void expect_clean_exit(server_process& srv)
{
    auto st = srv.wait_exit(60s);
    ASSERT_TRUE(st.has_value()) << "still running after SIGTERM; log:\n" << srv.log();
    EXPECT_TRUE(st->exited) << "killed by signal " << st->code << "; log:\n" << srv.log();
    EXPECT_EQ(st->code, 0) << "log:\n" << srv.log();
}

} // namespace

TEST(Shutdown, SigtermWithIdleClientsExitsZero)
{
    server_process srv({});
    auto base = srv.open_sockets();
    std::vector<fd_guard> idle;
    for (int i = 0; i < 3; ++i) idle.push_back(connect_to(srv.port()));
    for (auto& fd : idle) ASSERT_TRUE(fd);
    ASSERT_TRUE(wait_for_sockets(srv, base + 3)) << "the server did not accept the idle clients";

    srv.signal(SIGTERM);
    for (auto& fd : idle) {
        auto r = read_until_eof(fd.get(), 30s);
        EXPECT_TRUE(r.eof) << "an idle connection is closed at once (orderly)";
        EXPECT_EQ(r.data, "");
    }
    expect_clean_exit(srv);
    EXPECT_NE(srv.log().find("received signal"), std::string::npos) << srv.log();
}

TEST(Shutdown, SigintExitsZero)
{
    server_process srv({});
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    srv.signal(SIGINT);
    expect_clean_exit(srv);
}

// A stream upload in progress at SIGTERM finishes and gets its digest, while
// an idle connection is closed at once (--drain-grace 0: no grace for those
// silent since their accept) and newcomers are refused at once.
TEST(Shutdown, StreamInProgressFinishesIdleIsClosedNewcomersRefused)
{
    server_process srv({"--protocol", "stream", "--shutdown-timeout", "120", "--drain-grace", "0"});
    auto base = srv.open_sockets();

    auto busy = connect_to(srv.port());
    ASSERT_TRUE(busy);
    // Send more than the kernel can buffer for one connection: once the sends
    // return, the server has certainly read part of it, so the request is in
    // progress (not idle) when the signal comes.
    std::size_t const first_part = socket_buffers_ceiling() + (1U << 20);
    byte_source src(42);
    std::uint64_t h = fnv1a_basis;
    std::thread writer([&] {
        std::string buf(1 << 20, '\0');
        for (std::size_t sent = 0; sent < first_part; sent += buf.size()) {
            src.fill(buf.data(), buf.size());
            h = reference_fnv1a(buf, h);
            if (!send_all(busy.get(), buf)) return;
        }
    });
    writer.join();

    auto idle = connect_to(srv.port());
    ASSERT_TRUE(idle);
    ASSERT_TRUE(wait_for_sockets(srv, base + 2)) << "the server did not accept the idle client";

    srv.signal(SIGTERM);
    auto r = read_until_eof(idle.get(), 30s);
    EXPECT_TRUE(r.eof) << "the idle connection was not closed at once";
    EXPECT_EQ(r.data, "");
    // The idle client's EOF comes after the acceptor was closed: no more connections.
    EXPECT_TRUE(srv.running()) << "exited with a request in progress; log:\n" << srv.log();
    EXPECT_TRUE(connection_refused(srv.port())) << "still accepting after SIGTERM";

    // The upload goes on after the signal and ends normally.
    std::string tail = src.bytes(123'457);
    h = reference_fnv1a(tail, h);
    ASSERT_TRUE(send_all(busy.get(), tail));
    shutdown_write(busy.get());
    auto reply = read_until_eof(busy.get(), 60s);
    EXPECT_EQ(reply.data, hex16(h) + "\n");
    EXPECT_TRUE(reply.eof);
    expect_clean_exit(srv);
}

// In `lines`, a connection between lines is idle and is closed at once: it
// has been heard from, so the drain's grace (a minute here, longer than the
// reads below wait) is not for it. One with a partial line is in a request and
// gets to finish it (and then it is closed, since the server is stopping).
TEST(Shutdown, LinesBetweenLinesIsClosedPartialLineFinishes)
{
    server_process srv({"--protocol", "lines", "--shutdown-timeout", "120", "--drain-grace", "60"});
    auto between = connect_to(srv.port());
    auto partial = connect_to(srv.port());
    ASSERT_TRUE(between && partial);

    ASSERT_TRUE(send_all(between.get(), "hello world\n"));
    ASSERT_EQ(read_exactly(between.get(), 17, 20s), "782e1488cd5a68b7\n");
    // "first\n" and the start of the next line go in one send, so the server
    // reads them in one read: once the reply to "first\n" is here, the server
    // holds "sec" as a line in progress.
    ASSERT_TRUE(send_all(partial.get(), "first\nsec"));
    ASSERT_EQ(read_exactly(partial.get(), 17, 20s), reference_digest("fnv1a", "first\n"));

    srv.signal(SIGTERM);
    auto r = read_until_eof(between.get(), 30s);
    EXPECT_TRUE(r.eof) << "the connection between lines was not closed at once";
    EXPECT_EQ(r.data, "");

    ASSERT_TRUE(send_all(partial.get(), "ond\n"));
    auto rest = read_until_eof(partial.get(), 30s);
    EXPECT_EQ(rest.data, reference_digest("fnv1a", "second\n"));
    EXPECT_TRUE(rest.eof) << "closed after finishing the request in progress";
    expect_clean_exit(srv);
}

// A load balancer in TCP mode connects before its client's bytes arrive: a
// connection silent since its accept at SIGTERM gets --drain-grace to start
// its request, and is then served in full, in every protocol.
TEST(Shutdown, SilentSinceAcceptIsServedWithinTheGrace)
{
    for (std::string proto : {"oneshot", "stream", "lines"}) {
        SCOPED_TRACE(proto);
        server_process srv({"--protocol", proto, "--shutdown-timeout", "300", "--drain-grace", "120"});
        auto base = srv.open_sockets();
        auto silent = connect_to(srv.port());
        ASSERT_TRUE(silent);
        ASSERT_TRUE(wait_for_sockets(srv, base + 1)) << "the server did not accept the client";

        srv.signal(SIGTERM);
        wait_for_log(srv, "stopped accepting");
        ASSERT_TRUE(connection_refused(srv.port())) << "still accepting after SIGTERM";
        ASSERT_TRUE(srv.running()) << "exited, closing a connection within its grace; log:\n" << srv.log();

        ASSERT_TRUE(send_all(silent.get(), "hello world\n"));
        if (proto == "stream") shutdown_write(silent.get());
        if (proto == "lines") {
            EXPECT_EQ(read_exactly(silent.get(), 17, 30s), "782e1488cd5a68b7\n");
            auto rest = read_until_eof(silent.get(), 30s);
            EXPECT_TRUE(rest.eof) << "closed once its request was answered, the server stopping";
            EXPECT_EQ(rest.data, "");
        } else {
            auto r = read_until_eof(silent.get(), 30s);
            EXPECT_EQ(r.data, "782e1488cd5a68b7\n");
            EXPECT_TRUE(r.eof);
        }
        expect_clean_exit(srv);
    }
}

// Past the grace, a connection still silent is closed as idle: no reply, and
// a clean exit (status 0: no request was cut off).
TEST(Shutdown, SilentPastTheGraceIsClosedAsIdle)
{
    server_process srv({"--drain-grace", "0.2"});
    auto base = srv.open_sockets();
    auto silent = connect_to(srv.port());
    ASSERT_TRUE(silent);
    ASSERT_TRUE(wait_for_sockets(srv, base + 1)) << "the server did not accept the client";

    srv.signal(SIGTERM);
    auto r = read_until_eof(silent.get(), 30s);
    EXPECT_TRUE(r.eof) << "the silent connection was never closed";
    EXPECT_EQ(r.data, "");
    expect_clean_exit(srv);
    EXPECT_NE(srv.log().find("all connections drained"), std::string::npos) << srv.log();
}

// At the connection limit the accept loop is parked waiting for a free slot;
// SIGTERM must still stop it (and the newcomer left in the backlog is reset,
// never served half-way).
TEST(Shutdown, SigtermAtTheConnectionLimit)
{
    server_process srv({"--max-connections", "1"});
    auto base = srv.open_sockets();
    auto held = connect_to(srv.port());
    ASSERT_TRUE(held);
    ASSERT_TRUE(wait_for_sockets(srv, base + 1));
    auto waiting = connect_to(srv.port()); // completes in the kernel backlog
    ASSERT_TRUE(waiting);

    srv.signal(SIGTERM);
    auto r = read_until_eof(held.get(), 30s);
    EXPECT_TRUE(r.eof);
    EXPECT_EQ(r.data, "");
    auto w = read_until_eof(waiting.get(), 30s);
    EXPECT_FALSE(w.timeout);
    EXPECT_EQ(w.data, "");
    expect_clean_exit(srv);
}
