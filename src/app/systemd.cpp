// SPDX-License-Identifier: BSL-1.0
#include "app/systemd.hpp"

#include "observe/log.hpp"

#include <boost/asio/post.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <systemd/sd-daemon.h>
#include <unistd.h>

namespace hashsrv {

namespace asio = boost::asio;

namespace {

// STATUS= is for `systemctl status`, read by people: a refresh every few
// seconds, and only when the count changed, costs nothing worth measuring.
constexpr std::chrono::seconds status_period{2};

/// The names sd_listen_fds_with_names() returns: a NULL-terminated array of
/// strings that libsystemd allocated with malloc, so free() is the one way back.
struct fd_names {
    char** names = nullptr;
    fd_names() = default;
    fd_names(fd_names const&) = delete;
    fd_names& operator=(fd_names const&) = delete;
    ~fd_names()
    {
        if (!names) return;
        for (char** p = names; *p; ++p) std::free(*p); // NOLINT(cppcoreguidelines-no-malloc): libsystemd's allocation
        std::free(names);                                // NOLINT(cppcoreguidelines-no-malloc): libsystemd's allocation
    }
    bool is_metrics(int i) const { return names && names[i] && std::string_view(names[i]) == "metrics"; }
};

} // namespace

passed_sockets take_passed_sockets()
{
    fd_names names;
    // 1: unset LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES, so that nothing we
    // might start takes our sockets for its own.
    int n = sd_listen_fds_with_names(1, &names.names);
    if (n < 0) throw std::runtime_error(std::string("socket activation: ") + std::strerror(-n));
    passed_sockets got;
    std::string error;
    for (int i = 0; i < n; ++i) {
        int fd = SD_LISTEN_FDS_START + i;
        bool is_metrics = names.is_metrics(i);
        int& slot = is_metrics ? got.metrics : got.hash;
        if (slot >= 0 && error.empty())
            error = std::string("socket activation: more than one socket passed for the ") +
                    (is_metrics ? "metrics" : "hash port") + " (one ListenStream= per socket unit; name the "
                    "metrics socket with FileDescriptorName=metrics)";
        if (slot < 0) slot = fd;
    }
    if (!error.empty()) throw std::runtime_error(error);
    if (n > 0 && got.hash < 0) throw std::runtime_error("socket activation: no socket passed for the hash port");
    return got;
}

service_notifier::service_notifier(asio::io_context& ioc, std::atomic<std::int64_t> const& connections)
    : enabled_(std::getenv("NOTIFY_SOCKET") != nullptr), strand_(asio::make_strand(ioc)), timer_(strand_),
      connections_(connections)
{
}

void service_notifier::ready(std::uint16_t port)
{
    if (!enabled_) return;
    asio::post(strand_, [this, port] {
        state_ = "serving on port " + std::to_string(port);
        send_status("READY=1\n");
        schedule();
    });
}

void service_notifier::stopping()
{
    if (!enabled_) return;
    asio::post(strand_, [this] {
        state_ = "draining";
        send_status("STOPPING=1\n");
    });
}

void service_notifier::stop()
{
    if (!enabled_) return;
    asio::post(strand_, [this] {
        stopped_ = true;
        timer_.cancel();
    });
}

void service_notifier::schedule()
{
    if (stopped_) return;
    timer_.expires_after(status_period);
    timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopped_) return;
        if (connections_.load(std::memory_order_relaxed) != last_sent_) send_status();
        schedule();
    });
}

void service_notifier::send_status(char const* extra)
{
    last_sent_ = connections_.load(std::memory_order_relaxed);
    std::string message = extra ? extra : "";
    message += "STATUS=" + state_ + ", connections: " + std::to_string(last_sent_);
    // A service manager that went away costs the status, not the server.
    if (int r = sd_notify(0, message.c_str()); r < 0) log::debug("sd_notify: {}", std::strerror(-r));
}

} // namespace hashsrv
