// SPDX-License-Identifier: BSL-1.0
// Blocking loopback clients with deadlines: connecting, sending (whole or in
// pieces, while reading), reading to EOF or to a byte count, and the socket
// options some tests need (no Nagle, a reset instead of a FIN).
#pragma once

#include "polling.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace test_support {

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

/// A TCP socket not connected yet, for a test that sets options or binds first.
inline fd_guard tcp_socket(int family = AF_INET) { return fd_guard(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)); }

/// `address` (dotted IPv4) and `port` as bind(2) and connect(2) take them.
inline sockaddr_in ipv4(char const* address, std::uint16_t port)
{
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, address, &a.sin_addr);
    return a;
}

/// connect(2): 0, or the errno that tells "refused" from other failures.
template <typename Address>
int connect_errno(int fd, Address const& to)
{
    return ::connect(fd, reinterpret_cast<sockaddr const*>(&to), sizeof to) == 0 ? 0 : errno;
}

/// The loopback address a client connects to: 127.0.0.1 or [::1].
enum class loopback { v4, v6 };

/// Connects to 127.0.0.1:port (or [::1]:port); an invalid guard if it cannot.
inline fd_guard connect_to(std::uint16_t port, loopback to = loopback::v4)
{
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    v6.sin6_addr = in6addr_loopback;
    bool const ipv6 = to == loopback::v6;
    auto fd = tcp_socket(ipv6 ? AF_INET6 : AF_INET);
    if (!fd) return fd;
    int const error = ipv6 ? connect_errno(fd.get(), v6) : connect_errno(fd.get(), ipv4("127.0.0.1", port));
    return error == 0 ? std::move(fd) : fd_guard{};
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

/// Sends `data` in sends of `next_size()` bytes (the last may be shorter), so
/// that the server's reads cut it where the test chose; whether all went.
template <typename Size>
bool send_in_pieces(int fd, std::string_view data, Size&& next_size)
{
    while (!data.empty()) {
        auto const n = std::min<std::size_t>(next_size(), data.size());
        if (!send_all(fd, data.substr(0, n))) return false;
        data.remove_prefix(n);
    }
    return true;
}

/// Appends to `out` at most `max` bytes from `fd` once it is readable:
/// recv(2)'s result, or nullopt if `deadline` passed first.
inline std::optional<ssize_t> recv_before(int fd, clock::time_point deadline, std::string& out, std::size_t max)
{
    char buf[65536];
    for (;;) {
        int const left = millis_until(deadline);
        if (left == 0) return std::nullopt;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, left) <= 0) continue;
        auto n = ::recv(fd, buf, std::min(sizeof buf, max), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n > 0) out.append(buf, static_cast<std::size_t>(n));
        return n;
    }
}

/// What came before the connection ended, and how it ended.
struct read_result {
    std::string data;
    bool eof = false;     // orderly close by the server
    bool reset = false;   // connection reset
    bool timeout = false; // deadline passed first
};

/// Reads until EOF, an error, or the deadline.
inline read_result read_until_eof(int fd, std::chrono::milliseconds limit = 10s)
{
    read_result r;
    auto const until = clock::now() + limit;
    for (;;) {
        auto n = recv_before(fd, until, r.data, SIZE_MAX);
        if (!n) {
            r.timeout = true;
            return r;
        }
        if (*n > 0) continue;
        (*n == 0 ? r.eof : r.reset) = true;
        return r;
    }
}

/// Reads until `want` bytes arrived (or EOF/error/deadline).
inline std::string read_exactly(int fd, std::size_t want, std::chrono::milliseconds limit = 10s)
{
    std::string out;
    auto const until = clock::now() + limit;
    while (out.size() < want) {
        auto n = recv_before(fd, until, out, want - out.size());
        if (!n || *n <= 0) break;
    }
    return out;
}

/// Runs `write(fd)` on a thread of its own and then half-closes, while this
/// thread reads until EOF: neither side's full buffers can stall the other.
/// On a timeout the connection is shut down, which unblocks the writer.
template <typename Writer>
read_result write_while_reading(int fd, Writer&& write, std::chrono::milliseconds limit)
{
    std::thread writer([&] {
        write(fd);
        shutdown_write(fd);
    });
    auto r = read_until_eof(fd, limit);
    if (r.timeout) ::shutdown(fd, SHUT_RDWR);
    writer.join();
    return r;
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

/// Sends each write on its own segment (no Nagle coalescing on our side).
inline void set_nodelay(int fd)
{
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/// Closes with SO_LINGER 0: the peer sees a reset, not a FIN.
inline void reset_close(fd_guard& fd)
{
    linger l{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    fd.reset();
}

/// True if nothing at all (no byte, no EOF) arrives on `fd` within `wait`.
/// Used to show that something does NOT happen; a correct server can never
/// fail it, a broken one fails it unless the machine is slower than `wait`.
inline bool stays_silent(int fd, std::chrono::milliseconds wait)
{
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 0;
}

} // namespace test_support
