// SPDX-License-Identifier: BSL-1.0
// A TLS session's first step: the handshake, counted by result and timed.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace hashsrv {

class connection;
class tls_transport;

/// False when the handshake failed (logged at debug, counted) and the
/// connection is to be closed.
boost::asio::awaitable<bool> tls_handshake(connection& conn, tls_transport& io);

} // namespace hashsrv
