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

/// How a TLS handshake ended; the label of hash_server_tls_handshakes_total.
/// closed: the client left (or the server shut down) before it was done.
enum class handshake_result { ok, failed, timeout, closed, count_ };

std::string_view to_string(handshake_result r) noexcept;

class latency_histogram {
public:
    /// Upper bounds in seconds, Prometheus style (the last bucket is +Inf).
    /// The buckets below 100 us tell a hop's stages apart: a pool thread
    /// already running or an I/O thread already awake takes microseconds, a
    /// wake-up that waits for another thread's turn takes milliseconds.
    static constexpr std::array<double, 17> bounds{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
                                                   0.001,   0.0025,   0.005,   0.01,   0.025,   0.05,
                                                   0.1,     0.25,     0.5,     1,      5};

    void observe(std::chrono::nanoseconds d) noexcept;
    /// `labels`: the series' labels without braces (`kind="request"`), or empty.
    void render(std::string& out, std::string_view name, std::string_view labels = {}) const;

private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

/// What a pool job carries. A whole request's hash (a oneshot request, a
/// batch of lines, a stream upload that fits one chunk) is what a client
/// waits for; a chunk of a longer upload is one step of a pipeline, and its
/// stages would hide a small request's among thousands of its own.
enum class job_kind { request, chunk, count_ };

std::string_view to_string(job_kind k) noexcept;

/// Where a hop's time goes, one histogram per stage: waiting for a pool
/// thread, running there (its yields to the pool's queue included), and
/// waiting to resume on the session's strand once done.
struct hop_stages {
    latency_histogram pool_wait;
    latency_histogram pool_run;
    latency_histogram resume_wait;
};

struct metrics {
    using counter = std::atomic<std::uint64_t>;
    using gauge = std::atomic<std::int64_t>;

    counter connections_accepted{0};
    counter connections_rejected{0}; // refused: over --max-connections-per-client
    counter accept_errors{0};        // accept failed (descriptors exhausted, ...) and was retried
    counter proxy_header_errors{0};  // --proxy-protocol: closed for want of a valid header
    gauge connections_active{0};
    std::array<counter, static_cast<std::size_t>(outcome::count_)> requests{};
    counter bytes_hashed{0};
    counter hops{0};
    gauge pool_jobs_queued{0};
    gauge pool_jobs_running{0};
    counter idle_timeouts{0};
    latency_histogram latency;
    std::array<hop_stages, static_cast<std::size_t>(job_kind::count_)> stages;
    bool tls = false; // the TLS series are shown only when the port speaks TLS
    std::array<counter, static_cast<std::size_t>(handshake_result::count_)> tls_handshakes{};
    latency_histogram tls_handshake_duration; // of the handshakes that succeeded

    hop_stages& stages_of(job_kind k) noexcept { return stages[static_cast<std::size_t>(k)]; }
    void count(outcome o) noexcept { requests[static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed); }
    void count(handshake_result r) noexcept
    {
        tls_handshakes[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
    }

    /// Prometheus text exposition format 0.0.4.
    std::string render(protocol proto, algorithm alg) const;

private:
    void render_tls(std::string& out) const;
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
