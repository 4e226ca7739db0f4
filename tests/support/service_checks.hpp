// SPDX-License-Identifier: BSL-1.0
// Whether the server still serves normal clients while a test abuses it, and
// after: a bystander client on its own thread, and the check a fault test ends
// with.
#pragma once

#include "polling.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "sockets.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

namespace test_support {

/// A normal client requesting in a loop on its own thread while a test abuses
/// the server around it; counts right and wrong answers.
class bystander {
public:
    bystander(std::uint16_t port, bool lines, std::chrono::milliseconds pause = 0ms)
        : port_(port), lines_(lines), pause_(pause), thread_([this] { loop(); })
    {
    }
    ~bystander() { finish(); }
    bystander(bystander const&) = delete;
    bystander& operator=(bystander const&) = delete;

    void finish()
    {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    int served() const { return served_.load(); }
    int wrong() const { return wrong_.load(); }

private:
    void loop()
    {
        for (int i = 0; i < 1'000'000 && !stop_.load(); ++i) {
            std::string payload = "bystander " + std::to_string(i) + "\n";
            auto want = lines_ ? reference_lines("fnv1a", payload) : reference_digest("fnv1a", payload);
            (request(port_, payload) == want ? served_ : wrong_).fetch_add(1);
            if (pause_.count() > 0) std::this_thread::sleep_for(pause_);
        }
    }

    std::uint16_t port_;
    bool lines_;
    std::chrono::milliseconds pause_;
    std::atomic<bool> stop_{false};
    std::atomic<int> served_{0}, wrong_{0};
    std::thread thread_; // last: starts once the members above exist
};

/// Every fault test ends here: the server survived, still answers a normal
/// request correctly, and stops cleanly (exit 0) on SIGTERM. A sanitizer
/// report in the server (ASan aborts, TSan exits 66) fails this.
inline void expect_healthy_then_stop(server_process& srv, std::string_view alg = "fnv1a", bool lines = false)
{
    ASSERT_TRUE(srv.running()) << log_tail(srv);
    std::string const probe = "still serving?\n";
    EXPECT_EQ(request(srv.port(), probe), lines ? reference_lines(alg, probe) : reference_digest(alg, probe))
        << log_tail(srv);
    srv.signal(SIGTERM);
    auto st = srv.wait_exit(30s);
    ASSERT_TRUE(st.has_value()) << "no exit 30 s after SIGTERM\n" << log_tail(srv);
    EXPECT_TRUE(st->exited && st->code == 0) << "exited=" << st->exited << " code=" << st->code << "\n"
                                             << log_tail(srv);
    EXPECT_EQ(srv.log().find("ERROR"), std::string::npos) << log_tail(srv);
}

} // namespace test_support
