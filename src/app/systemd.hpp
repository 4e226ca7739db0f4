// SPDX-License-Identifier: BSL-1.0
// The service manager's side of the process (libsystemd): the listening
// sockets it may hand over, and the readiness and status it is told. Outside
// systemd (no LISTEN_FDS, no NOTIFY_SOCKET) all of it does nothing.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace hashsrv {

/// Listening sockets passed by socket activation (-1: none passed).
struct passed_sockets {
    int hash = -1;
    int metrics = -1; // the one named `metrics` (FileDescriptorName=metrics)
};

/// Takes the sockets in LISTEN_FDS (for this process: LISTEN_PID) and unsets
/// the variables. Throws std::runtime_error for what cannot be served: more
/// than one socket for the hash port or for the metrics.
passed_sockets take_passed_sockets();

/// sd_notify: READY=1, STOPPING=1 and a STATUS= line with the connection
/// count, refreshed while the count changes. A no-op without NOTIFY_SOCKET.
/// Callable from any thread: the work is posted to a strand of its own.
class service_notifier {
public:
    service_notifier(boost::asio::io_context& ioc, std::atomic<std::int64_t> const& connections);

    /// Once the listeners are bound and the banner is out.
    void ready(std::uint16_t port);
    /// When the drain starts.
    void stopping();
    /// When the drain is over: the status timer must not keep the I/O loop going.
    void stop();

private:
    void schedule();
    void send_status(char const* extra = nullptr);

    bool enabled_;
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    boost::asio::steady_timer timer_; // on strand_, as every member below
    std::atomic<std::int64_t> const& connections_;
    std::string state_ = "starting";
    std::int64_t last_sent_ = -1;
    bool stopped_ = false;
};

} // namespace hashsrv
