// SPDX-License-Identifier: BSL-1.0
// What the tests need to know about the build and the machine they run on:
// a sanitizer build, the descriptor limit, the kernel's socket buffer sizes.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <cstddef>
#include <fstream>

namespace test_support {

/// True when the binaries were built with a sanitizer (the server is built
/// with the same flags as the tests): memory bounds and counts are scaled.
constexpr bool sanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

/// Some tests hold a thousand sockets or more: lift the soft descriptor limit
/// (the server, a child, inherits it unless the test sets its own).
inline void raise_fd_limit(rlim_t want = 8192)
{
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = std::min(want, rl.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/// The kernel's ceiling on one TCP connection's receive plus send buffers.
/// A client that manages to send more than this has proof that the server
/// read some of it (the bytes cannot all be sitting in buffers).
inline std::size_t socket_buffers_ceiling()
{
    auto third = [](char const* path) -> std::size_t {
        std::ifstream in(path);
        std::size_t a = 0, b = 0, c = 0;
        in >> a >> b >> c;
        return c > 0 ? c : (8U << 20);
    };
    return third("/proc/sys/net/ipv4/tcp_rmem") + third("/proc/sys/net/ipv4/tcp_wmem");
}

} // namespace test_support
