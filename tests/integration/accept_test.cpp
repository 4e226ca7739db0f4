// SPDX-License-Identifier: BSL-1.0
// Every client that connects is accepted on its own, and every byte that
// arrives is noticed, whatever the number of I/O threads: never "only once
// the next client comes". With several I/O threads, another thread's reactor
// may see a connection's or a byte's readiness between the session's own
// non-blocking try and the registration of its wait; these tests would hang
// (and fail at their generous bound) if that readiness were lost.
#include "polling.hpp"
#include "server_process.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace test_support;

namespace {

/// Keeps the server's I/O threads busy with pipelined lines on one persistent
/// connection, so that their reactors run while the test's clients connect.
class busy_client {
public:
    explicit busy_client(std::uint16_t port)
        : fd_(connect_to(port)), worker_([this] { run(); })
    {
    }
    ~busy_client()
    {
        stop_ = true;
        worker_.join();
    }
    std::size_t replies() const { return replies_.load(); }

private:
    void run()
    {
        std::string const batch = "hello world\nhello world\nhello world\nhello world\n";
        while (!stop_ && fd_) {
            if (!send_all(fd_.get(), batch)) return;
            if (read_exactly(fd_.get(), 4 * 17, 20s).size() != 4 * 17) return;
            replies_ += 4;
        }
    }

    fd_guard fd_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> replies_{0};
    std::thread worker_;
};

class Accept : public ::testing::TestWithParam<char const*> {};

} // namespace

// Idle clients connect in pairs, the second a moment after the first (while
// the accept loop goes back to waiting); both must be accepted before the
// next pair exists, so no later connection can be what wakes the loop.
TEST_P(Accept, EachSilentClientIsAcceptedOnItsOwn)
{
    server_process srv({"--protocol", "lines", "--io-threads", GetParam(), "--idle-timeout", "120"});
    busy_client load1(srv.port()), load2(srv.port());
    ASSERT_TRUE(eventually([&] { return load1.replies() > 0 && load2.replies() > 0; })); // both accepted
    auto const base = srv.open_sockets();
    std::vector<fd_guard> held;
    for (int i = 0; i < 100; ++i) {
        held.push_back(connect_to(srv.port()));
        std::this_thread::sleep_for(std::chrono::microseconds(20 * (i % 25)));
        held.push_back(connect_to(srv.port()));
        ASSERT_TRUE(held[held.size() - 2] && held.back());
        ASSERT_TRUE(wait_for_sockets(srv, base + held.size(), 10s))
            << "pair " << i << " was connected but not accepted; log:\n" << srv.log();
    }
}

// A client that sends a moment after it connected (while its session goes
// from its first try to waiting) gets its reply at once, not at the idle
// timeout.
TEST_P(Accept, BytesThatComeAfterTheWaitBeganAreRead)
{
    server_process srv({"--protocol", "lines", "--io-threads", GetParam(), "--idle-timeout", "120"});
    busy_client load(srv.port());
    ASSERT_TRUE(eventually([&] { return load.replies() > 0; })); // accepted
    auto const base = srv.open_sockets();
    for (int i = 0; i < 100; ++i) {
        auto fd = connect_to(srv.port());
        ASSERT_TRUE(fd);
        std::this_thread::sleep_for(std::chrono::microseconds(20 * (i % 25)));
        ASSERT_TRUE(send_all(fd.get(), "hello world\n"));
        ASSERT_EQ(read_exactly(fd.get(), 17, 10s), "782e1488cd5a68b7\n")
            << "client " << i << ": its line was not noticed; log:\n" << srv.log();
        fd.reset();
        ASSERT_TRUE(eventually([&] { return srv.open_sockets() == base; }, 10s));
    }
}

// A burst of connections, several times --max-connections, each with its
// line sent before the server has accepted it: the server holds at most the
// limit (sessions and descriptors taken from the kernel ahead of their
// sessions alike), starts them oldest first, and serves every one as earlier
// ones go. Fewer than 128 in all, so that even an accept queue of the old
// net.core.somaxconn default holds those the server has not taken.
TEST_P(Accept, ABurstBeyondTheLimitIsServedInFull)
{
    constexpr int limit = 16, clients = 120;
    server_process srv({"--protocol", "lines", "--io-threads", GetParam(), "--max-connections", std::to_string(limit)});
    auto const base = srv.open_sockets();
    std::vector<fd_guard> fds;
    for (int i = 0; i < clients; ++i) {
        fds.push_back(connect_to(srv.port())); // completes in the kernel's queue
        ASSERT_TRUE(fds.back()) << "client " << i;
        ASSERT_TRUE(send_all(fds.back().get(), "hello world\n"));
    }
    ASSERT_TRUE(wait_for_sockets(srv, base + limit, 10s));
    EXPECT_LE(srv.open_sockets(), base + limit) << "more connections taken than --max-connections";
    for (int i = 0; i < clients; ++i) {
        ASSERT_EQ(read_exactly(fds[i].get(), 17, 20s), "782e1488cd5a68b7\n")
            << "client " << i << " of the burst was not served; log:\n" << srv.log();
        fds[i].reset(); // its slot frees for the next
    }
    EXPECT_TRUE(eventually([&] { return srv.open_sockets() == base; }, 10s));
}

INSTANTIATE_TEST_SUITE_P(IoThreads, Accept, ::testing::Values("1", "2", "3"));
