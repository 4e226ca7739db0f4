// SPDX-License-Identifier: BSL-1.0
// When a connection's silence runs out. Written by the connection's own I/O
// (on its strand), read by the server's sweep (on another): one atomic, so
// that no connection needs a timer of its own while it waits.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>

namespace hashsrv {

class idle_deadline {
public:
    using clock = std::chrono::steady_clock;

    clock::time_point get() const noexcept { return clock::time_point(clock::duration(at_.load(std::memory_order_relaxed))); }
    void set(clock::time_point t) noexcept { at_.store(t.time_since_epoch().count(), std::memory_order_relaxed); }
    /// Only ever later: `t` if it is past the current deadline.
    void extend(clock::time_point t) noexcept { set(std::max(get(), t)); }
    bool passed(clock::time_point now) const noexcept { return get() <= now; }

private:
    std::atomic<clock::rep> at_{clock::time_point::max().time_since_epoch().count()};
};

} // namespace hashsrv
