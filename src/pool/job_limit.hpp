// SPDX-License-Identifier: BSL-1.0
// Back-pressure on the hash pool: at most N jobs queued or running at once.
// A session that finds the pool full waits here (on its own strand) instead of
// queueing its buffer in memory, so a flood of uploads queues in the sockets.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <utility>

namespace hashsrv {

/// An async counting semaphore built on a buffered channel: a slot is a
/// message in the channel's buffer; a full buffer suspends the sender.
class job_limit {
public:
    class permit {
    public:
        permit() = default;
        explicit permit(job_limit* owner) noexcept : owner_(owner) {}
        permit(permit&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
        permit& operator=(permit&& o) noexcept
        {
            if (this != &o) {
                release();
                owner_ = std::exchange(o.owner_, nullptr);
            }
            return *this;
        }
        ~permit() { release(); }

    private:
        void release() noexcept
        {
            if (owner_) std::exchange(owner_, nullptr)->release();
        }
        job_limit* owner_ = nullptr;
    };

    job_limit(boost::asio::any_io_executor const& ex, std::size_t slots) : slots_(ex, slots) {}

    boost::asio::awaitable<permit> acquire()
    {
        if (!slots_.try_send(boost::system::error_code{}))
            co_await slots_.async_send(boost::system::error_code{}, boost::asio::use_awaitable);
        co_return permit{this};
    }

private:
    void release() noexcept
    {
        slots_.try_receive([](boost::system::error_code) {});
    }

    boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> slots_;
};

} // namespace hashsrv
