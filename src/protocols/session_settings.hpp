// SPDX-License-Identifier: BSL-1.0
// What a session needs to know of the server's configuration.
#pragma once

#include <hashsrv/framing/protocol.hpp>
#include <hashsrv/hash/algorithm.hpp>
#include <hashsrv/time_slice.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace hashsrv {

struct session_settings {
    protocol proto = protocol::oneshot;
    algorithm hash = algorithm::fnv1a;
    std::size_t inline_below = 0;        // hash inputs smaller than this on the I/O thread
    std::size_t chunk_size = 256 * 1024; // stream: bytes per hash job; lines: read size
    std::size_t pool_slice = default_slice_bytes; // a pool job hashes this much, then lets what queued behind it run (0: never)
    std::size_t max_line = 64 * 1024;
    std::uint64_t max_stream_bytes = std::numeric_limits<std::uint64_t>::max();
    std::chrono::milliseconds idle_timeout{30'000}; // zero: never
};

} // namespace hashsrv
