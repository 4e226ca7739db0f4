// SPDX-License-Identifier: BSL-1.0
#include "app/open_files.hpp"

#include "observe/log.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <sys/resource.h>

namespace hashsrv {

namespace {

/// The most a soft limit may be: setrlimit refuses RLIM_INFINITY, and any
/// value above fs.nr_open, for RLIMIT_NOFILE.
rlim_t ceiling(rlim_t hard)
{
    if (hard != RLIM_INFINITY) return hard;
    std::ifstream in("/proc/sys/fs/nr_open");
    rlim_t nr_open = 0;
    if (in >> nr_open && nr_open > 0) return nr_open;
    return 1U << 20; // the kernel's default fs.nr_open
}

} // namespace

open_files_limit raise_open_files_limit(std::size_t max_connections)
{
    open_files_limit out;
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        out.warning = fmt::format("cannot read the open files limit: {}", std::strerror(errno));
        return out;
    }
    out.before = rl.rlim_cur;
    out.hard = rl.rlim_max;
    auto const target = ceiling(rl.rlim_max);
    std::string failure;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < target) {
        rlimit raised{target, rl.rlim_max};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl.rlim_cur = target;
        else failure = fmt::format(" (raising it failed: {})", std::strerror(errno));
    }
    out.soft = rl.rlim_cur;
    auto const needed = static_cast<std::uint64_t>(max_connections) + reserved_descriptors;
    if (out.soft != RLIM_INFINITY && out.soft < needed) {
        // The accept loop survives the shortfall (EMFILE is retried), but
        // every connection past it waits in the backlog for a free descriptor.
        out.warning = fmt::format(
            "open files limit is {} (hard limit {}){}: --max-connections {} needs {}; past about {} connections, accepts "
            "fail with EMFILE and newcomers wait. Raise the hard limit (ulimit -Hn, systemd LimitNOFILE=, docker "
            "--ulimit nofile=) or lower --max-connections",
            out.soft, out.hard == RLIM_INFINITY ? std::string("unlimited") : std::to_string(out.hard), failure,
            max_connections, needed, out.soft > reserved_descriptors ? out.soft - reserved_descriptors : 0);
    }
    return out;
}

open_files_limit raise_and_log_open_files_limit(std::size_t max_connections)
{
    auto limit = raise_open_files_limit(max_connections);
    if (limit.soft != limit.before) log::debug("open files limit raised from {} to {}", limit.before, limit.soft);
    if (!limit.warning.empty()) log::warn("{}", limit.warning);
    return limit;
}

} // namespace hashsrv
