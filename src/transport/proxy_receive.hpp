// SPDX-License-Identifier: BSL-1.0
// Reads the PROXY protocol header that a trusted load balancer sends ahead of
// its client's bytes, before any other layer (TLS, the protocols) sees the
// connection, and not one byte past it.
#pragma once

#include "transport/transport.hpp"

#include <hashsrv/framing/proxy_header.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace hashsrv {

struct proxy_receipt {
    boost::system::error_code ec;  // the connection failed (closed, reset, timed out) first
    framing::proxy_header header;  // complete or invalid when !ec
};

/// Waits on `io` (not activity: a silent balancer connection expires) and
/// reads from `descriptor` exactly the header's bytes.
boost::asio::awaitable<proxy_receipt> receive_proxy_header(int descriptor, transport& io);

} // namespace hashsrv
