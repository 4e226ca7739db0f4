// SPDX-License-Identifier: BSL-1.0
#include "metrics.hpp"

#include <hashsrv/version.hpp>

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

std::string_view to_string(handshake_result r) noexcept
{
    switch (r) {
    case handshake_result::ok: return "ok";
    case handshake_result::failed: return "failed";
    case handshake_result::timeout: return "timeout";
    case handshake_result::closed: return "closed";
    case handshake_result::count_: break;
    }
    return "?";
}

std::string_view to_string(job_kind k) noexcept
{
    switch (k) {
    case job_kind::request: return "request";
    case job_kind::chunk: return "chunk";
    case job_kind::count_: break;
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

void latency_histogram::render(std::string& out, std::string_view name, std::string_view labels) const
{
    auto it = std::back_inserter(out);
    std::string_view sep = labels.empty() ? "" : ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        if (i < bounds.size())
            fmt::format_to(it, "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, bounds[i], cumulative);
        else
            fmt::format_to(it, "{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cumulative);
    }
    std::string braced = labels.empty() ? std::string() : fmt::format("{{{}}}", labels);
    fmt::format_to(it, "{}_sum{} {}\n{}_count{} {}\n", name, braced,
                   static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9, name, braced, cumulative);
}

std::string metrics::render(protocol proto, algorithm alg) const
{
    std::string out;
    auto it = std::back_inserter(out);
    auto load = [](auto const& a) { return a.load(std::memory_order_relaxed); };
    auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
        fmt::format_to(it, "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };

    // Constant 1: the labels say which build answers (a rollout in progress shows two).
    family("hash_server_build_info", "gauge", "The version and git commit this server was built from.");
    fmt::format_to(it, "hash_server_build_info{{version=\"{}\",commit=\"{}\"}} 1\n", version, commit);

    family("hash_server_connections_accepted_total", "counter", "Connections accepted.");
    fmt::format_to(it, "hash_server_connections_accepted_total {}\n", load(connections_accepted));
    family("hash_server_connections_rejected_total", "counter",
           "Connections refused at once: over --max-connections-per-client.");
    fmt::format_to(it, "hash_server_connections_rejected_total {}\n", load(connections_rejected));
    family("hash_server_proxy_header_errors_total", "counter",
           "Connections closed without a valid PROXY protocol header (--proxy-protocol).");
    fmt::format_to(it, "hash_server_proxy_header_errors_total {}\n", load(proxy_header_errors));
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

    struct stage {
        std::string_view name, help;
        latency_histogram hop_stages::*hist;
    };
    static constexpr std::array<stage, 3> stage_families{{
        {"hash_server_pool_wait_seconds",
         "From a hash job's post to the pool (or, for an upload's chunk, from when its turn came) until a pool "
         "thread starts it, by kind (request: a whole request's hash; chunk: part of a longer stream upload).",
         &hop_stages::pool_wait},
        {"hash_server_pool_run_seconds",
         "From a hash job's start on a pool thread until it finished, its yields to the pool's queue included, by kind.",
         &hop_stages::pool_run},
        {"hash_server_resume_wait_seconds",
         "From a hash job's finish (or the session starting to wait for it, if later) until the session resumed "
         "with its result on its strand, by kind.",
         &hop_stages::resume_wait},
    }};
    for (auto const& f : stage_families) {
        family(f.name, "histogram", f.help);
        for (std::size_t k = 0; k < stages.size(); ++k)
            (stages[k].*f.hist)
                .render(out, f.name, fmt::format("kind=\"{}\"", to_string(static_cast<job_kind>(k))));
    }
    if (tls) render_tls(out);
    return out;
}

void metrics::render_tls(std::string& out) const
{
    auto it = std::back_inserter(out);
    fmt::format_to(it, "# HELP hash_server_tls_handshakes_total TLS handshakes by result (closed: the client left "
                       "before the end).\n# TYPE hash_server_tls_handshakes_total counter\n");
    for (std::size_t i = 0; i < tls_handshakes.size(); ++i)
        fmt::format_to(it, "hash_server_tls_handshakes_total{{result=\"{}\"}} {}\n",
                       to_string(static_cast<handshake_result>(i)), tls_handshakes[i].load(std::memory_order_relaxed));
    fmt::format_to(it, "# HELP hash_server_tls_handshake_duration_seconds From the accept to the end of a TLS "
                       "handshake that succeeded.\n# TYPE hash_server_tls_handshake_duration_seconds histogram\n");
    tls_handshake_duration.render(out, "hash_server_tls_handshake_duration_seconds");
}

} // namespace hashsrv
