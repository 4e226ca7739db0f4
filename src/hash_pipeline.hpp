// The stream protocol's hop, pipelined: the chunks of one upload are hashed
// on the pool in order, with the next chunk already queued behind the one
// being hashed, so the pool thread goes from chunk to chunk without waiting
// for the I/O thread (bench/README.md, scenario 3).
#pragma once

#include "job_limit.hpp"
#include "metrics.hpp"

#include <hashsrv/hash/hasher.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hashsrv {

/// One upload's chunks in flight. Every chunk is still a hop of its own:
/// `co_spawn` onto the pool, completion bound back to the session's strand.
/// What changes is that the session does not wait for chunk k's completion
/// before queueing chunk k+1: a strand on the pool keeps the chunks in order,
/// and the session only waits when all `depth` buffers are in flight.
class hash_pipeline {
public:
    using pool_executor = boost::asio::thread_pool::executor_type;
    using serial_executor = boost::asio::strand<pool_executor>;

    /// `first`: the buffer holding the upload's first chunk (buffer 0).
    hash_pipeline(boost::asio::any_io_executor home, pool_executor const& pool, job_limit& slots, metrics& stats,
                  algorithm alg, std::size_t inline_below, std::size_t chunk_size, std::size_t depth,
                  std::unique_ptr<char[]> first)
        : home_(std::move(home)), serial_(boost::asio::make_strand(pool)), slots_(slots), stats_(stats),
          inline_below_(inline_below), chunk_size_(chunk_size), depth_(depth),
          shared_(std::make_shared<shared>(alg, home_, depth))
    {
        shared_->buffers.push_back(std::move(first));
    }

    /// Whether a hash of ours is queued or running (time that is not the client's silence).
    bool busy() const noexcept { return shared_->unfinished > 0; }
    /// When the last hash finished: the client's silence starts no earlier.
    std::chrono::steady_clock::time_point finished_at() const noexcept { return shared_->finished_at; }

    /// Hashes the first `n` bytes of the current buffer: inline when small
    /// and nothing is in flight (the order must hold), otherwise on the pool.
    boost::asio::awaitable<void> submit(std::size_t n)
    {
        stats_.bytes_hashed.fetch_add(n, std::memory_order_relaxed);
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
        // The completion owns `shared_`: if the session ends first (a reset,
        // a timeout), the job still hashes into live memory.
        boost::asio::co_spawn(serial_, feed(&stats_, &shared_->state, chunk),
                              boost::asio::bind_executor(home_, [s = shared_, index = current_,
                                                                 permit = std::move(permit)](std::exception_ptr e) {
                                  --s->unfinished;
                                  s->finished_at = std::chrono::steady_clock::now();
                                  if (e && !s->failure) s->failure = e;
                                  s->done.try_send(boost::system::error_code{}, index);
                              }));
    }

    /// A buffer for the next chunk; waits for a hash to finish only when all
    /// `depth` buffers are in flight.
    boost::asio::awaitable<boost::asio::mutable_buffer> next_buffer()
    {
        if (free_.empty() && shared_->buffers.size() < depth_) {
            shared_->buffers.push_back(std::make_unique_for_overwrite<char[]>(chunk_size_));
            free_.push_back(shared_->buffers.size() - 1);
        }
        while (free_.empty()) co_await collect_one();
        current_ = free_.back();
        free_.pop_back();
        co_return boost::asio::buffer(shared_->buffers[current_].get(), chunk_size_);
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
    struct shared {
        shared(algorithm alg, boost::asio::any_io_executor const& home, std::size_t depth)
            : state(alg), done(home, depth)
        {
        }
        hasher state;                                // written by the jobs, in order (the pool strand)
        std::vector<std::unique_ptr<char[]>> buffers; // the jobs hash views into these
        boost::asio::experimental::channel<void(boost::system::error_code, std::size_t)> done; // finished buffers
        std::exception_ptr failure;
        std::size_t unfinished = 0; // jobs queued or running; on the session's strand
        std::chrono::steady_clock::time_point finished_at;
    };

    // The job's executor type is the pool strand itself, not any_io_executor:
    // a strand of the pool does not fit any_io_executor's inline storage, and
    // its shared, reference-counted copy is released with an atomic fence
    // that ThreadSanitizer cannot see (a false report on every upload).
    static boost::asio::awaitable<void, serial_executor> feed(metrics* stats, hasher* state, std::string_view chunk)
    {
        pool_job_running running(*stats);
        state->update(chunk);
        co_return;
    }

    boost::asio::awaitable<void> collect_one()
    {
        auto [ec, index] = co_await shared_->done.async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec) throw boost::system::system_error(ec, "hash pipeline");
        --in_flight_;
        free_.push_back(index);
    }

    boost::asio::any_io_executor home_;
    serial_executor serial_;
    job_limit& slots_;
    metrics& stats_;
    std::size_t inline_below_;
    std::size_t chunk_size_;
    std::size_t depth_;
    std::shared_ptr<shared> shared_;
    std::vector<std::size_t> free_; // buffers not in flight
    std::size_t current_ = 0;       // the buffer the next submit hashes
    std::size_t in_flight_ = 0;
};

} // namespace hashsrv
