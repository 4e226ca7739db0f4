// SPDX-License-Identifier: BSL-1.0
// The smallest single-threaded epoll server: accept, read once, reply with a
// constant 17-byte line, close. No hashing, no coroutines, no thread pool:
// the kernel's cost of a TCP connection-per-request on this machine, against
// which bench/run quotes every hash_server request-rate and CPU figure.
//
//     baseline_server PORT    (0: any free port; the banner shows the port)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr char reply[] = "0000000000000000\n"; // the shape of a hash_server reply: 16 hex digits and \n
static_assert(sizeof reply - 1 == 17);

[[noreturn]] void die(char const* what)
{
    std::perror(what);
    std::exit(1);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "Usage: baseline_server <port>\n");
        return 1;
    }
    char* end = nullptr;
    long port = std::strtol(argv[1], &end, 10);
    if (*end || port < 0 || port > 65535) {
        std::fprintf(stderr, "baseline_server: bad port %s\n", argv[1]);
        return 1;
    }
    int lfd = ::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    int one = 1, zero = 0;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero); // IPv4 too, as hash_server
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_any;
    addr.sin6_port = htons(static_cast<unsigned short>(port));
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("bind");
    if (::listen(lfd, SOMAXCONN) < 0) die("listen");
    socklen_t len = sizeof addr;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("Baseline server listening on port %d\n", ntohs(addr.sin6_port));
    std::fflush(stdout);

    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll_ctl");

    epoll_event events[256];
    char buf[4096];
    for (;;) {
        int n = ::epoll_wait(ep, events, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                for (;;) { // drain the accept queue
                    int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) break; // EAGAIN, or EMFILE: retried on the next wakeup
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLRDHUP;
                    cev.data.fd = c;
                    if (::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0) ::close(c);
                }
                continue;
            }
            auto got = ::read(fd, buf, sizeof buf);
            if (got > 0) (void)!::write(fd, reply, sizeof reply - 1);
            ::close(fd); // also leaves the epoll set
        }
    }
}
