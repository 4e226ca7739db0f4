// SPDX-License-Identifier: BSL-1.0
// Helpers for the operations tests: the metrics port from the log, a plain
// HTTP/1.x client, and reading one sample out of the Prometheus text.
#pragma once

#include "server_process.hpp"

#include <cstdlib>
#include <dirent.h>
#include <vector>
#include <cctype>
#include <string>
#include <string_view>

namespace ops_test {

using namespace test_support;

/// The ids of the process's threads (/proc/PID/task), the main thread's among them.
inline std::vector<pid_t> thread_ids(pid_t pid)
{
    std::vector<pid_t> ids;
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    if (auto* d = ::opendir(dir.c_str())) {
        while (auto* e = ::readdir(d))
            if (e->d_name[0] != '.') ids.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
        ::closedir(d);
    }
    return ids;
}

/// Waits (bounded) until the server's log contains `needle`; returns the log.
inline std::string wait_for_log(server_process const& srv, std::string_view needle,
                                std::chrono::milliseconds limit = 10s)
{
    auto until = clock::now() + limit;
    for (;;) {
        auto log = srv.log();
        if (log.find(needle) != std::string::npos || clock::now() >= until) return log;
        std::this_thread::sleep_for(10ms);
    }
}

/// The port of --metrics-port, from the "metrics on port N" log line.
inline std::uint16_t metrics_port(server_process const& srv)
{
    static constexpr std::string_view marker = "metrics on port ";
    auto log = wait_for_log(srv, marker);
    auto at = log.find(marker);
    if (at == std::string::npos || !std::isdigit(static_cast<unsigned char>(log[at + marker.size()])))
        throw std::runtime_error("no 'metrics on port N' in the log: " + log);
    return static_cast<std::uint16_t>(std::stoul(log.substr(at + marker.size())));
}

struct http_reply {
    int status = 0;
    std::string headers; // the status line and the headers, CRLFs as sent
    std::string body;
    bool complete = false; // the server closed the connection in an orderly way
};

inline http_reply parse_http(read_result const& r)
{
    http_reply h;
    h.complete = r.eof;
    auto end = r.data.find("\r\n\r\n");
    if (end == std::string::npos) return h;
    h.headers = r.data.substr(0, end + 2);
    h.body = r.data.substr(end + 4);
    if (h.headers.rfind("HTTP/1.", 0) == 0 && h.headers.size() > 12) h.status = std::atoi(h.headers.c_str() + 9);
    return h;
}

/// One HTTP/1.0 request (the server closes after the reply).
inline http_reply http_get(std::uint16_t port, std::string_view target, std::string_view method = "GET")
{
    auto fd = connect_to(port);
    if (!fd) return {};
    std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (!send_all(fd.get(), req)) return {};
    return parse_http(read_until_eof(fd.get()));
}

inline std::string scrape(std::uint16_t port)
{
    auto r = http_get(port, "/metrics");
    if (r.status != 200) throw std::runtime_error("scrape failed: status " + std::to_string(r.status));
    return r.body;
}

/// The value of the sample `series` (the metric name with its labels exactly
/// as rendered, e.g. `hash_server_requests_total{protocol="oneshot",outcome="ok"}`);
/// -1 when it is missing.
inline double sample(std::string const& text, std::string_view series)
{
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto eol = text.find('\n', pos);
        if (eol == std::string::npos) eol = text.size();
        std::string_view line(text.data() + pos, eol - pos);
        if (line.size() > series.size() && line.substr(0, series.size()) == series && line[series.size()] == ' ')
            return std::strtod(std::string(line.substr(series.size() + 1)).c_str(), nullptr);
        pos = eol + 1;
    }
    return -1;
}

} // namespace ops_test
