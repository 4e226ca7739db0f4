// SPDX-License-Identifier: BSL-1.0
// Clients that vanish: a reset (SO_LINGER 0) right after sending, or in the
// middle of a stream or of a pipeline of lines. The server logs it at debug
// level, never crashes, and keeps serving everyone else correctly.
#include "payload.hpp"
#include "polling.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"
#include "system.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>

using namespace test_support;

namespace {

class Vanish : public ::testing::TestWithParam<std::string> {};

TEST_P(Vanish, ResetsRightAfterSendingAndMidRequest)
{
    auto const& proto = GetParam();
    server_process srv({"--protocol", proto, "--log-level", "debug"});
    std::mt19937_64 rng(42);
    int const clients = sanitized ? 100 : 300;
    {
        bystander others{srv.port(), proto == "lines"};
        for (int i = 0; i < clients; ++i) {
            auto fd = connect_to(srv.port());
            ASSERT_TRUE(fd) << log_tail(srv);
            switch (i % 3) {
            case 0: // a whole request, then gone before the reply
                send_all(fd.get(), random_bytes(rng, 1 + rng() % 4096));
                break;
            case 1: // half-closed request, then gone: the reply meets a reset
                send_all(fd.get(), "hello world\n");
                shutdown_write(fd.get());
                break;
            case 2: // in the middle: a stream without its end, or a pipeline cut in a line
                send_all(fd.get(), random_bytes(rng, 64 * 1024 + rng() % (256 * 1024)));
                send_all(fd.get(), std::string(1000, 'x')); // no "\n": a line in progress
                break;
            }
            if (i % 7 == 0) std::this_thread::sleep_for(1ms); // let some requests reach the pool
            reset_close(fd);
        }
        // Let the last resets reach the server; bystanders go on meanwhile.
        std::this_thread::sleep_for(200ms);
        others.finish();
        EXPECT_GT(others.served(), 0);
        EXPECT_EQ(others.wrong(), 0) << log_tail(srv);
    }
    ASSERT_TRUE(srv.running()) << log_tail(srv);
    auto log = srv.log();
    // Vanishing mid-request is logged at debug level, never as a warning or an error.
    EXPECT_NE(log.find("DEBUG"), std::string::npos) << log_tail(srv);
    EXPECT_EQ(log.find("WARN"), std::string::npos) << log_tail(srv);
    expect_healthy_then_stop(srv, "fnv1a", proto == "lines");
}

INSTANTIATE_TEST_SUITE_P(EveryProtocol, Vanish, ::testing::Values("oneshot", "stream", "lines"));

TEST(Vanish, DescriptorsComeBackAfterResets)
{
    server_process srv({"--protocol", "stream", "--log-level", "debug"});
    ASSERT_EQ(request(srv.port(), "warm\n"), reference_digest("fnv1a", "warm\n"));
    ASSERT_TRUE(eventually([&] { return srv.open_fds() > 0; }));
    std::size_t const baseline = settled_fds(srv);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 100; ++i) {
        auto fd = connect_to(srv.port());
        ASSERT_TRUE(fd);
        send_all(fd.get(), random_bytes(rng, 100'000));
        reset_close(fd);
    }
    EXPECT_TRUE(eventually([&] { return srv.open_fds() == baseline; }))
        << "open descriptors " << srv.open_fds() << ", baseline " << baseline << "\n" << log_tail(srv);
    EXPECT_NE(srv.log().find("request abandoned"), std::string::npos) << log_tail(srv);
    expect_healthy_then_stop(srv);
}

} // namespace
