// SPDX-License-Identifier: BSL-1.0
// Graceful drain: SIGTERM while streams are in the middle of uploading. Every
// accepted connection gets its full, correct digest; new connections are
// refused at once (the acceptor is closed); the process exits 0 within
// --shutdown-timeout. Past that deadline the connections still open are
// closed and the exit status says so (3, see `hash_server --help`).
#include "payload.hpp"
#include "polling.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "sockets.hpp"
#include "system.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace test_support;

namespace {

bool log_has(server_process const& srv, std::string_view what)
{
    return srv.log().find(what) != std::string::npos;
}

TEST(Drain, SigtermMidUploadEveryAcceptedStreamGetsItsDigest)
{
    constexpr int uploads = 8;
    std::size_t const pieces = sanitized ? 16 : 64; // 64 KiB each, half before SIGTERM, half after
    server_process srv({"--protocol", "stream", "--shutdown-timeout", "10"});
    ASSERT_EQ(request(srv.port(), "warm\n"), reference_digest("fnv1a", "warm\n"));
    std::size_t const baseline_fds = settled_fds(srv);

    std::mt19937_64 rng(99);
    auto const piece = random_bytes(rng, 64 * 1024);
    std::atomic<int> halfway{0};
    std::atomic<bool> go_on{false};
    std::vector<std::string> got(uploads), want(uploads);
    std::vector<std::thread> clients;
    // Whatever happens (a failed ASSERT returns early), the clients finish and are joined.
    struct join_all {
        std::vector<std::thread>& threads;
        std::atomic<bool>& go_on;
        ~join_all()
        {
            go_on = true;
            for (auto& t : threads)
                if (t.joinable()) t.join();
        }
    } joiner{clients, go_on};
    for (int u = 0; u < uploads; ++u) {
        clients.emplace_back([&, u] {
            auto fd = connect_to(srv.port());
            std::string sent;
            auto send_piece = [&](std::size_t k) {
                std::string p = piece;
                p[0] = static_cast<char>(u);
                p[1] = static_cast<char>(k);
                sent += p;
                return send_all(fd.get(), p);
            };
            for (std::size_t k = 0; fd && k < pieces / 2; ++k) send_piece(k);
            halfway.fetch_add(1);
            for (int i = 0; i < 60'000 && !go_on.load(); ++i) std::this_thread::sleep_for(1ms);
            for (std::size_t k = pieces / 2; fd && k < pieces; ++k) send_piece(k);
            want[static_cast<std::size_t>(u)] = reference_digest("fnv1a", sent);
            if (!fd) return;
            shutdown_write(fd.get());
            got[static_cast<std::size_t>(u)] = read_until_eof(fd.get(), 60s).data;
        });
    }
    ASSERT_TRUE(eventually([&] { return halfway.load() == uploads; }, 60s));
    // Every upload is accepted by the server (it holds a descriptor for each).
    ASSERT_TRUE(eventually([&] { return srv.open_fds() >= baseline_fds + uploads; }))
        << srv.open_fds() << " descriptors, baseline " << baseline_fds;

    srv.signal(SIGTERM);
    ASSERT_TRUE(eventually([&] { return log_has(srv, "stopped accepting"); })) << log_tail(srv);
    // New connections are refused at once: connect fails, or the connection
    // is reset or closed without a reply (never served, never left hanging).
    for (int i = 0; i < 20; ++i) {
        auto late = connect_to(srv.port());
        if (!late) continue; // refused
        send_all(late.get(), "too late\n");
        shutdown_write(late.get());
        auto r = read_until_eof(late.get(), 5s);
        EXPECT_FALSE(r.timeout) << "a connection made after SIGTERM was left hanging";
        EXPECT_EQ(r.data, "") << "a connection made after SIGTERM was served";
    }
    EXPECT_TRUE(srv.running()) << "exited with uploads still in progress\n" << log_tail(srv);

    go_on = true;
    for (auto& t : clients) t.join();
    for (int u = 0; u < uploads; ++u)
        EXPECT_EQ(got[static_cast<std::size_t>(u)], want[static_cast<std::size_t>(u)]) << "upload " << u;
    auto st = srv.wait_exit(15s); // --shutdown-timeout 10, plus a margin to detect a hang
    ASSERT_TRUE(st.has_value()) << log_tail(srv);
    EXPECT_TRUE(st->exited) << "killed by signal " << st->code << "\n" << log_tail(srv);
    EXPECT_EQ(st->code, 0) << log_tail(srv);
    EXPECT_TRUE(log_has(srv, "all connections drained")) << log_tail(srv);
}

TEST(Drain, PastTheDeadlineConnectionsAreClosedAndExitStatusIs3)
{
    server_process srv({"--protocol", "stream", "--shutdown-timeout", "1", "--idle-timeout", "600"});
    ASSERT_EQ(request(srv.port(), "warm\n"), reference_digest("fnv1a", "warm\n"));
    std::size_t const baseline_fds = settled_fds(srv);
    // One client finishes in time, one stalls in the middle of its upload.
    auto prompt = connect_to(srv.port());
    auto stalled = connect_to(srv.port());
    ASSERT_TRUE(prompt && stalled);
    std::string const part = std::string(100'000, 'p');
    ASSERT_TRUE(send_all(prompt.get(), part));
    ASSERT_TRUE(send_all(stalled.get(), std::string(100'000, 's')));
    ASSERT_TRUE(eventually([&] { return srv.open_fds() >= baseline_fds + 2; }));
    std::this_thread::sleep_for(100ms); // both sessions have read their first chunk

    srv.signal(SIGTERM);
    ASSERT_TRUE(eventually([&] { return log_has(srv, "stopped accepting"); })) << log_tail(srv);
    shutdown_write(prompt.get());
    EXPECT_EQ(read_until_eof(prompt.get(), 10s).data, reference_digest("fnv1a", part)) << log_tail(srv);

    // The stalled one is cut off at the deadline: closed without a digest.
    auto r = read_until_eof(stalled.get(), 30s);
    EXPECT_FALSE(r.timeout) << "the stalled connection was never closed\n" << log_tail(srv);
    EXPECT_EQ(r.data, "");
    auto st = srv.wait_exit(10s);
    ASSERT_TRUE(st.has_value()) << log_tail(srv);
    EXPECT_TRUE(st->exited) << "killed by signal " << st->code;
    EXPECT_EQ(st->code, 3) << log_tail(srv);
    EXPECT_TRUE(log_has(srv, "shutdown timeout passed")) << log_tail(srv);
}

} // namespace

namespace {

TEST(Drain, SecondSigtermClosesAtOnceAndExitStatusIs3)
{
    server_process srv({"--protocol", "stream", "--shutdown-timeout", "60", "--idle-timeout", "600"});
    ASSERT_EQ(request(srv.port(), "warm\n"), reference_digest("fnv1a", "warm\n"));
    std::size_t const baseline_fds = settled_fds(srv);
    auto stalled = connect_to(srv.port());
    ASSERT_TRUE(stalled);
    ASSERT_TRUE(send_all(stalled.get(), std::string(100'000, 's')));
    ASSERT_TRUE(eventually([&] { return srv.open_fds() >= baseline_fds + 1; }));
    std::this_thread::sleep_for(100ms); // the session has read its first chunk

    srv.signal(SIGTERM);
    ASSERT_TRUE(eventually([&] { return log_has(srv, "stopped accepting"); })) << log_tail(srv);
    srv.signal(SIGTERM); // the operator insists: no waiting for the 60 s deadline
    auto r = read_until_eof(stalled.get(), 30s);
    EXPECT_FALSE(r.timeout) << "the stalled connection was never closed\n" << log_tail(srv);
    EXPECT_EQ(r.data, "");
    auto st = srv.wait_exit(30s);
    ASSERT_TRUE(st.has_value()) << log_tail(srv);
    EXPECT_TRUE(st->exited) << "killed by signal " << st->code;
    EXPECT_EQ(st->code, 3) << "a request was cut off: the exit status must say so\n" << log_tail(srv);
    EXPECT_TRUE(log_has(srv, "second stop request")) << log_tail(srv);
}

} // namespace
