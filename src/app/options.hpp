// SPDX-License-Identifier: BSL-1.0
// Command line -> one plain config struct. Every default lives here or in
// the settings it extends.
#pragma once

#include "app/config_sources.hpp"
#include "app/threads.hpp"
#include "observe/log.hpp"
#include "server/server_settings.hpp"

#include <cstddef>
#include <string>
#include <variant>

namespace hashsrv {

/// The whole process's configuration: the server's, and the threads and log
/// that the process sets up around it.
struct config : server_settings {
    std::size_t threads = 4; // hash pool; the command line defaults to auto_pool_threads()
    std::size_t io_threads = 1;
    pool_policy pool_sched = pool_policy::batch;
    log_level level = log_level::info;
    std::string state_file; // --state-file: where to write the endpoint for health checks
};

/// What main does when the command line asks for no server.
struct early_exit {
    int code;            // 0 for --help/--version, 1 for a usage error
    std::string message; // for stdout when code is 0, stderr otherwise
};

/// The command line, then the process's environment and the --config file for
/// the options it leaves out.
std::variant<config, early_exit> parse_command_line(int argc, char const* const* argv);
/// The same with the environment `env` in place of the process's.
std::variant<config, early_exit> parse_command_line(int argc, char const* const* argv, environment const& env);

/// `--threads auto`: the CPUs this process may use minus the I/O threads, at least 1.
std::size_t auto_pool_threads(std::size_t io_threads);

} // namespace hashsrv
