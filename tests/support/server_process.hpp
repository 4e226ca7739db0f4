// SPDX-License-Identifier: BSL-1.0
// Starts the real hash_server binary for a test and talks to it over real
// sockets. Every test gets its own server on a port the system picks (port 0,
// read back from the banner), so tests never collide.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#ifndef HASH_SERVER_PATH
#error "define HASH_SERVER_PATH to the hash_server binary"
#endif

namespace test_support {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

inline std::string hash_server_path() { return HASH_SERVER_PATH; }

/// A file descriptor that closes itself.
class fd_guard {
public:
    fd_guard() = default;
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    fd_guard(fd_guard&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    fd_guard& operator=(fd_guard&& o) noexcept
    {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~fd_guard() { reset(); }
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    void reset() noexcept
    {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }

private:
    int fd_ = -1;
};

struct exit_status {
    bool exited = false; // false: killed by a signal
    int code = -1;       // exit code, or the signal number
};

struct run_result {
    exit_status status;
    std::string out, err;
};

/// Runs hash_server to completion (for argument errors, --help, ...).
inline run_result run_to_exit(std::vector<std::string> const& args, std::chrono::milliseconds limit = 10s);
/// Runs any program (argv[0]: its path) to completion, killed after `limit`.
inline run_result run_command(std::vector<std::string> const& argv, std::chrono::milliseconds limit);

class server_process {
public:
    struct options {
        std::optional<rlim_t> max_open_files;  // ulimit -n for the server (soft and hard)
        std::optional<rlim_t> soft_open_files; // ulimit -Sn alone (the hard limit: max_open_files, or the test's)
        std::chrono::milliseconds start_timeout = 10s;
    };

    explicit server_process(std::vector<std::string> args) : server_process(std::move(args), options{}) {}

    /// Starts `hash_server args...`; the port argument is appended ("0"
    /// unless `args` already ends with one, see start_with_port).
    server_process(std::vector<std::string> args, options opt)
    {
        args.push_back("0");
        start(args, opt);
    }

    server_process(server_process const&) = delete;
    server_process& operator=(server_process const&) = delete;

    ~server_process()
    {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            int st = 0;
            ::waitpid(pid_, &st, 0);
        }
        if (!stderr_path_.empty()) ::unlink(stderr_path_.c_str());
    }

    std::uint16_t port() const noexcept { return port_; }
    pid_t pid() const noexcept { return pid_; }
    std::string const& banner() const noexcept { return banner_; }

    void signal(int sig) const { ::kill(pid_, sig); }

    /// Waits for the process to exit; nullopt if it is still running after `limit`.
    std::optional<exit_status> wait_exit(std::chrono::milliseconds limit = 20s)
    {
        if (status_) return status_;
        auto until = clock::now() + limit;
        for (;;) {
            int st = 0;
            pid_t r = ::waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                exit_status s;
                s.exited = WIFEXITED(st);
                s.code = s.exited ? WEXITSTATUS(st) : WTERMSIG(st);
                status_ = s;
                return status_;
            }
            if (clock::now() >= until) return std::nullopt;
            std::this_thread::sleep_for(5ms);
        }
    }

    bool running() { return !wait_exit(0ms).has_value(); }

    /// What the server wrote on stderr so far (its log).
    std::string log() const
    {
        std::ifstream in(stderr_path_);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    /// Count of open descriptors of the server process.
    std::size_t open_fds() const
    {
        std::size_t n = 0;
        std::string dir = "/proc/" + std::to_string(pid_) + "/fd";
        if (auto* d = ::opendir(dir.c_str())) {
            while (auto* e = ::readdir(d))
                if (e->d_name[0] != '.') ++n;
            ::closedir(d);
        }
        return n;
    }

    /// Count of the server's socket descriptors: its listeners and the
    /// connections it has accepted. How a test knows that the server has
    /// accepted a connection (one still in the kernel's backlog is no
    /// descriptor yet); unlike open_fds(), a file the C library opens for a
    /// moment does not move it.
    std::size_t open_sockets() const
    {
        std::size_t n = 0;
        std::string dir = "/proc/" + std::to_string(pid_) + "/fd";
        if (auto* d = ::opendir(dir.c_str())) {
            while (auto* e = ::readdir(d)) {
                if (e->d_name[0] == '.') continue;
                char target[64];
                auto len = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
                if (len > 0 && std::string_view(target, static_cast<std::size_t>(len)).starts_with("socket:")) ++n;
            }
            ::closedir(d);
        }
        return n;
    }

    /// Resident memory of the server process, in KiB (VmRSS).
    std::size_t rss_kib() const
    {
        std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
        return 0;
    }

private:
    void start(std::vector<std::string> const& args, options const& opt)
    {
        char tmpl[] = "/tmp/hash_server_stderr_XXXXXX";
        int errfd = ::mkstemp(tmpl);
        if (errfd < 0) throw std::runtime_error("mkstemp failed");
        stderr_path_ = tmpl;
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::dup2(errfd, STDERR_FILENO);
            int devnull = ::open("/dev/null", O_RDONLY);
            ::dup2(devnull, STDIN_FILENO);
            if (opt.max_open_files || opt.soft_open_files) {
                rlimit rl{};
                ::getrlimit(RLIMIT_NOFILE, &rl);
                if (opt.max_open_files) rl.rlim_cur = rl.rlim_max = *opt.max_open_files;
                if (opt.soft_open_files) rl.rlim_cur = *opt.soft_open_files;
                ::setrlimit(RLIMIT_NOFILE, &rl);
            }
            // Close every other descriptor the test holds (its sockets).
            for (int fd = 3; fd < 1024; ++fd) ::close(fd);
            std::vector<char*> argv;
            std::string path = hash_server_path();
            argv.push_back(path.data());
            std::vector<std::string> copy = args;
            for (auto& a : copy) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(path.c_str(), argv.data());
            std::perror("execv hash_server");
            ::_exit(127);
        }
        ::close(out[1]);
        ::close(errfd);
        fd_guard rd(out[0]);
        // Read the banner line; it is flushed as soon as the socket listens.
        auto until = clock::now() + opt.start_timeout;
        std::string line;
        while (line.find('\n') == std::string::npos) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()).count();
            if (left <= 0) throw std::runtime_error("hash_server printed no banner; log: " + log());
            pollfd p{rd.get(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
            char buf[256];
            auto n = ::read(rd.get(), buf, sizeof buf);
            if (n <= 0) throw std::runtime_error("hash_server exited before its banner; log: " + log());
            line.append(buf, static_cast<std::size_t>(n));
        }
        banner_ = line.substr(0, line.find('\n'));
        static constexpr std::string_view prefix = "Hash server listening on port ";
        if (banner_.rfind(prefix, 0) != 0) throw std::runtime_error("unexpected banner: " + banner_);
        port_ = static_cast<std::uint16_t>(std::stoul(banner_.substr(prefix.size())));
    }

    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::string banner_;
    std::string stderr_path_;
    std::optional<exit_status> status_;
};

// ---- blocking clients with deadlines --------------------------------------

/// The loopback address a client connects to: 127.0.0.1 or [::1].
enum class loopback { v4, v6 };

/// Connects to 127.0.0.1:port (or [::1]:port); an invalid guard if it cannot.
inline fd_guard connect_to(std::uint16_t port, loopback to = loopback::v4)
{
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    v6.sin6_addr = in6addr_loopback;
    bool const ipv6 = to == loopback::v6;
    fd_guard fd(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fd;
    auto const* addr = ipv6 ? reinterpret_cast<sockaddr const*>(&v6) : reinterpret_cast<sockaddr const*>(&v4);
    socklen_t const len = ipv6 ? sizeof v6 : sizeof v4;
    if (::connect(fd.get(), addr, len) != 0) return fd_guard{};
    return fd;
}

inline bool send_all(int fd, std::string_view data)
{
    while (!data.empty()) {
        auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

inline void shutdown_write(int fd) { ::shutdown(fd, SHUT_WR); }

/// Reads until EOF, an error, or the deadline. `eof` tells which.
struct read_result {
    std::string data;
    bool eof = false;     // orderly close by the server
    bool reset = false;   // connection reset
    bool timeout = false; // deadline passed first
};

inline read_result read_until_eof(int fd, std::chrono::milliseconds limit = 10s)
{
    read_result r;
    auto until = clock::now() + limit;
    char buf[65536];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()).count();
        if (left <= 0) {
            r.timeout = true;
            return r;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            r.data.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) r.eof = true;
        else if (errno == EINTR) continue;
        else r.reset = true;
        return r;
    }
}

/// Reads until `want` bytes arrived (or EOF/error/deadline).
inline std::string read_exactly(int fd, std::size_t want, std::chrono::milliseconds limit = 10s)
{
    std::string out;
    auto until = clock::now() + limit;
    char buf[65536];
    while (out.size() < want) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()).count();
        if (left <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
        auto n = ::recv(fd, buf, std::min(sizeof buf, want - out.size()), 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

/// One request the way `echo data | nc -q1` makes it: send, half-close, read to EOF.
inline std::string request(std::uint16_t port, std::string_view payload, bool half_close = true)
{
    auto fd = connect_to(port);
    if (!fd) return "<connect failed>";
    if (!send_all(fd.get(), payload)) return "<send failed>";
    if (half_close) shutdown_write(fd.get());
    return read_until_eof(fd.get()).data;
}

// ---- independent reference digests -----------------------------------------

inline std::uint64_t reference_fnv1a(std::string_view data, std::uint64_t h = 14695981039346656037ULL)
{
    for (unsigned char c : data) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

inline std::string hex16(std::uint64_t v)
{
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

inline run_result run_command(std::vector<std::string> const& argv_in, std::chrono::milliseconds limit)
{
    char out_t[] = "/tmp/hash_server_out_XXXXXX", err_t[] = "/tmp/hash_server_err_XXXXXX";
    int outfd = ::mkstemp(out_t), errfd = ::mkstemp(err_t);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(outfd, STDOUT_FILENO);
        ::dup2(errfd, STDERR_FILENO);
        for (int fd = 3; fd < 1024; ++fd) ::close(fd);
        std::vector<std::string> copy = argv_in;
        std::vector<char*> argv;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(outfd);
    ::close(errfd);
    run_result r;
    auto until = clock::now() + limit;
    int st = 0;
    for (;;) {
        if (::waitpid(pid, &st, WNOHANG) == pid) break;
        if (clock::now() >= until) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &st, 0);
            break;
        }
        std::this_thread::sleep_for(5ms);
    }
    r.status.exited = WIFEXITED(st);
    r.status.code = r.status.exited ? WEXITSTATUS(st) : WTERMSIG(st);
    auto slurp = [](char const* p) {
        std::ifstream in(p);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    r.out = slurp(out_t);
    r.err = slurp(err_t);
    ::unlink(out_t);
    ::unlink(err_t);
    return r;
}

inline run_result run_to_exit(std::vector<std::string> const& args, std::chrono::milliseconds limit)
{
    std::vector<std::string> argv{hash_server_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, limit);
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
