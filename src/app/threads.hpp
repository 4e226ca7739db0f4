// SPDX-License-Identifier: BSL-1.0
// The server's threads: named, so that `top -H` and the tests can tell them
// apart, and the hash pool's under its own scheduling policy.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <cstddef>
#include <string_view>
#include <thread>
#include <vector>

namespace hashsrv {

/// The hash pool threads' scheduling policy (--pool-policy).
enum class pool_policy { batch, normal };
constexpr std::string_view to_string(pool_policy p) noexcept
{
    return p == pool_policy::batch ? "batch" : "normal";
}

/// Names the calling thread (at most 15 characters are kept).
void name_this_thread(char const* name);

/// Names each of the pool's `threads` threads "hash-pool" and applies
/// `policy` to it; returns once every thread has. SCHED_BATCH (the default)
/// keeps the weight of a normal thread but takes away wake-up preemption: a
/// hop that wakes a pool thread no longer pushes the I/O thread (or a client
/// on the same core) off its CPU (fewer context switches per hop).
void settle_pool_threads(boost::asio::thread_pool& pool, std::size_t threads, pool_policy policy);

/// Threads we start ourselves and join in the destructor (or join()). A
/// thread the system refuses (RLIMIT_NPROC, memory) makes start() throw
/// std::system_error with the threads already started still joinable, so the
/// caller can report it and stop them, rather than std::terminate.
class thread_group {
public:
    thread_group() = default;
    thread_group(thread_group const&) = delete;
    thread_group& operator=(thread_group const&) = delete;
    ~thread_group() { join(); }

    template <typename F>
    void start(std::size_t count, F const& body)
    {
        for (std::size_t i = 0; i < count; ++i) threads_.emplace_back(body);
    }

    void join();

private:
    std::vector<std::thread> threads_;
};

} // namespace hashsrv
