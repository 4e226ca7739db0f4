// SPDX-License-Identifier: BSL-1.0
// The server's counters. Plain relaxed atomics: sessions on any io thread and
// jobs on the pool bump them; the /metrics endpoint reads a loose snapshot.
#pragma once

#include <hashsrv/framing/protocol.hpp>
#include <hashsrv/hash/algorithm.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace hashsrv {

/// Why a request ended; the label of hash_server_requests_total.
enum class outcome { ok, too_long, too_big, idle_timeout, client_gone, shutdown, count_ };

std::string_view to_string(outcome o) noexcept;

class latency_histogram {
public:
    /// Upper bounds in seconds, Prometheus style (the last bucket is +Inf).
    static constexpr std::array<double, 14> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                   0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};

    void observe(std::chrono::nanoseconds d) noexcept;
    void render(std::string& out, std::string_view name) const;

private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

struct metrics {
    using counter = std::atomic<std::uint64_t>;
    using gauge = std::atomic<std::int64_t>;

    counter connections_accepted{0};
    counter connections_rejected{0}; // refused: over --max-connections-per-client
    counter accept_errors{0};        // accept failed (descriptors exhausted, ...) and was retried
    gauge connections_active{0};
    std::array<counter, static_cast<std::size_t>(outcome::count_)> requests{};
    counter bytes_hashed{0};
    counter hops{0};
    gauge pool_jobs_queued{0};
    gauge pool_jobs_running{0};
    counter idle_timeouts{0};
    latency_histogram latency;

    void count(outcome o) noexcept { requests[static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed); }

    /// Prometheus text exposition format 0.0.4.
    std::string render(protocol proto, algorithm alg) const;
};

/// A pool job, for as long as it runs on the pool: moves it from queued to running.
class pool_job_running {
public:
    explicit pool_job_running(metrics& m) noexcept : m_(m)
    {
        m_.pool_jobs_queued.fetch_sub(1, std::memory_order_relaxed);
        m_.pool_jobs_running.fetch_add(1, std::memory_order_relaxed);
    }
    ~pool_job_running() { m_.pool_jobs_running.fetch_sub(1, std::memory_order_relaxed); }
    pool_job_running(pool_job_running const&) = delete;
    pool_job_running& operator=(pool_job_running const&) = delete;

private:
    metrics& m_;
};

} // namespace hashsrv
