// SPDX-License-Identifier: BSL-1.0
// What the server needs to know of the configuration: where to listen, its
// limits, the drain, and what it passes on to each session.
#pragma once

#include "protocols/session_settings.hpp"
#include "transport/tls_context.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace hashsrv {

struct server_settings : session_settings {
    std::uint16_t port = 8080;
    std::string bind;              // empty: every address, IPv6 and IPv4
    std::size_t max_inflight = 64; // hash jobs queued or running on the pool
    std::size_t max_connections = 10000;
    std::size_t max_per_client = 0; // connections at once from one source address (0: no limit)
    bool proxy_protocol = false;    // every connection starts with a PROXY header (a balancer's)
    std::chrono::milliseconds shutdown_timeout{10'000};
    // After SIGTERM, a connection silent since its accept gets this long to
    // start its request: a load balancer connects ahead of its client's bytes.
    std::chrono::milliseconds drain_grace{1'000};

    tls_settings tls; // enabled: the port speaks TLS only

    std::optional<std::uint16_t> metrics_port;
    std::string metrics_bind = "127.0.0.1"; // metrics are for the host (or a scraper it lets in)

    // Listening sockets handed over by the service manager (socket
    // activation): served as they are instead of binding port/bind and
    // metrics_port/metrics_bind. -1: bind as configured.
    int listen_fd = -1;
    int metrics_listen_fd = -1;
};

} // namespace hashsrv
