// SPDX-License-Identifier: BSL-1.0
// Where an option comes from when the command line leaves it out: the
// environment (HASH_SERVER_<OPTION>), else a config file (`option = value`).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace hashsrv {

/// Looks a variable up: nullptr when unset. Tests pass their own.
using environment = std::function<char const*(char const*)>;

/// The process's environment (getenv).
environment process_environment();

/// The variable for an option: `--idle-timeout` is HASH_SERVER_IDLE_TIMEOUT.
/// The port is HASH_SERVER_LISTEN_PORT: a Kubernetes Service named
/// hash-server sets HASH_SERVER_PORT (to "tcp://10.0.0.1:8080") in every pod.
std::string environment_name(std::string_view option);

/// The value of `name`, or "" when it is unset or empty (an env file's
/// `NAME=` means "not set").
std::string environment_value(environment const& env, std::string const& name);

/// A config file's `key = value` lines (TOML/INI syntax, `#` comments), keys
/// being option names without their dashes. Throws std::invalid_argument
/// naming the file when it cannot be read, is not a regular file, is larger
/// than 1 MiB, has sections, an empty value, a list, or a key given twice.
std::map<std::string, std::string> read_config_file(std::string const& path);

} // namespace hashsrv
