// SPDX-License-Identifier: BSL-1.0
// Cooperative time-slicing for pool jobs: a long job hashes a bounded slice,
// then puts its continuation at the back of the pool's queue, so a small job
// queued behind it (a 12-byte request's hash) waits for one slice, not for
// the whole job. The pool stays a plain FIFO thread_pool; the policy is in
// the jobs. Any CPU work that goes to the pool and can run longer than a
// slice yields the same way.
#pragma once

#include <hashsrv/hash/hasher.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace hashsrv {

/// Bytes a pool job hashes before what was queued behind it gets its turn:
/// 64 KiB is ~80 us of FNV-1a and ~40 us of SHA-256 on one core, while a
/// yield costs one post through the pool's queue (about a microsecond), so
/// even an upload alone loses nothing measurable to its yields. A small
/// request's p99 beside paced uploads follows the slice: a 256 KiB slice is
/// ~0.3 ms, as long as the whole p99 of a small request alone, and with it
/// beside paced uploads that p99 was about 4x its value without them.
inline constexpr std::size_t default_slice_bytes = 64 * 1024;

/// Suspends the calling coroutine and queues its continuation behind
/// everything already queued on its executor (the pool: FIFO).
template <typename Executor>
boost::asio::awaitable<void, Executor> yield_to_queue()
{
    co_await boost::asio::post(boost::asio::use_awaitable_t<Executor>{});
}

/// One job's slice budget; it carries across the inputs that job hashes (an
/// upload's chunks), so the slice bounds the time between yields, not the
/// time per input.
class time_slice {
public:
    /// `bytes` 0: never yield (a job runs to completion).
    explicit time_slice(std::size_t bytes) noexcept : bytes_(bytes) {}

    std::size_t bytes() const noexcept { return bytes_; }

    /// Feeds `data` to `state`, yielding each time a slice's worth has been
    /// hashed and more remains.
    template <typename Executor>
    boost::asio::awaitable<void, Executor> update(hasher& state, std::string_view data)
    {
        if (bytes_ == 0) {
            state.update(data);
            co_return;
        }
        while (!data.empty()) {
            if (used_ >= bytes_) {
                used_ = 0;
                co_await yield_to_queue<Executor>();
            }
            auto n = std::min(data.size(), bytes_ - used_);
            state.update(data.substr(0, n));
            data.remove_prefix(n);
            used_ += n;
        }
    }

private:
    std::size_t bytes_;
    std::size_t used_ = 0;
};

} // namespace hashsrv
