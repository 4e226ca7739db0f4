// SPDX-License-Identifier: BSL-1.0
// --state-file: the running server's endpoint, for its health check
// (include/hashsrv/server_state.hpp has the format).
#pragma once

#include "app/options.hpp"

#include <cstdint>

namespace hashsrv {

/// Writes the state of a server listening on `port`, atomically (a health
/// check never reads half a file). False, with the reason on stderr, when it
/// cannot.
bool write_state_file(config const& cfg, std::uint16_t port);

/// At exit: a stale file would point a health check at a port that another
/// process may own by then.
void remove_state_file(config const& cfg);

} // namespace hashsrv
