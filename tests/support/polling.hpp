// SPDX-License-Identifier: BSL-1.0
// Bounded waits. A test never sleeps for a fixed time and hopes: it polls for
// the state it needs, and the bound only turns a hang into a failure, so it is
// generous and never decides a pass.
#pragma once

#include <chrono>
#include <thread>

namespace test_support {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

/// Polls `pred` until it holds or `limit` passes; whether it held.
template <typename Pred>
bool eventually(Pred&& pred, std::chrono::milliseconds limit = 20s)
{
    auto const until = clock::now() + limit;
    while (!pred()) {
        if (clock::now() >= until) return pred();
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

/// What is left of `deadline` as a poll(2) timeout: 0 once it has passed.
inline int millis_until(clock::time_point deadline)
{
    auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

} // namespace test_support
