// SPDX-License-Identifier: BSL-1.0
// Signals a process gets from its surroundings rather than from an operator
// who means it to stop: SIGPIPE when whatever reads its log has gone
// (`hash_server 2>&1 | tee log`, then tee dies), and SIGHUP.
#include "payload.hpp"
#include "polling.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "service_checks.hpp"
#include "sockets.hpp"
#include "system.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <random>
#include <string>

using namespace test_support;

// The log's reader is gone: log lines are lost, the server is not. SIGTERM
// (whose log line is the first to hit the broken pipe) still drains: an
// upload in progress gets its digest, and the exit status is 0.
TEST(Signals, ClosedLogPipeDoesNotKillAndTheDrainStillHappens)
{
    server_process::options piped; // stdout and stderr on the pipe the test closes after the banner
    piped.log_on_stdout = true;
    server_process srv({"--protocol", "stream", "--log-level", "debug"}, piped);
    EXPECT_EQ(request(srv.port(), "hello world\n"), reference_digest("fnv1a", "hello world\n"));
    // More than the socket buffers can hold: once it is sent, the server has
    // read some of it, so the upload is in progress when SIGTERM comes.
    std::mt19937_64 rng(7);
    auto const upload = random_bytes(rng, socket_buffers_ceiling() + (1U << 20));
    auto c = connect_to(srv.port());
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), upload.substr(0, upload.size() - 1000)));
    srv.signal(SIGTERM);
    ASSERT_TRUE(send_all(c.get(), upload.substr(upload.size() - 1000)));
    shutdown_write(c.get());
    EXPECT_EQ(read_until_eof(c.get(), 30s).data, reference_digest("fnv1a", upload));
    auto st = srv.wait_exit(30s);
    ASSERT_TRUE(st.has_value()) << "no exit 30 s after SIGTERM";
    EXPECT_TRUE(st->exited) << "killed by signal " << st->code;
    EXPECT_EQ(st->code, 0);
}

// SIGHUP is logged and ignored: the server goes on serving, and stops only
// when asked to (its default action would end the process at once).
TEST(Signals, SighupIsLoggedAndIgnored)
{
    server_process srv({});
    srv.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return srv.log().find("SIGHUP") != std::string::npos || !srv.running(); }, 20s))
        << log_tail(srv);
    ASSERT_TRUE(srv.running()) << log_tail(srv);
    EXPECT_EQ(srv.log().find("shutting down"), std::string::npos) << log_tail(srv);
    expect_healthy_then_stop(srv);
}
