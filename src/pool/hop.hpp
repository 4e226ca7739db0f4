// SPDX-License-Identifier: BSL-1.0
// The server's hop: run_on (include/hashsrv/run_on.hpp) with back-pressure
// and accounting around it.
#pragma once

#include "observe/metrics.hpp"
#include "pool/job_limit.hpp"

#include <hashsrv/run_on.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

namespace hashsrv {

/// Where sessions send their hash jobs: the pool, the slots that bound what
/// it holds, and the counters of both.
struct hash_pool {
    boost::asio::thread_pool::executor_type executor;
    job_limit* slots;
    metrics* stats;
};

namespace detail {

template <typename T>
boost::asio::awaitable<T> counted_on_pool(metrics* stats, boost::asio::awaitable<T> task)
{
    pool_job_running running(*stats);
    co_return co_await std::move(task);
}

} // namespace detail

/// Waits for a slot on the pool (a full pool makes the session wait, not
/// queue its buffer in memory), runs `task` there and resumes the caller on
/// its own executor (its strand).
template <typename T>
boost::asio::awaitable<T> hop(hash_pool pool, boost::asio::awaitable<T> task)
{
    auto slot = co_await pool.slots->acquire();
    pool.stats->hops.fetch_add(1, std::memory_order_relaxed);
    pool.stats->pool_jobs_queued.fetch_add(1, std::memory_order_relaxed);
    co_return co_await run_on(pool.executor, detail::counted_on_pool(pool.stats, std::move(task)));
}

} // namespace hashsrv
