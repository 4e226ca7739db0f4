// SPDX-License-Identifier: BSL-1.0
// Descriptor exhaustion: bursts of connections beyond --max-connections, and
// beyond the server's own `ulimit -n`. During a burst the server never crashes
// or spins; after it, service is back to normal and no descriptor leaked.
#include "polling.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"
#include "system.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace test_support;

namespace {

std::vector<fd_guard> burst(std::uint16_t port, int n)
{
    std::vector<fd_guard> v;
    for (int i = 0; i < n; ++i) {
        auto fd = connect_to(port); // the kernel backlog takes what the server does not accept
        if (!fd) break;
        v.push_back(std::move(fd));
    }
    return v;
}

TEST(Exhaustion, BeyondTheConnectionLimitThenBackToNormal)
{
    raise_fd_limit();
    server_process srv({"--protocol", "lines", "--max-connections", "50", "--idle-timeout", "60"});
    ASSERT_EQ(request(srv.port(), "warm\n"), reference_lines("fnv1a", "warm\n"));
    std::size_t const baseline = settled_fds(srv);
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE("burst " + std::to_string(round));
        auto held = burst(srv.port(), 1000);
        ASSERT_EQ(held.size(), 1000U);
        // The server holds exactly its limit: 50 sessions, the rest wait in the backlog.
        EXPECT_TRUE(eventually([&] { return srv.open_fds() == baseline + 50; }))
            << srv.open_fds() << " descriptors, baseline " << baseline;
        // A newcomer waits too: its request is not answered while the limit is reached...
        auto waiting = connect_to(srv.port());
        ASSERT_TRUE(waiting);
        send_all(waiting.get(), "queued\n");
        shutdown_write(waiting.get());
        EXPECT_TRUE(stays_silent(waiting.get(), 300ms)) << "answered beyond --max-connections";
        // ...and is answered once the burst goes away.
        held.clear();
        auto r = read_until_eof(waiting.get(), 30s);
        EXPECT_EQ(r.data, reference_lines("fnv1a", "queued\n")) << log_tail(srv);
        EXPECT_TRUE(eventually([&] { return srv.open_fds() == baseline; }))
            << srv.open_fds() << " descriptors, baseline " << baseline;
        EXPECT_EQ(request(srv.port(), "after\n"), reference_lines("fnv1a", "after\n"));
    }
    expect_healthy_then_stop(srv, "fnv1a", true);
}

TEST(Exhaustion, AtALowUlimitThenBackToNormal)
{
    raise_fd_limit();
    server_process::options opt;
    opt.max_open_files = 64;
    server_process srv({"--protocol", "lines", "--idle-timeout", "60"}, opt);
    ASSERT_EQ(request(srv.port(), "warm\n"), reference_lines("fnv1a", "warm\n"));
    std::size_t const baseline = settled_fds(srv);
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE("burst " + std::to_string(round));
        auto held = burst(srv.port(), 300); // far more than 64 descriptors
        ASSERT_EQ(held.size(), 300U);
        EXPECT_TRUE(eventually([&] { return srv.log().find("accept failed") != std::string::npos; }))
            << log_tail(srv);
        ASSERT_TRUE(srv.running()) << log_tail(srv);
        // Sessions accepted before the limit still work: the first connections answer.
        send_all(held.front().get(), "held\n");
        EXPECT_EQ(read_exactly(held.front().get(), 17, 30s), reference_lines("fnv1a", "held\n"));
        held.clear();
        EXPECT_TRUE(eventually([&] { return srv.open_fds() == baseline; }, 30s))
            << srv.open_fds() << " descriptors, baseline " << baseline << "\n" << log_tail(srv);
        EXPECT_EQ(request(srv.port(), "after\n"), reference_lines("fnv1a", "after\n")) << log_tail(srv);
    }
    // EMFILE is a warning (with back-off), not an error, and never a crash.
    ASSERT_TRUE(srv.running()) << log_tail(srv);
    expect_healthy_then_stop(srv, "fnv1a", true);
}

} // namespace
