// SPDX-License-Identifier: BSL-1.0
// Where the process is assembled: threads, the server, the metrics endpoint,
// the banner, the exit status.
#pragma once

#include "app/options.hpp"

namespace hashsrv {

/// The whole program once options are parsed: listen, print the banner, serve
/// until stopped. Returns the process exit code: 0 after a clean drain, 1 when
/// it cannot start (a port, a thread), 3 when the drain deadline cut requests off.
int run(config const& cfg);

} // namespace hashsrv
