// SPDX-License-Identifier: BSL-1.0
// The server's hop: run_on (include/hashsrv/run_on.hpp) with back-pressure
// and accounting around it.
#pragma once

#include "observe/metrics.hpp"
#include "pool/job_limit.hpp"

#include <hashsrv/run_on.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <type_traits>

namespace hashsrv {

/// Where sessions send their hash jobs: the pool, the slots that bound what
/// it holds, and the counters of both.
struct hash_pool {
    boost::asio::thread_pool::executor_type executor;
    job_limit* slots;
    metrics* stats;
};

namespace detail {

/// One hop's stage boundaries: posted and resumed on the session's strand,
/// started and finished on the pool. The post to the pool and the post back
/// order the writes before the reads.
struct hop_times {
    using clock = std::chrono::steady_clock;
    clock::time_point posted, started, finished;
};

/// Records a hop's stages once the session has resumed, with the job's value
/// or its exception.
inline void record_hop(hop_stages& h, hop_times const& t) noexcept
{
    h.pool_wait.observe(t.started - t.posted);
    h.pool_run.observe(t.finished - t.started);
    h.resume_wait.observe(hop_times::clock::now() - t.finished);
}

template <typename T>
boost::asio::awaitable<T> counted_on_pool(metrics* stats, hop_times* times, boost::asio::awaitable<T> task)
{
    times->started = hop_times::clock::now();
    pool_job_running running(*stats);
    // Set on the way out, returned or thrown, before the completion goes
    // back to the session's strand.
    struct finish {
        hop_times* t;
        ~finish() { t->finished = hop_times::clock::now(); }
    } finish_on_exit{times};
    co_return co_await std::move(task);
}

} // namespace detail

/// Waits for a slot on the pool (a full pool makes the session wait, not
/// queue its buffer in memory), runs `task` there and resumes the caller on
/// its own executor (its strand). `task` hashes a whole request (a oneshot
/// request, a batch of lines): its stages count as kind "request".
template <typename T>
boost::asio::awaitable<T> hop(hash_pool pool, boost::asio::awaitable<T> task)
{
    auto slot = co_await pool.slots->acquire();
    pool.stats->hops.fetch_add(1, std::memory_order_relaxed);
    pool.stats->pool_jobs_queued.fetch_add(1, std::memory_order_relaxed);
    auto& stages = pool.stats->stages_of(job_kind::request);
    detail::hop_times times;
    times.posted = detail::hop_times::clock::now();
    auto on_pool = detail::counted_on_pool(pool.stats, &times, std::move(task));
    try {
        if constexpr (std::is_void_v<T>) {
            co_await run_on(pool.executor, std::move(on_pool));
            detail::record_hop(stages, times);
        } else {
            T value = co_await run_on(pool.executor, std::move(on_pool));
            detail::record_hop(stages, times);
            co_return value;
        }
    } catch (...) {
        // The job's own exception, rethrown here on resumption: its stages
        // are complete. (A job the pool never ran never resumes us at all.)
        detail::record_hop(stages, times);
        throw;
    }
}

} // namespace hashsrv
