// SPDX-License-Identifier: BSL-1.0
// The three protocols, one file each; a session runs one of them.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace hashsrv {

class connection;

/// One read of at most 4096 bytes, one hash, one reply: the tutorial.
boost::asio::awaitable<void> serve_oneshot(connection& conn);
/// Everything up to the client's half-close, hashed chunk by chunk; one reply.
boost::asio::awaitable<void> serve_stream(connection& conn);
/// One reply line per "\n"-terminated line, pipelined.
boost::asio::awaitable<void> serve_lines(connection& conn);

} // namespace hashsrv
