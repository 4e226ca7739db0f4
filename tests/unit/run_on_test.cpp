// SPDX-License-Identifier: BSL-1.0
// The hop: where each piece of code runs, and what comes back.
#include <hashsrv/run_on.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using hashsrv::run_on;

namespace {

using pool_executor = asio::thread_pool::executor_type;

struct where {
    std::thread::id thread;
    bool on_pool = false;
};

asio::awaitable<where> observe(pool_executor pool)
{
    co_return where{std::this_thread::get_id(), pool.running_in_this_thread()};
}

asio::awaitable<int> square(int x) { co_return x * x; }

asio::awaitable<int> fail(std::string message)
{
    throw std::runtime_error(message);
    co_return 0;
}

asio::awaitable<void> set_flag(std::atomic<bool>* flag)
{
    flag->store(true);
    co_return;
}

// Runs `f` as a coroutine on a strand of `ioc`, run by this thread; the pool
// is declared after the io_context and joined after it ran, as in the server.
template <typename F>
void run_on_strand(F f)
{
    asio::io_context ioc;
    asio::thread_pool pool(4);
    auto strand = asio::make_strand(ioc);
    std::exception_ptr failure;
    asio::co_spawn(strand, f(strand, pool.get_executor()), [&](std::exception_ptr e) { failure = e; });
    ioc.run();
    pool.join();
    if (failure) std::rethrow_exception(failure);
}

} // namespace

TEST(RunOn, TaskRunsOnPoolAndCallerResumesOnItsStrand)
{
    auto const io_thread = std::this_thread::get_id();
    bool checked = false;
    run_on_strand([&](auto strand, pool_executor pool) -> asio::awaitable<void> {
        EXPECT_TRUE(strand.running_in_this_thread());
        auto w = co_await run_on(pool, observe(pool));
        EXPECT_TRUE(w.on_pool);
        EXPECT_NE(w.thread, io_thread);
        EXPECT_TRUE(strand.running_in_this_thread()) << "resumed off the session's strand";
        EXPECT_FALSE(pool.running_in_this_thread());
        EXPECT_EQ(std::this_thread::get_id(), io_thread);
        checked = true;
    });
    EXPECT_TRUE(checked);
}

TEST(RunOn, ReturnsTheValue)
{
    int result = 0;
    run_on_strand([&](auto, pool_executor pool) -> asio::awaitable<void> { result = co_await run_on(pool, square(12)); });
    EXPECT_EQ(result, 144);
}

TEST(RunOn, RethrowsTheExceptionOnTheCallersStrand)
{
    std::string caught;
    bool on_strand = false;
    run_on_strand([&](auto strand, pool_executor pool) -> asio::awaitable<void> {
        try {
            co_await run_on(pool, fail("boom"));
        } catch (std::runtime_error const& e) {
            caught = e.what();
            on_strand = strand.running_in_this_thread();
        }
    });
    EXPECT_EQ(caught, "boom");
    EXPECT_TRUE(on_strand);
}

TEST(RunOn, WorksForVoidTasks)
{
    std::atomic<bool> flag{false};
    bool on_strand = false;
    run_on_strand([&](auto strand, pool_executor pool) -> asio::awaitable<void> {
        co_await run_on(pool, set_flag(&flag));
        on_strand = strand.running_in_this_thread();
    });
    EXPECT_TRUE(flag.load());
    EXPECT_TRUE(on_strand);
}

namespace {

asio::awaitable<void> hop_session(int i, pool_executor pool, std::vector<int>* results, std::atomic<int>* off_strand)
{
    auto strand_check = co_await asio::this_coro::executor;
    auto w = co_await run_on(pool, observe(pool));
    if (!w.on_pool) off_strand->fetch_add(1);
    int v = co_await run_on(pool, square(i));
    // Each session writes only its own slot, and only on its strand.
    (*results)[static_cast<std::size_t>(i)] = v;
    if (pool.running_in_this_thread()) off_strand->fetch_add(1);
    (void)strand_check;
}

} // namespace

TEST(RunOn, AThousandSessionsHoppingAtOnce)
{
    constexpr int sessions = 1000;
    asio::io_context ioc;
    asio::thread_pool pool(4);
    std::vector<int> results(sessions, -1);
    std::atomic<int> misplaced{0};
    std::atomic<int> finished{0};
    for (int i = 0; i < sessions; ++i)
        asio::co_spawn(asio::make_strand(ioc), hop_session(i, pool.get_executor(), &results, &misplaced),
                       [&](std::exception_ptr e) {
                           if (!e) finished.fetch_add(1);
                       });
    // Two io threads, so strands really matter.
    std::thread second([&] { ioc.run(); });
    ioc.run();
    second.join();
    pool.join();
    EXPECT_EQ(finished.load(), sessions);
    EXPECT_EQ(misplaced.load(), 0);
    for (int i = 0; i < sessions; ++i) EXPECT_EQ(results[static_cast<std::size_t>(i)], i * i) << "session " << i;
}
