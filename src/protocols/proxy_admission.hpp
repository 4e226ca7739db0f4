// SPDX-License-Identifier: BSL-1.0
// --proxy-protocol: a connection's first bytes are its load balancer's PROXY
// header; the client it names is admitted (or refused) as if it had
// connected itself.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace hashsrv {

class connection;

/// Reads the header from `descriptor` (before TLS, if any) and asks the
/// server to admit the client it names. False: the connection is not to be
/// served (no valid header, gone, timed out, or refused; with `can_reply`
/// a refused client is told why).
boost::asio::awaitable<bool> admit_proxied(connection& conn, int descriptor, bool can_reply);

} // namespace hashsrv
