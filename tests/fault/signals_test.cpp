// SPDX-License-Identifier: BSL-1.0
// Signals a process gets from its surroundings rather than from an operator
// who means it to stop: SIGPIPE when whatever reads its log has gone
// (`hash_server 2>&1 | tee log`, then tee dies), and SIGHUP.
#include "fault_support.hpp"

#include <fcntl.h>

#include <fstream>

using namespace fault;

namespace {

/// hash_server with stdout and stderr on one pipe, as under `2>&1 | tee`;
/// the test reads the banner from it, then closes it like a reader that died.
class piped_server {
public:
    explicit piped_server(std::vector<std::string> args)
    {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(p[1], STDOUT_FILENO);
            ::dup2(p[1], STDERR_FILENO);
            for (int fd = 3; fd < 1024; ++fd) ::close(fd);
            std::string path = hash_server_path();
            std::vector<char*> argv{path.data()};
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(path.c_str(), argv.data());
            ::_exit(127);
        }
        ::close(p[1]);
        read_end_ = fd_guard(p[0]);
        read_banner();
    }
    piped_server(piped_server const&) = delete;
    piped_server& operator=(piped_server const&) = delete;
    ~piped_server()
    {
        if (!status_) {
            ::kill(pid_, SIGKILL);
            wait_exit(30s);
        }
    }

    std::uint16_t port() const { return port_; }
    void close_reader() { read_end_.reset(); }
    void signal(int sig) const { ::kill(pid_, sig); }

    std::optional<exit_status> wait_exit(std::chrono::milliseconds limit)
    {
        auto until = clock::now() + limit;
        while (!status_ && clock::now() < until) {
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                exit_status s;
                s.exited = WIFEXITED(st);
                s.code = s.exited ? WEXITSTATUS(st) : WTERMSIG(st);
                status_ = s;
            } else {
                std::this_thread::sleep_for(5ms);
            }
        }
        return status_;
    }

private:
    void read_banner()
    {
        static constexpr std::string_view prefix = "Hash server listening on port ";
        std::string text;
        auto until = clock::now() + 20s;
        while (text.find(prefix) == std::string::npos || text.find('\n', text.find(prefix)) == std::string::npos) {
            if (clock::now() >= until) throw std::runtime_error("no banner: " + text);
            pollfd p{read_end_.get(), POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            char buf[512];
            auto n = ::read(read_end_.get(), buf, sizeof buf);
            if (n <= 0) throw std::runtime_error("exited before its banner: " + text);
            text.append(buf, static_cast<std::size_t>(n));
        }
        port_ = static_cast<std::uint16_t>(std::stoul(text.substr(text.find(prefix) + prefix.size())));
    }

    pid_t pid_ = -1;
    fd_guard read_end_;
    std::uint16_t port_ = 0;
    std::optional<exit_status> status_;
};

} // namespace

// The log's reader is gone: log lines are lost, the server is not. SIGTERM
// (whose log line is the first to hit the broken pipe) still drains: an
// upload in progress gets its digest, and the exit status is 0.
TEST(Signals, ClosedLogPipeDoesNotKillAndTheDrainStillHappens)
{
    piped_server srv({"--protocol", "stream", "--log-level", "debug", "0"});
    srv.close_reader();
    EXPECT_EQ(request(srv.port(), "hello world\n"), reference_digest("fnv1a", "hello world\n"));
    // More than the socket buffers can hold: once it is sent, the server has
    // read some of it, so the upload is in progress when SIGTERM comes.
    std::mt19937_64 rng(7);
    auto const upload = random_bytes(rng, socket_buffers_ceiling() + (1U << 20));
    auto c = connect_to(srv.port());
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), upload.substr(0, upload.size() - 1000)));
    srv.signal(SIGTERM);
    ASSERT_TRUE(send_all(c.get(), upload.substr(upload.size() - 1000)));
    shutdown_write(c.get());
    EXPECT_EQ(read_until_eof(c.get(), 30s).data, reference_digest("fnv1a", upload));
    auto st = srv.wait_exit(30s);
    ASSERT_TRUE(st.has_value()) << "no exit 30 s after SIGTERM";
    EXPECT_TRUE(st->exited) << "killed by signal " << st->code;
    EXPECT_EQ(st->code, 0);
}

// SIGHUP is logged and ignored: the server goes on serving, and stops only
// when asked to (its default action would end the process at once).
TEST(Signals, SighupIsLoggedAndIgnored)
{
    server_process srv({});
    srv.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return srv.log().find("SIGHUP") != std::string::npos || !srv.running(); }, 20s))
        << log_tail(srv);
    ASSERT_TRUE(srv.running()) << log_tail(srv);
    EXPECT_EQ(srv.log().find("shutting down"), std::string::npos) << log_tail(srv);
    expect_healthy_then_stop(srv);
}
