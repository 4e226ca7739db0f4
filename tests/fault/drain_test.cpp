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

/// SIGTERM, then waits until the server says that its acceptor is closed.
bool sigterm_until_not_accepting(server_process& srv)
{
    srv.signal(SIGTERM);
    return eventually([&] { return log_has(srv, "stopped accepting"); });
}

/// The stalled upload is closed without a digest, and the server exits within
/// `limit` with status 3 (a request was cut off), having logged `why`.
void expect_cut_off_with_status_3(server_process& srv, fd_guard const& stalled, std::chrono::milliseconds limit,
                                  std::string_view why)
{
    auto r = read_until_eof(stalled.get(), 30s);
    EXPECT_FALSE(r.timeout) << "the stalled connection was never closed\n" << log_tail(srv);
    EXPECT_EQ(r.data, "");
    auto st = srv.wait_exit(limit);
    ASSERT_TRUE(st.has_value()) << log_tail(srv);
    EXPECT_TRUE(st->exited) << "killed by signal " << st->code;
    EXPECT_EQ(st->code, 3) << "a request was cut off: the exit status must say so\n" << log_tail(srv);
    EXPECT_TRUE(log_has(srv, why)) << log_tail(srv);
}

/// Stream uploads on threads of their own, `pieces` pieces of 64 KiB each
/// (unique to the upload): each sends half, waits for resume() (the test
/// sends SIGTERM meanwhile), sends the rest and reads its digest.
class uploads_paused_halfway {
public:
    uploads_paused_halfway(std::uint16_t port, int uploads, std::size_t pieces)
        : count_(uploads), got_(static_cast<std::size_t>(uploads)), want_(static_cast<std::size_t>(uploads))
    {
        std::mt19937_64 rng(99);
        piece_ = random_bytes(rng, 64 * 1024);
        for (int u = 0; u < uploads; ++u) clients_.emplace_back([=, this] { run(port, u, pieces); });
    }
    // Whatever happens (a failed ASSERT returns early), the clients finish and are joined.
    ~uploads_paused_halfway() { resume(); }
    uploads_paused_halfway(uploads_paused_halfway const&) = delete;
    uploads_paused_halfway& operator=(uploads_paused_halfway const&) = delete;

    bool all_halfway() const { return halfway_.load() == count_; }

    /// Lets the uploads go on; returns once every one has its reply.
    void resume()
    {
        go_on_ = true;
        for (auto& t : clients_)
            if (t.joinable()) t.join();
    }

    std::string const& got(int u) const { return got_[static_cast<std::size_t>(u)]; }
    std::string const& want(int u) const { return want_[static_cast<std::size_t>(u)]; }

private:
    void run(std::uint16_t port, int u, std::size_t pieces)
    {
        auto fd = connect_to(port);
        std::string sent;
        auto send_piece = [&](std::size_t k) {
            std::string p = piece_;
            p[0] = static_cast<char>(u);
            p[1] = static_cast<char>(k);
            sent += p;
            return send_all(fd.get(), p);
        };
        for (std::size_t k = 0; fd && k < pieces / 2; ++k) send_piece(k);
        halfway_.fetch_add(1);
        eventually([&] { return go_on_.load(); }, 60s);
        for (std::size_t k = pieces / 2; fd && k < pieces; ++k) send_piece(k);
        want_[static_cast<std::size_t>(u)] = reference_digest("fnv1a", sent);
        if (!fd) return;
        shutdown_write(fd.get());
        got_[static_cast<std::size_t>(u)] = read_until_eof(fd.get(), 60s).data;
    }

    int const count_;
    std::string piece_;
    std::vector<std::string> got_, want_;
    std::atomic<int> halfway_{0};
    std::atomic<bool> go_on_{false};
    std::vector<std::thread> clients_; // last: the threads use the members above
};

/// Connections made once the acceptor is closed are refused: connect fails,
/// or the connection is reset or closed without a reply (never served,
/// never left hanging).
void expect_newcomers_refused(std::uint16_t port)
{
    for (int i = 0; i < 20; ++i) {
        auto late = connect_to(port);
        if (!late) continue; // refused
        send_all(late.get(), "too late\n");
        shutdown_write(late.get());
        auto r = read_until_eof(late.get(), 5s);
        EXPECT_FALSE(r.timeout) << "a connection made after SIGTERM was left hanging";
        EXPECT_EQ(r.data, "") << "a connection made after SIGTERM was served";
    }
}

TEST(Drain, SigtermMidUploadEveryAcceptedStreamGetsItsDigest)
{
    constexpr int uploads = 8;
    std::size_t const pieces = sanitized ? 16 : 64; // half before SIGTERM, half after
    server_process srv({"--protocol", "stream", "--shutdown-timeout", "10"});
    ASSERT_EQ(request(srv.port(), "warm\n"), reference_digest("fnv1a", "warm\n"));
    std::size_t const baseline_fds = settled_fds(srv);

    uploads_paused_halfway clients(srv.port(), uploads, pieces);
    ASSERT_TRUE(eventually([&] { return clients.all_halfway(); }, 60s));
    // Every upload is accepted by the server (it holds a descriptor for each).
    ASSERT_TRUE(eventually([&] { return srv.open_fds() >= baseline_fds + uploads; }))
        << srv.open_fds() << " descriptors, baseline " << baseline_fds;

    ASSERT_TRUE(sigterm_until_not_accepting(srv)) << log_tail(srv);
    expect_newcomers_refused(srv.port());
    EXPECT_TRUE(srv.running()) << "exited with uploads still in progress\n" << log_tail(srv);

    clients.resume();
    for (int u = 0; u < uploads; ++u) EXPECT_EQ(clients.got(u), clients.want(u)) << "upload " << u;
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

    ASSERT_TRUE(sigterm_until_not_accepting(srv)) << log_tail(srv);
    shutdown_write(prompt.get());
    EXPECT_EQ(read_until_eof(prompt.get(), 10s).data, reference_digest("fnv1a", part)) << log_tail(srv);
    // The stalled one is cut off at the deadline.
    expect_cut_off_with_status_3(srv, stalled, 10s, "shutdown timeout passed");
}

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

    ASSERT_TRUE(sigterm_until_not_accepting(srv)) << log_tail(srv);
    srv.signal(SIGTERM); // the operator insists: no waiting for the 60 s deadline
    expect_cut_off_with_status_3(srv, stalled, 30s, "second stop request");
}

} // namespace
