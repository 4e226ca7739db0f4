// SPDX-License-Identifier: BSL-1.0
// The open-file limit at start: every connection is a descriptor, and the
// usual soft limit (1024) is far below --max-connections. The soft limit may
// be raised up to the hard one without privilege, as Go's runtime and Redis
// do at start; beyond the hard one only the operator can help, so say so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hashsrv {

/// Descriptors the server holds besides its connections: the listeners, the
/// metrics endpoint's, the I/O loop's epoll, eventfd and timerfd, stdio, and a
/// file the C library opens for a moment.
inline constexpr std::size_t reserved_descriptors = 32;

struct open_files_limit {
    std::uint64_t before = 0; // the soft limit the process started with
    std::uint64_t soft = 0;   // the soft limit now
    std::uint64_t hard = 0;
    std::string warning; // empty when soft covers max_connections + reserved_descriptors
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (to the kernel's
/// fs.nr_open when the hard limit is unlimited) and says whether that covers
/// `max_connections`. Changes nothing but the limit; logs nothing.
open_files_limit raise_open_files_limit(std::size_t max_connections);

/// The same, logged: the raise at debug level, a shortfall as a warning.
open_files_limit raise_and_log_open_files_limit(std::size_t max_connections);

} // namespace hashsrv
