// SPDX-License-Identifier: BSL-1.0
#include "app/threads.hpp"

#include "observe/log.hpp"

#include <boost/asio/post.hpp>

#include <cerrno>
#include <cstring>
#include <latch>
#include <memory>

#include <pthread.h>
#include <sched.h>

namespace hashsrv {

void thread_group::join()
{
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}

void name_this_thread(char const* name) { ::pthread_setname_np(::pthread_self(), name); }

void settle_pool_threads(boost::asio::thread_pool& pool, std::size_t threads, pool_policy policy)
{
    // One job per thread: each job holds its thread until all have started,
    // so no thread can take two of them. The jobs share the latch: a job may
    // still be inside arrive_and_wait when the wait below has returned.
    auto all_started = std::make_shared<std::latch>(static_cast<std::ptrdiff_t>(threads));
    for (std::size_t i = 0; i < threads; ++i) {
        boost::asio::post(pool, [all_started, policy] {
            name_this_thread("hash-pool");
            sched_param p{};
            if (policy == pool_policy::batch && ::sched_setscheduler(0, SCHED_BATCH, &p) != 0) // this thread only
                log::warn("a pool thread keeps the normal policy: SCHED_BATCH refused: {}", std::strerror(errno));
            all_started->arrive_and_wait();
        });
    }
    all_started->wait();
}

} // namespace hashsrv
