// SPDX-License-Identifier: BSL-1.0
// The tutorial's accept loop `break`s on any error, so one EMFILE stops it
// from ever accepting again. Ours logs, backs off, and accepts again once
// descriptors are free.
#include "polling.hpp"
#include "server_process.hpp"
#include "sockets.hpp"
#include "text.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <vector>

using namespace test_support;

TEST(FdExhaustion, AcceptLoopSurvivesEmfile)
{
    // The server runs under `ulimit -n 64`; 100 idle clients (the kernel's
    // backlog completes all their handshakes) leave it without descriptors.
    constexpr rlim_t limit = 64;
    constexpr int clients = 100;
    server_process::options opt;
    opt.max_open_files = limit;
    server_process srv({}, opt);

    auto started = clock::now();
    std::vector<fd_guard> held;
    for (int i = 0; i < clients; ++i) {
        held.push_back(connect_to(srv.port()));
        ASSERT_TRUE(held.back()) << "connection " << i;
    }
    ASSERT_TRUE(eventually([&] { return srv.log().find("accept failed") != std::string::npos; }, 30s))
        << "the server never ran out of descriptors; log:\n" << srv.log();
    EXPECT_LE(srv.open_fds(), limit);
    EXPECT_TRUE(srv.running());

    std::this_thread::sleep_for(300ms); // a burst of retries
    held.clear(); // release every descriptor
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    EXPECT_EQ(request(srv.port(), "test data 123\n"), "daf63590896c6e23\n");
    auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count();

    // One warning for the burst, and one line when it is over with the count.
    auto log = srv.log();
    EXPECT_EQ(count_of(log, "accept failed"), 1U) << log;
    static constexpr std::string_view again = "accepting again after ";
    auto at = log.find(again);
    ASSERT_NE(at, std::string::npos) << log;
    // No busy loop: the retries are spaced by the backoff (100 ms). A slow
    // machine makes fewer retries, never more, so this bound cannot flake.
    auto retries = std::stoul(log.substr(at + again.size()));
    EXPECT_GE(retries, 1U);
    EXPECT_LE(retries, static_cast<std::size_t>(elapsed_ms / 50 + 5)) << "accept retried too often:\n" << log;
    EXPECT_NE(log.find("Too many open files"), std::string::npos) << log;

    srv.signal(SIGTERM);
    auto st = srv.wait_exit(60s);
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(st->exited);
    EXPECT_EQ(st->code, 0);
}
