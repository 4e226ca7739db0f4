// SPDX-License-Identifier: BSL-1.0
// The stream protocol's hop, pipelined and time-sliced: the chunks of one
// upload are hashed on the pool in order, with the next chunk already queued
// behind the one being hashed, so the pool thread goes from chunk to chunk
// without waiting for the I/O thread; and the
// job hashing them yields to the pool's queue every slice, so other
// sessions' jobs never wait behind a whole chunk (include/hashsrv/time_slice.hpp).
#pragma once

#include "observe/metrics.hpp"
#include "pool/chunk_cache.hpp"
#include "pool/hop.hpp"
#include "pool/job_limit.hpp"

#include <hashsrv/hash/hasher.hpp>
#include <hashsrv/time_slice.hpp>
#include <hashsrv/use_tuple.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hashsrv {

namespace detail {

using pool_executor = boost::asio::thread_pool::executor_type;

using stage_clock = std::chrono::steady_clock;

/// A chunk queued for the feeder.
struct pipeline_job {
    std::string_view chunk;
    std::size_t index = 0; // its buffer
    job_limit::permit permit;
    job_kind kind = job_kind::chunk;
    stage_clock::time_point queued;
};

struct pipeline_state {
    pipeline_state(algorithm alg, boost::asio::any_io_executor h, std::size_t depth, std::shared_ptr<chunk_cache> c)
        : state(alg), home(std::move(h)), cache(std::move(c)), done(home, depth), hashed_at(depth)
    {
    }
    pipeline_state(pipeline_state const&) = delete;
    pipeline_state& operator=(pipeline_state const&) = delete;
    /// No view into the buffers is left: the next upload may have them.
    ~pipeline_state()
    {
        for (std::size_t i = first_is_chunk ? 0 : 1; i < buffers.size(); ++i) cache->give(std::move(buffers[i]));
    }

    /// Queues a chunk; true when no feeder is running (the caller starts one).
    bool enqueue(pipeline_job j)
    {
        std::lock_guard lock(m);
        queue.push_back(std::move(j));
        return !std::exchange(feeding, true);
    }

    /// The next chunk for the feeder, or none: the feeder then ends.
    std::optional<pipeline_job> next()
    {
        std::lock_guard lock(m);
        if (queue.empty()) {
            feeding = false;
            return std::nullopt;
        }
        std::optional<pipeline_job> j{std::move(queue.front())};
        queue.pop_front();
        return j;
    }

    hasher state; // written by the feeder, one chunk after the other
    boost::asio::any_io_executor home;           // the session's strand
    std::vector<std::unique_ptr<char[]>> buffers; // the feeder hashes views into these
    std::shared_ptr<chunk_cache> cache;           // where the chunk buffers go back
    bool first_is_chunk = true;                   // buffers[0] is a chunk buffer of cache's size
    boost::asio::experimental::channel<void(boost::system::error_code, std::size_t)> done; // finished buffers
    std::exception_ptr failure;
    std::size_t unfinished = 0; // chunks queued or hashing; on the session's strand
    std::chrono::steady_clock::time_point finished_at;
    std::vector<stage_clock::time_point> hashed_at; // by buffer; on the session's strand

    std::mutex m;
    std::deque<pipeline_job> queue; // guarded by m
    bool feeding = false;  // guarded by m: a feeder is queued or running
};

/// The upload's one job on the pool: hashes its queued chunks in order, a
/// slice at a time, and sends each finished buffer back to the session's strand.
/// Its executor type is the pool's own, not any_io_executor: a yield then
/// posts straight to the pool's queue.
inline boost::asio::awaitable<void, pool_executor> feed(metrics* stats, std::shared_ptr<pipeline_state> s,
                                                       std::size_t slice)
{
    time_slice budget(slice);
    // A chunk's turn comes when it is queued or when the upload's previous
    // chunk is hashed, whichever is later: waiting behind its own upload is
    // the pipeline's order, not a wait for the pool.
    stage_clock::time_point previous_hashed{};
    for (bool first = true;; first = false) {
        // Unsliced, a chunk is still one job: the feeder takes its turn
        // in the pool's queue again before the next one.
        if (!first && slice == 0) co_await yield_to_queue<pool_executor>();
        auto j = s->next();
        if (!j) break;
        auto& stages = stats->stages_of(j->kind);
        auto const picked = stage_clock::now();
        stages.pool_wait.observe(picked - std::max(j->queued, previous_hashed));
        std::exception_ptr failure;
        {
            pool_job_running running(*stats);
            try {
                co_await budget.update<pool_executor>(s->state, j->chunk);
            } catch (...) {
                failure = std::current_exception();
            }
        }
        // The pool slot is free once the chunk is hashed, here on the pool:
        // a completion that never runs (the I/O loop stopped first) must
        // not hold it past the server's life.
        j->permit = job_limit::permit{};
        previous_hashed = stage_clock::now();
        stages.pool_run.observe(previous_hashed - picked);
        boost::asio::post(s->home, [s, index = j->index, failure, hashed = previous_hashed] {
            s->hashed_at[index] = hashed;
            --s->unfinished;
            s->finished_at = std::chrono::steady_clock::now();
            if (failure && !s->failure) s->failure = failure;
            s->done.try_send(boost::system::error_code{}, index);
        });
    }
}

} // namespace detail

/// One upload's chunks in flight. Every chunk goes to the pool and its
/// completion comes back to the session's strand; the session does not wait
/// for chunk k's completion before queueing chunk k+1, and only waits when
/// all `depth` buffers are in flight. The chunks queue in the upload's own
/// FIFO, and one job on the pool at a time (the feeder) hashes them in order,
/// a slice at a time: between slices it goes to the back of the pool's
/// queue. (A strand of the pool would keep the order too, but a yield inside
/// a strand lets the upload's next chunk run before the rest of this one.)
class hash_pipeline {
public:
    using pool_executor = boost::asio::thread_pool::executor_type;

    /// `first`: the buffer holding the upload's first chunk (buffer 0);
    /// `first_is_chunk`: whether it is a whole chunk buffer from `cache`
    /// (otherwise it is smaller, the upload ended in it, and next_buffer
    /// must not be called). Chunk buffers come from `cache` (of the chunk
    /// size) and go back to it when the pipeline and its feeder are done.
    /// `slice`: bytes hashed between yields to the pool's queue (0: none).
    hash_pipeline(boost::asio::any_io_executor home, hash_pool const& pool, algorithm alg, std::size_t inline_below,
                  std::shared_ptr<chunk_cache> cache, std::size_t depth, std::size_t slice,
                  std::unique_ptr<char[]> first, bool first_is_chunk)
        : pool_(pool.executor), slots_(*pool.slots), stats_(*pool.stats), inline_below_(inline_below),
          depth_(depth), slice_(slice), kinds_(depth, job_kind::chunk),
          shared_(std::make_shared<detail::pipeline_state>(alg, std::move(home), depth, std::move(cache)))
    {
        shared_->buffers.push_back(std::move(first));
        shared_->first_is_chunk = first_is_chunk;
    }

    /// Whether a hash of ours is queued or running (time that is not the client's silence).
    bool busy() const noexcept { return shared_->unfinished > 0; }
    /// When the last hash finished: the client's silence starts no earlier.
    std::chrono::steady_clock::time_point finished_at() const noexcept { return shared_->finished_at; }

    /// Hashes the first `n` bytes of the current buffer: inline when small
    /// and nothing is in flight (the order must hold), otherwise on the pool.
    /// `last`: the upload ends with these bytes.
    boost::asio::awaitable<void> submit(std::size_t n, bool last)
    {
        stats_.bytes_hashed.fetch_add(n, std::memory_order_relaxed);
        bool const first = submitted_++ == 0;
        std::string_view chunk{shared_->buffers[current_].get(), n};
        if (in_flight_ == 0 && n < inline_below_) {
            shared_->state.update(chunk);
            free_.push_back(current_);
            co_return;
        }
        auto permit = co_await slots_.acquire();
        stats_.hops.fetch_add(1, std::memory_order_relaxed);
        stats_.pool_jobs_queued.fetch_add(1, std::memory_order_relaxed);
        ++in_flight_;
        ++shared_->unfinished;
        // A first chunk that is also the last is the whole upload: a request
        // a client waits for, like a oneshot request's.
        bool const whole = first && last;
        kinds_[current_] = whole ? job_kind::request : job_kind::chunk;
        // The feeder owns `shared_`: if the session ends first (a reset, a
        // timeout), the chunks in flight still hash into live memory.
        if (shared_->enqueue(
                detail::pipeline_job{chunk, current_, std::move(permit), kinds_[current_], detail::stage_clock::now()}))
            boost::asio::co_spawn(pool_, detail::feed(&stats_, shared_, slice_), boost::asio::detached);
    }

    /// A buffer for the next chunk; waits for a hash to finish only when all
    /// `depth` buffers are in flight.
    boost::asio::awaitable<boost::asio::mutable_buffer> next_buffer()
    {
        if (free_.empty() && shared_->buffers.size() < depth_) {
            shared_->buffers.push_back(shared_->cache->take());
            free_.push_back(shared_->buffers.size() - 1);
        }
        while (free_.empty()) co_await collect_one();
        current_ = free_.back();
        free_.pop_back();
        co_return boost::asio::buffer(shared_->buffers[current_].get(), shared_->cache->size());
    }

    /// Waits for every chunk in flight; returns the digest in hex. A hash
    /// job's exception is rethrown here.
    boost::asio::awaitable<std::string> digest()
    {
        while (in_flight_ > 0) co_await collect_one();
        if (shared_->failure) std::rethrow_exception(shared_->failure);
        co_return shared_->state.hex_digest();
    }

private:
    /// A chunk's resume wait starts when it is hashed or when the session
    /// starts waiting for it, whichever is later: a chunk collected long
    /// after it was hashed, because the session was reading, did not wait.
    boost::asio::awaitable<void> collect_one()
    {
        auto const waiting_since = detail::stage_clock::now();
        auto [ec, index] = co_await shared_->done.async_receive(use_tuple);
        if (ec) throw boost::system::system_error(ec, "hash pipeline");
        stats_.stages_of(kinds_[index])
            .resume_wait.observe(detail::stage_clock::now() - std::max(waiting_since, shared_->hashed_at[index]));
        --in_flight_;
        free_.push_back(index);
    }

    pool_executor pool_;
    job_limit& slots_;
    metrics& stats_;
    std::size_t inline_below_;
    std::size_t depth_;
    std::size_t slice_;
    std::vector<job_kind> kinds_; // by buffer: what its chunk in flight is
    std::shared_ptr<detail::pipeline_state> shared_;
    std::vector<std::size_t> free_; // buffers not in flight
    std::size_t current_ = 0;       // the buffer the next submit hashes
    std::size_t in_flight_ = 0;
    std::size_t submitted_ = 0; // chunks submitted, inline ones too
};

} // namespace hashsrv
