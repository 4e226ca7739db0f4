// SPDX-License-Identifier: BSL-1.0
// The real hash_server binary, started for one test on a port the system
// picks (port 0, read back from the banner), so tests never collide; its log;
// and what /proc tells about it: descriptors, sockets, memory, threads.
#pragma once

#include "polling.hpp"
#include "process.hpp"
#include "sockets.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#ifndef HASH_SERVER_PATH
#error "define HASH_SERVER_PATH to the hash_server binary"
#endif

namespace test_support {

inline std::string hash_server_path() { return HASH_SERVER_PATH; }

/// The first line on stdout, once the server listens; the port follows.
inline constexpr std::string_view banner_prefix = "Hash server listening on port ";

class server_process {
public:
    struct options {
        std::optional<rlim_t> max_open_files;  // ulimit -n for the server (soft and hard)
        std::optional<rlim_t> soft_open_files; // ulimit -Sn alone (the hard limit: max_open_files, or the test's)
        std::chrono::milliseconds start_timeout = 10s;
        // stderr on the stdout pipe, as under `2>&1 | tee`. The test closes
        // that pipe after the banner like a reader that died: log() stays empty.
        bool log_on_stdout = false;
    };

    explicit server_process(std::vector<std::string> args) : server_process(std::move(args), options{}) {}

    /// Starts `hash_server args... 0`.
    server_process(std::vector<std::string> args, options const& opt) : log_("hash_server_stderr")
    {
        args.insert(args.begin(), hash_server_path());
        args.emplace_back("0");
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        fd_guard read_end(out[0]), write_end(out[1]);
        fd_guard devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        child_ = child_process(args, {.in = devnull.get(),
                                      .out = write_end.get(),
                                      .err = opt.log_on_stdout ? write_end.get() : log_.fd(),
                                      .max_open_files = opt.max_open_files,
                                      .soft_open_files = opt.soft_open_files});
        write_end.reset();
        log_.close();
        read_banner(read_end.get(), opt);
    }

    std::uint16_t port() const noexcept { return port_; }
    pid_t pid() const noexcept { return child_.pid(); }
    std::string const& banner() const noexcept { return banner_; }

    void signal(int sig) const { child_.signal(sig); }

    /// Waits for the process to exit; nullopt if it is still running after `limit`.
    std::optional<exit_status> wait_exit(std::chrono::milliseconds limit = 20s) { return child_.wait_exit(limit); }

    bool running() { return child_.running(); }

    /// What the server wrote on stderr so far (its log).
    std::string log() const { return log_.contents(); }

    /// Count of open descriptors of the server process.
    std::size_t open_fds() const { return proc_entries("fd").size(); }

    /// Count of the server's socket descriptors: its listeners and the
    /// connections it has accepted. How a test knows that the server has
    /// accepted a connection (one still in the kernel's backlog is no
    /// descriptor yet); unlike open_fds(), a file the C library opens for a
    /// moment does not move it.
    std::size_t open_sockets() const
    {
        std::size_t n = 0;
        for (auto const& fd : proc_entries("fd")) {
            char target[64];
            auto len = ::readlink((proc_path("fd/") + fd).c_str(), target, sizeof target - 1);
            if (len > 0 && std::string_view(target, static_cast<std::size_t>(len)).starts_with("socket:")) ++n;
        }
        return n;
    }

    /// Resident memory of the server process, in KiB (VmRSS).
    std::size_t rss_kib() const
    {
        std::ifstream in(proc_path("status"));
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
        return 0;
    }

    /// The ids of the server's threads (/proc/PID/task), the main thread's among them.
    std::vector<pid_t> thread_ids() const
    {
        std::vector<pid_t> ids;
        for (auto const& task : proc_entries("task")) ids.push_back(static_cast<pid_t>(std::atoi(task.c_str())));
        return ids;
    }

    /// /proc/PID/`below`.
    std::string proc_path(std::string_view below) const
    {
        return "/proc/" + std::to_string(pid()) + "/" + std::string(below);
    }

private:
    /// The names in the /proc/PID/`dir` directory, "." and ".." left out.
    std::vector<std::string> proc_entries(std::string_view dir) const
    {
        std::vector<std::string> names;
        if (auto* d = ::opendir(proc_path(dir).c_str())) {
            while (auto* e = ::readdir(d))
                if (e->d_name[0] != '.') names.emplace_back(e->d_name);
            ::closedir(d);
        }
        return names;
    }

    /// Reads stdout until the banner's line is whole. The server flushes it
    /// as soon as it listens; a merged log may come before it.
    void read_banner(int out, options const& opt)
    {
        auto const until = clock::now() + opt.start_timeout;
        std::string text;
        auto at = std::string::npos;
        while ((at = text.find(banner_prefix)) == std::string::npos || text.find('\n', at) == std::string::npos) {
            int const left = millis_until(until);
            if (left == 0) throw std::runtime_error("hash_server printed no banner: " + text + "\nlog: " + log());
            pollfd p{out, POLLIN, 0};
            if (::poll(&p, 1, left) <= 0) continue;
            char buf[256];
            auto n = ::read(out, buf, sizeof buf);
            if (n <= 0) throw std::runtime_error("hash_server exited before its banner: " + text + "\nlog: " + log());
            text.append(buf, static_cast<std::size_t>(n));
        }
        if (at != 0 && !opt.log_on_stdout) throw std::runtime_error("unexpected output before the banner: " + text);
        banner_ = text.substr(at, text.find('\n', at) - at);
        port_ = static_cast<std::uint16_t>(std::stoul(banner_.substr(banner_prefix.size())));
    }

    temp_file log_; // before child_: removed once the process is gone
    child_process child_;
    std::uint16_t port_ = 0;
    std::string banner_;
};

/// Runs hash_server to completion (for argument errors, --help, ...).
inline run_result run_to_exit(std::vector<std::string> const& args, std::chrono::milliseconds limit = 10s)
{
    std::vector<std::string> argv{hash_server_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, limit);
}

/// The last lines of the server's log, for failure messages.
inline std::string log_tail(server_process const& srv, std::size_t bytes = 4000)
{
    auto log = srv.log();
    return log.size() > bytes ? "..." + log.substr(log.size() - bytes) : log;
}

/// Waits (bounded) until the server's log contains `needle`; returns the log.
inline std::string wait_for_log(server_process const& srv, std::string_view needle,
                                std::chrono::milliseconds limit = 10s)
{
    std::string log;
    eventually([&] { return (log = srv.log()).find(needle) != std::string::npos; }, limit);
    return log;
}

/// The port of --metrics-port, from the "metrics on port N" log line.
inline std::uint16_t metrics_port(server_process const& srv)
{
    static constexpr std::string_view marker = "metrics on port ";
    auto log = wait_for_log(srv, marker);
    auto at = log.find(marker);
    if (at == std::string::npos || !std::isdigit(static_cast<unsigned char>(log[at + marker.size()])))
        throw std::runtime_error("no 'metrics on port N' in the log: " + log);
    return static_cast<std::uint16_t>(std::stoul(log.substr(at + marker.size())));
}

/// Waits until the server holds at least `sockets` socket descriptors: how a
/// test knows that the server has accepted its connections (an accepted
/// connection is one more socket; one still in the kernel backlog is not).
inline bool wait_for_sockets(server_process const& srv, std::size_t sockets, std::chrono::milliseconds limit = 20s)
{
    return eventually([&] { return srv.open_sockets() >= sockets; }, limit);
}

/// The server's open descriptors once the count has settled (unchanged for
/// 200 ms): a session closes its socket a moment after the client saw the
/// reply, so a count taken right after a request may include it.
inline std::size_t settled_fds(server_process const& srv)
{
    std::size_t last = srv.open_fds();
    for (int i = 0; i < 200; ++i) {
        std::this_thread::sleep_for(200ms);
        auto now = srv.open_fds();
        if (now == last) return now;
        last = now;
    }
    return last;
}

} // namespace test_support
