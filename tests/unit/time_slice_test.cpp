// SPDX-License-Identifier: BSL-1.0
// The pool's scheduling policy: a long hash job yields every slice, so a
// small job queued behind it runs after one slice, not after the whole job.
#include <hashsrv/hash/hasher.hpp>
#include <hashsrv/time_slice.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

namespace asio = boost::asio;
using hashsrv::algorithm;
using hashsrv::hasher;
using hashsrv::time_slice;

namespace {

using pool_executor = asio::thread_pool::executor_type;

std::string pattern(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
    return s;
}

std::string digest_of(std::string_view data)
{
    hasher h(algorithm::fnv1a);
    h.update(data);
    return h.hex_digest();
}

/// What one run of "a long job, then a small one queued behind it" saw.
struct observed {
    std::vector<std::string> finished;  // job names, in completion order
    std::string long_state_when_small_ran; // the long job's digest so far
    std::string long_digest;
};

struct run_state {
    std::mutex m;
    observed seen;
    hasher long_hash{algorithm::fnv1a};
    std::exception_ptr failure;
};

void finish(run_state& st, char const* name)
{
    std::lock_guard lock(st.m);
    st.seen.finished.emplace_back(name);
}

asio::awaitable<void, pool_executor> long_job(run_state* st, std::string const* data, std::size_t slice)
{
    // Queued behind this job while it runs: the pool has one thread.
    asio::post(co_await asio::this_coro::executor, [st] {
        {
            std::lock_guard lock(st->m);
            st->seen.long_state_when_small_ran = st->long_hash.hex_digest();
        }
        finish(*st, "small");
    });
    time_slice budget(slice);
    co_await budget.update<pool_executor>(st->long_hash, *data);
    {
        std::lock_guard lock(st->m);
        st->seen.long_digest = st->long_hash.hex_digest();
    }
    finish(*st, "long");
}

asio::awaitable<void, pool_executor> two_inputs(run_state* st, std::string_view a, std::string_view b,
                                                std::size_t slice)
{
    asio::post(co_await asio::this_coro::executor, [st] {
        std::lock_guard lock(st->m);
        st->seen.long_state_when_small_ran = st->long_hash.hex_digest();
    });
    time_slice budget(slice);
    co_await budget.update<pool_executor>(st->long_hash, a);
    co_await budget.update<pool_executor>(st->long_hash, b);
}

observed run_long_then_small(std::string const& data, std::size_t slice)
{
    asio::thread_pool pool(1);
    run_state st;
    asio::co_spawn(pool.get_executor(), long_job(&st, &data, slice), [&](std::exception_ptr e) { st.failure = e; });
    pool.join();
    if (st.failure) std::rethrow_exception(st.failure);
    return st.seen;
}

} // namespace

TEST(TimeSlice, SmallJobQueuedBehindALongOneFinishesFirst)
{
    auto data = pattern(4 * 1024 * 1024);
    auto seen = run_long_then_small(data, 64 * 1024);
    EXPECT_EQ(seen.finished, (std::vector<std::string>{"small", "long"}));
}

TEST(TimeSlice, SmallJobWaitsForOneSliceAtMost)
{
    constexpr std::size_t slice = 64 * 1024;
    auto data = pattern(4 * 1024 * 1024);
    auto seen = run_long_then_small(data, slice);
    // The long job had hashed exactly its first slice when the small one ran.
    EXPECT_EQ(seen.long_state_when_small_ran, digest_of(std::string_view(data).substr(0, slice)));
}

TEST(TimeSlice, SlicedHashEqualsTheWholeInputsHash)
{
    auto data = pattern(3 * 1024 * 1024 + 17); // not a multiple of the slice
    auto seen = run_long_then_small(data, 100'000);
    EXPECT_EQ(seen.long_digest, digest_of(data));
}

TEST(TimeSlice, WithoutSlicesTheSmallJobWaitsForTheWholeLongOne)
{
    auto data = pattern(1024 * 1024);
    auto seen = run_long_then_small(data, 0);
    EXPECT_EQ(seen.finished, (std::vector<std::string>{"long", "small"}));
    EXPECT_EQ(seen.long_state_when_small_ran, digest_of(data));
}

TEST(TimeSlice, TheBudgetCarriesAcrossInputs)
{
    // Two inputs of 3/4 slice each: the second yields once, after the first
    // quarter of itself (one slice since the job began).
    constexpr std::size_t slice = 64 * 1024;
    auto data = pattern(slice * 3 / 2);
    std::string_view first = std::string_view(data).substr(0, slice * 3 / 4);
    std::string_view second = std::string_view(data).substr(slice * 3 / 4);
    asio::thread_pool pool(1);
    run_state st;
    asio::co_spawn(pool.get_executor(), two_inputs(&st, first, second, slice),
                   [&](std::exception_ptr e) { st.failure = e; });
    pool.join();
    ASSERT_FALSE(st.failure);
    EXPECT_EQ(st.seen.long_state_when_small_ran, digest_of(std::string_view(data).substr(0, slice)));
    EXPECT_EQ(st.long_hash.hex_digest(), digest_of(data));
}
