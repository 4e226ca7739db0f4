// SPDX-License-Identifier: BSL-1.0
// The one --version line of every tool: the project's version and the commit
// it was built from (both set by CMake at configure time).
#pragma once

#include <string>
#include <string_view>

// Both come from CMake (hashsrv_core); the fallbacks serve tools that read
// the sources without it (cppcheck, an editor).
#ifndef HASHSRV_VERSION
#define HASHSRV_VERSION "unknown"
#endif
#if __has_include(<hashsrv/commit.hpp>)
#include <hashsrv/commit.hpp> // generated in the build directory
#endif
#ifndef HASHSRV_COMMIT
#define HASHSRV_COMMIT "unknown"
#endif

namespace hashsrv {

inline constexpr std::string_view version = HASHSRV_VERSION;
inline constexpr std::string_view commit = HASHSRV_COMMIT;

/// "hash_server 0.1.0 (commit 794f81a)": `name version` first, as help2man
/// and most tools expect.
inline std::string version_line(std::string_view tool)
{
    return std::string(tool) + " " + std::string(version) + " (commit " + std::string(commit) + ")";
}

} // namespace hashsrv
