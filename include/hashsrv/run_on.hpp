// SPDX-License-Identifier: BSL-1.0
// The executor hop: the Boost.Asio counterpart of the tutorial's
// `co_await capy::run(pool_executor)(task)`.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>

namespace hashsrv {

/// Runs `task` on `ex` (typically a thread pool) and resumes the calling
/// coroutine on the executor it was running on before the call (typically the
/// session's strand). Returns the task's value; an exception thrown by the task
/// is rethrown in the caller, on the caller's executor. Works for `void` tasks.
///
///     std::uint64_t h = co_await run_on(pool.get_executor(), fnv1a_task(data));
///
/// How it works, step by step (compare the tutorial's "How run() Switches
/// Executors"):
///  1. `this_coro::executor` captures the caller's executor before the switch.
///  2. `co_spawn(ex, task, ...)` posts the lazy task to `ex`; the caller suspends
///     and its thread is free to serve other connections.
///  3. A thread of `ex` runs the task to completion.
///  4. The completion handler is bound to the caller's executor with
///     `bind_executor`, so Asio dispatches the caller's resumption through it:
///     for a strand this also serialises it with everything else on the strand.
///
/// Pass the task's inputs by value (or as views whose owner outlives this
/// co_await) and make the task a named coroutine function: a capturing lambda
/// temporary inside `co_await co_spawn(...)` double-frees under g++ 12.
template <typename T, typename Executor>
boost::asio::awaitable<T> run_on(Executor ex, boost::asio::awaitable<T> task)
{
    auto home = co_await boost::asio::this_coro::executor;
    co_return co_await boost::asio::co_spawn(
        std::move(ex), std::move(task),
        boost::asio::bind_executor(home, boost::asio::use_awaitable));
}

} // namespace hashsrv
