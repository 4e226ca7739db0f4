// SPDX-License-Identifier: BSL-1.0
// Command line -> one plain config struct. Every default lives here.
#pragma once

#include <hashsrv/hash/hasher.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace hashsrv {

enum class protocol { oneshot, stream, lines };
enum class log_level { error, warn, info, debug };
enum class pool_policy { batch, normal }; // the hash pool threads' scheduling policy

std::string_view to_string(protocol p) noexcept;
std::string_view to_string(log_level l) noexcept;
std::string_view to_string(pool_policy p) noexcept;

struct config {
    std::uint16_t port = 8080;
    std::string bind;                 // empty: every address, IPv6 and IPv4
    protocol proto = protocol::oneshot;
    algorithm hash = algorithm::fnv1a;

    std::size_t threads = 4;          // hash pool; the command line defaults to auto_pool_threads()
    std::size_t io_threads = 1;
    pool_policy pool_sched = pool_policy::batch;
    std::size_t max_inflight = 64;    // hash jobs queued or running on the pool
    std::size_t inline_below = 0;     // hash inputs smaller than this on the io thread
    std::size_t chunk_size = 256 * 1024; // stream: bytes per hash job; lines: read size (bench/README.md, scenario 3)
    std::size_t pool_slice = 256 * 1024; // a pool job hashes this much, then lets what queued behind it run (0: never)

    std::size_t max_line = 64 * 1024;
    std::uint64_t max_stream_bytes = std::numeric_limits<std::uint64_t>::max();
    std::size_t max_connections = 10000;
    std::size_t max_per_client = 0;   // connections at once from one source address (0: no limit)
    std::chrono::milliseconds idle_timeout{30'000}; // zero: never
    std::chrono::milliseconds shutdown_timeout{10'000};

    std::optional<std::uint16_t> metrics_port;
    std::string metrics_bind = "127.0.0.1"; // metrics are for the host (or a scraper it lets in)
    log_level level = log_level::info;
};

/// What main does when the command line asks for no server.
struct early_exit {
    int code;            // 0 for --help/--version, 1 for a usage error
    std::string message; // for stdout when code is 0, stderr otherwise
};

std::variant<config, early_exit> parse_command_line(int argc, char const* const* argv);

/// Strict parsers, shared with the tools; each throws std::invalid_argument
/// with a message that names what was expected.
std::uint16_t parse_port(std::string_view text);
/// A byte count: digits with an optional K, M or G suffix (powers of 1024).
std::uint64_t parse_size(std::string_view text);
/// Seconds, fractions allowed ("0.5").
std::chrono::milliseconds parse_seconds(std::string_view text);
/// `--threads auto`: the CPUs this process may use minus the I/O threads, at least 1.
std::size_t auto_pool_threads(std::size_t io_threads);

} // namespace hashsrv
