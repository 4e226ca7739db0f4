// The pool the hashes hop to.
#pragma once

#include "options.hpp"

#include <boost/asio/thread_pool.hpp>

#include <cstddef>

namespace hashsrv {

/// Starts `threads` pool threads under `policy`. SCHED_BATCH (the default)
/// keeps the weight of a normal thread but takes away wake-up preemption:
/// a hop that wakes a pool thread no longer pushes the I/O thread (or the
/// client on the same core) off its CPU, and a bulk upload's hashing waits
/// for the tick instead of cutting in front of small requests
/// (bench/README.md, scenarios 1 and 2). The I/O threads keep their policy.
boost::asio::thread_pool make_hash_pool(std::size_t threads, pool_policy policy);

} // namespace hashsrv
