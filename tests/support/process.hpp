// SPDX-License-Identifier: BSL-1.0
// Child processes: starting a program with the descriptors a test chose,
// waiting for its exit with a bound, running one to completion, and shell
// commands such as `nc`.
#pragma once

#include "polling.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace test_support {

struct exit_status {
    bool exited = false; // false: killed by a signal
    int code = -1;       // exit code, or the signal number
};

struct run_result {
    exit_status status;
    std::string out, err;
};

/// The child's standard descriptors (-1: the test's own) and its `ulimit -n`.
struct child_io {
    int in = -1, out = -1, err = -1;
    std::optional<rlim_t> max_open_files;  // soft and hard
    std::optional<rlim_t> soft_open_files; // soft alone (under the hard limit: max_open_files, or the test's)
};

inline exit_status decode_wait_status(int st)
{
    bool const exited = WIFEXITED(st);
    return {exited, exited ? WEXITSTATUS(st) : WTERMSIG(st)};
}

/// A started program (argv[0]: its path), killed if the test ends first.
class child_process {
public:
    child_process() = default;

    child_process(std::vector<std::string> argv, child_io const& io)
    {
        // Built before the fork: the child of a threaded test may not allocate.
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) exec(args.data(), io);
    }

    child_process(child_process&& o) noexcept : pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}
    child_process& operator=(child_process&& o) noexcept
    {
        if (this != &o) {
            kill();
            pid_ = std::exchange(o.pid_, -1);
            status_ = o.status_;
        }
        return *this;
    }
    ~child_process() { kill(); }

    pid_t pid() const noexcept { return pid_; }
    void signal(int sig) const { ::kill(pid_, sig); }

    /// Waits for the exit; nullopt if it is still running after `limit`.
    std::optional<exit_status> wait_exit(std::chrono::milliseconds limit)
    {
        eventually(
            [&] {
                int st = 0;
                if (!status_ && ::waitpid(pid_, &st, WNOHANG) == pid_) status_ = decode_wait_status(st);
                return status_.has_value();
            },
            limit);
        return status_;
    }

    bool running() { return !wait_exit(0ms).has_value(); }

    /// SIGKILL, unless it has exited already; how it ended.
    std::optional<exit_status> kill()
    {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            int st = 0;
            ::waitpid(pid_, &st, 0);
            status_ = decode_wait_status(st);
        }
        return status_;
    }

private:
    [[noreturn]] static void exec(char* const* argv, child_io const& io)
    {
        if (io.in >= 0) ::dup2(io.in, STDIN_FILENO);
        if (io.out >= 0) ::dup2(io.out, STDOUT_FILENO);
        if (io.err >= 0) ::dup2(io.err, STDERR_FILENO);
        if (io.max_open_files || io.soft_open_files) {
            rlimit rl{};
            ::getrlimit(RLIMIT_NOFILE, &rl);
            if (io.max_open_files) rl.rlim_cur = rl.rlim_max = *io.max_open_files;
            if (io.soft_open_files) rl.rlim_cur = *io.soft_open_files;
            ::setrlimit(RLIMIT_NOFILE, &rl);
        }
        // The child must not hold the test's sockets: a connection the test
        // closes would stay open in it.
        for (int fd = 3; fd < 1024; ++fd) ::close(fd);
        ::execv(argv[0], argv);
        std::perror(argv[0]);
        ::_exit(127);
    }

    pid_t pid_ = -1;
    std::optional<exit_status> status_;
};

/// A file the test reads back once a child wrote it; removed with the object.
class temp_file {
public:
    explicit temp_file(std::string const& name)
    {
        std::string tmpl = "/tmp/" + name + "_XXXXXX";
        fd_ = ::mkstemp(tmpl.data());
        if (fd_ < 0) throw std::runtime_error("mkstemp failed");
        path_ = tmpl;
    }
    temp_file(temp_file const&) = delete;
    temp_file& operator=(temp_file const&) = delete;
    ~temp_file()
    {
        close();
        ::unlink(path_.c_str());
    }

    int fd() const noexcept { return fd_; }
    std::string const& path() const noexcept { return path_; }
    /// Once the child has it: the test keeps only the name.
    void close()
    {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }
    std::string contents() const
    {
        std::ifstream in(path_);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

private:
    int fd_ = -1;
    std::string path_;
};

/// Runs any program (argv[0]: its path) to completion, killed after `limit`.
inline run_result run_command(std::vector<std::string> const& argv, std::chrono::milliseconds limit)
{
    temp_file out("hash_server_out"), err("hash_server_err");
    child_io io;
    io.out = out.fd();
    io.err = err.fd();
    child_process child(argv, io);
    out.close();
    err.close();
    auto status = child.wait_exit(limit);
    if (!status) status = child.kill();
    return {*status, out.contents(), err.contents()};
}

/// The output (stdout and stderr) of a shell command; `timeout` guards hangs.
inline std::string shell_output(std::string const& command)
{
    std::string out;
    if (FILE* p = ::popen(("timeout 60 sh -c '" + command + "' 2>&1").c_str(), "r")) {
        char buf[4096];
        while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

inline bool have_command(std::string const& name)
{
    return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

} // namespace test_support
