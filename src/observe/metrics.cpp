// SPDX-License-Identifier: BSL-1.0
#include "metrics.hpp"

#include <fmt/format.h>

namespace hashsrv {

std::string_view to_string(outcome o) noexcept
{
    switch (o) {
    case outcome::ok: return "ok";
    case outcome::too_long: return "line_too_long";
    case outcome::too_big: return "stream_too_big";
    case outcome::idle_timeout: return "idle_timeout";
    case outcome::client_gone: return "client_gone";
    case outcome::shutdown: return "shutdown";
    case outcome::count_: break;
    }
    return "?";
}

void latency_histogram::observe(std::chrono::nanoseconds d) noexcept
{
    double s = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < bounds.size() && s > bounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(d.count()), std::memory_order_relaxed);
}

void latency_histogram::render(std::string& out, std::string_view name) const
{
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        if (i < bounds.size())
            fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"{}\"}} {}\n", name, bounds[i], cumulative);
        else
            fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
    }
    fmt::format_to(std::back_inserter(out), "{}_sum {}\n{}_count {}\n", name,
                   static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9, name, cumulative);
}

std::string metrics::render(protocol proto, algorithm alg) const
{
    std::string out;
    auto it = std::back_inserter(out);
    auto load = [](auto const& a) { return a.load(std::memory_order_relaxed); };
    auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
        fmt::format_to(it, "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };

    family("hash_server_connections_accepted_total", "counter", "Connections accepted.");
    fmt::format_to(it, "hash_server_connections_accepted_total {}\n", load(connections_accepted));
    family("hash_server_connections_rejected_total", "counter",
           "Connections refused at once: over --max-connections-per-client.");
    fmt::format_to(it, "hash_server_connections_rejected_total {}\n", load(connections_rejected));
    family("hash_server_accept_errors_total", "counter",
           "Accepts that failed (descriptors exhausted, ...) and were retried after a back-off.");
    fmt::format_to(it, "hash_server_accept_errors_total {}\n", load(accept_errors));
    family("hash_server_connections_active", "gauge", "Connections being served.");
    fmt::format_to(it, "hash_server_connections_active {}\n", load(connections_active));

    family("hash_server_requests_total", "counter", "Requests by protocol and outcome.");
    for (std::size_t i = 0; i < requests.size(); ++i)
        fmt::format_to(it, "hash_server_requests_total{{protocol=\"{}\",outcome=\"{}\"}} {}\n", to_string(proto),
                       to_string(static_cast<outcome>(i)), load(requests[i]));

    family("hash_server_bytes_hashed_total", "counter", "Bytes hashed, by algorithm.");
    fmt::format_to(it, "hash_server_bytes_hashed_total{{algorithm=\"{}\"}} {}\n", to_string(alg),
                   load(bytes_hashed));
    family("hash_server_hops_total", "counter", "Hash jobs sent to the pool and back.");
    fmt::format_to(it, "hash_server_hops_total {}\n", load(hops));
    family("hash_server_pool_jobs_queued", "gauge", "Hash jobs waiting for a pool thread.");
    fmt::format_to(it, "hash_server_pool_jobs_queued {}\n", load(pool_jobs_queued));
    family("hash_server_pool_jobs_running", "gauge", "Hash jobs running on a pool thread.");
    fmt::format_to(it, "hash_server_pool_jobs_running {}\n", load(pool_jobs_running));
    family("hash_server_idle_timeouts_total", "counter", "Connections closed for silence.");
    fmt::format_to(it, "hash_server_idle_timeouts_total {}\n", load(idle_timeouts));

    family("hash_server_request_duration_seconds", "histogram",
           "From a request's first byte read to its reply written.");
    latency.render(out, "hash_server_request_duration_seconds");
    return out;
}

} // namespace hashsrv
