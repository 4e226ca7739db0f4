// SPDX-License-Identifier: BSL-1.0
// The metrics endpoint from the outside: a plain HTTP/1.x client, and one
// sample read out of the Prometheus text.
#pragma once

#include "sockets.hpp"
#include "text.hpp"

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace test_support {

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
inline double sample(std::string_view text, std::string_view series)
{
    for (auto line : split_lines(text))
        if (line.size() > series.size() && line.substr(0, series.size()) == series && line[series.size()] == ' ')
            return std::strtod(std::string(line.substr(series.size() + 1)).c_str(), nullptr);
    return -1;
}

} // namespace test_support
