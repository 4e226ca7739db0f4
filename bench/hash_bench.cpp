// SPDX-License-Identifier: BSL-1.0
// hash_bench: a load generator for hash_server (oneshot, stream, lines) and
// for bench/baseline_server. One epoll loop per client thread, edge-triggered,
// non-blocking sockets and a small state machine per connection, so the
// client costs a few syscalls per request and is not what the numbers measure.
//
// With --tls the same loop speaks TLS through OpenSSL's non-blocking calls on
// the same descriptors (SSL_do_handshake, SSL_write, SSL_read), which report
// "try again when readable/writable" as the sockets' EAGAIN does; the context
// is set up by the code hash_client uses (client/tls_client.hpp).
//
// It checks every digest it gets back against one computed here with the
// server's own hasher (include/hashsrv/hash/hasher.hpp), and records latency
// in log-bucket histograms (histogram.hpp).
#include "histogram.hpp"
#include "tls_client.hpp"

#include <hashsrv/hash/hasher.hpp>

#include <hashsrv/parse.hpp> // the server's own parsers of sizes, seconds and ports
#include <hashsrv/version.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <climits>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace hashsrv::bench {
namespace {

using clock = std::chrono::steady_clock;

enum class mode { oneshot, stream, lines, idle };
enum kind : int { small = 0, bulk = 1 };
constexpr char const* kind_name[] = {"small", "bulk"};

enum error_kind : int { e_connect, e_io, e_mismatch, e_server_err, e_closed, e_timeout, e_handshake, error_kinds };
constexpr char const* error_name[] = {"connect", "io", "mismatch", "server_err", "closed", "timeout", "handshake"};

struct settings {
    std::string host = "127.0.0.1";
    std::string source; // --source: the local address to connect from; empty: the kernel's choice
    std::uint16_t port = 8080;
    mode proto = mode::oneshot;
    std::size_t connections = 32;
    std::size_t threads = 1;
    std::chrono::milliseconds duration{5000};
    std::uint64_t requests = 0; // 0: run for `duration`
    std::string payload = "12";
    std::size_t mix = 0; // bulk stream connections alongside the small ones
    std::string bulk_payload = "4M";
    std::size_t depth = 1;
    double rate = 0; // small requests (lines) per second in all; 0: closed loop
    double bulk_rate = 0; // MB/s (10^6 bytes) per bulk connection; 0: as fast as the socket takes
    algorithm hash = algorithm::fnv1a;
    bool verify = true;
    bool json = false;
    std::size_t connect_burst = 256; // idle mode: connects in flight at once
    bool tls = false;
    std::string tls_ca; // --tls-ca: verify the server (chain and --host); empty: no verification
};

// ---- what each connection sends and expects -------------------------------

/// One request body: `size` bytes made of `pattern` repeated (so a 512 MiB
/// upload needs 1 MiB of memory), and the reply the server must send.
struct body {
    std::string pattern;
    std::uint64_t size = 0;
    std::string reply;
};

std::string read_file(std::string const& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Printable bytes (no '\n'), the same on every run.
std::string filler(std::size_t n, std::uint64_t seed)
{
    std::string s(n, ' ');
    std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (auto& c : s) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        c = static_cast<char>('!' + x % 94);
    }
    return s;
}

std::string digest_line(algorithm a, std::string_view data)
{
    std::string out;
    append_hex_digest_of(out, a, data);
    out.push_back('\n');
    return out;
}

body make_body(std::string const& spec, algorithm a)
{
    body b;
    if (!spec.empty() && spec[0] == '@') {
        b.pattern = read_file(spec.substr(1));
        b.size = b.pattern.size();
    } else {
        b.size = hashsrv::parse_size(spec);
        b.pattern = filler(static_cast<std::size_t>(std::min<std::uint64_t>(b.size, 1 << 20)), 1);
    }
    if (b.pattern.empty() && b.size > 0) throw std::runtime_error("empty payload file");
    hasher h(a);
    for (std::uint64_t done = 0; done < b.size;) {
        auto n = std::min<std::uint64_t>(b.pattern.size(), b.size - done);
        h.update({b.pattern.data(), static_cast<std::size_t>(n)});
        done += n;
    }
    b.reply = h.hex_digest() + "\n";
    return b;
}

/// For `lines`: `count` distinct lines (each ends in '\n'), laid out twice in
/// a row so that any run of up to `count` consecutive lines is contiguous.
struct line_set {
    std::vector<std::size_t> offset; // of line i in `text`, for i < 2*count
    std::vector<std::string> reply;  // expected digest line of line i % count
    std::string text;
    std::size_t count = 0;
};

line_set make_lines(std::string const& spec, algorithm a, std::size_t at_least)
{
    std::vector<std::string> lines;
    if (!spec.empty() && spec[0] == '@') {
        std::istringstream in(read_file(spec.substr(1)));
        for (std::string l; std::getline(in, l);) lines.push_back(l + "\n");
        if (lines.empty()) throw std::runtime_error("no lines in " + spec.substr(1));
    } else {
        auto size = hashsrv::parse_size(spec);
        if (size < 1) throw std::runtime_error("--payload for lines is the line length with its \\n (>= 1)");
        for (std::size_t i = 0; i < std::max<std::size_t>(at_least, 64); ++i)
            lines.push_back(filler(static_cast<std::size_t>(size - 1), i + 7) + "\n");
    }
    while (lines.size() < at_least) lines.push_back(lines[lines.size() % lines.size()]);
    line_set s;
    s.count = lines.size();
    for (int round = 0; round < 2; ++round)
        for (auto const& l : lines) {
            s.offset.push_back(s.text.size());
            s.text += l;
        }
    s.offset.push_back(s.text.size());
    for (auto const& l : lines) s.reply.push_back(digest_line(a, l));
    return s;
}

// ---- results ----------------------------------------------------------------

struct counters {
    histogram latency_ns;
    // paced: how late the client itself woke up to send a request it was free
    // to send on time; its tail is latency the client (or the machine) added
    histogram start_lag_ns;
    std::uint64_t requests = 0;
    std::uint64_t bytes = 0; // request bytes of completed requests
    std::array<std::uint64_t, error_kinds> errors{};
    std::uint64_t error_total() const
    {
        std::uint64_t t = 0;
        for (auto e : errors) t += e;
        return t;
    }
    void merge(counters const& o)
    {
        latency_ns.merge(o.latency_ns);
        start_lag_ns.merge(o.start_lag_ns);
        requests += o.requests;
        bytes += o.bytes;
        for (int i = 0; i < error_kinds; ++i) errors[i] += o.errors[i];
    }
};

/// Read by the progress line while a loop runs.
struct live {
    std::atomic<std::uint64_t> requests[2]{};
    std::atomic<std::uint64_t> bytes[2]{};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> open{0};
};

// ---- one client thread ----------------------------------------------------

struct shared_plan {
    settings const* cfg;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    sockaddr_storage source{}; // --source, port 0
    socklen_t source_len = 0;  // 0: no --source
    body small_body, bulk_body;
    line_set lines;
    clock::time_point start, stop, hard_stop;
    std::atomic<std::int64_t> requests_left{0}; // with --requests
    live progress;
    std::unique_ptr<boost::asio::ssl::context> tls; // --tls: every connection's SSL comes from it
};

/// --source: the port is left to connect(), which needs only the whole
/// 4-tuple to be unique (a bind with port 0 would need the port unused).
bool bind_source(int fd, shared_plan const& plan)
{
    int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    return ::bind(fd, reinterpret_cast<sockaddr const*>(&plan.source), plan.source_len) == 0;
}

class loop;

struct conn {
    loop* owner = nullptr;
    kind k = small;
    int fd = -1;
    SSL* ssl = nullptr;    // --tls
    bool secured = false;  // --tls: the handshake is done
    enum state_t { closed, sending, receiving, holding } state = closed;
    clock::time_point started; // latency origin: connect, or the scheduled time when paced
    clock::time_point due;     // paced: when this connection's next request (line) is scheduled
    bool timed = false;        // paced: in loop::waiting_
    std::uint64_t sent = 0;
    std::string got; // reply bytes (oneshot/stream), or a partial reply line (lines)
    bool got_overflow = false;
    // lines: pipelined requests in flight
    std::uint64_t lines_sent = 0, lines_done = 0;
    std::size_t batch_begin = 0, batch_end = 0; // byte range of lines.text being written
    std::size_t next_stamp = 0;                 // line (in the doubled layout) to stamp next
    std::vector<clock::time_point> sent_at;     // ring of size depth
    // --bulk-rate: bytes sent since `paced_from`, against rate x elapsed
    clock::time_point paced_from;
    std::uint64_t paced_bytes = 0;
};

class loop {
public:
    /// `first_small`: the global index of this loop's first small connection,
    /// which staggers the paced schedules evenly across all connections.
    loop(shared_plan& plan, std::size_t n_small, std::size_t n_bulk, std::size_t first_small)
        : plan_(plan), cfg_(*plan.cfg), first_small_(first_small)
    {
        if (cfg_.rate > 0)
            interval_ = std::chrono::duration_cast<clock::duration>(
                std::chrono::duration<double>(static_cast<double>(cfg_.connections) / cfg_.rate));
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
        conns_.resize(n_small + n_bulk);
        for (std::size_t i = 0; i < conns_.size(); ++i) {
            conns_[i].owner = this;
            conns_[i].k = i < n_small ? small : bulk;
            if (cfg_.proto == mode::lines) conns_[i].sent_at.resize(std::max<std::size_t>(cfg_.depth, 1));
        }
    }
    ~loop()
    {
        for (auto& c : conns_) {
            release_tls(c);
            if (c.fd >= 0) ::close(c.fd);
        }
        ::close(ep_);
    }

    void run()
    {
        // Paced: wake up on time, not up to the default 50 us timer slack late.
        if (interval_.count() > 0) ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
        std::size_t next_idle = 0;
        if (cfg_.proto != mode::idle)
            for (std::size_t i = 0; i < conns_.size(); ++i) {
                auto& c = conns_[i];
                c.paced_from = plan_.start;
                if (!paced(c)) {
                    start(c);
                    continue;
                }
                // Connection g of n sends at start + (g + j * n) / rate, j = 0, 1, ...:
                // together, one request every 1/rate seconds.
                c.due = plan_.start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(
                                          static_cast<double>(first_small_ + i) / cfg_.rate));
                if (cfg_.proto == mode::lines) start(c); // connects now; lines go out when due
                else wait_for_due(c);
            }
        std::array<epoll_event, 256> evs;
        for (;;) {
            if (cfg_.proto == mode::idle) // open the connections a burst at a time
                while (next_idle < conns_.size() && connecting_ < cfg_.connect_burst && !stopping_)
                    start(conns_[next_idle++]);
            int n = wait(evs);
            if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "epoll_wait");
            for (int i = 0; i < n; ++i) on_event(*static_cast<conn*>(evs[i].data.ptr), evs[i].events);
            // Next requests start here, not from inside the previous one's
            // completion: a refused connect fails at once, and must not recurse.
            // Once per round, so that the stop time is checked in between.
            if (!restart_.empty()) {
                auto again = std::move(restart_);
                restart_.clear();
                for (auto* c : again) start(*c);
            }
            auto now = clock::now();
            if (!waiting_.empty()) wake_due(now);
            if (!stopping_ && (now >= plan_.stop || (cfg_.requests && budget_spent()))) begin_stop();
            if (stopping_ && active_ == 0) break;
            if (now >= plan_.hard_stop) {
                for (auto& c : conns_)
                    if (c.state != conn::closed) fail(c, e_timeout);
                break;
            }
        }
        finished_ = clock::now();
    }

    counters stats[2];
    clock::time_point finished_;

private:
    /// Small connections follow a schedule with --rate; bulk ones never do.
    bool paced(conn const& c) const { return interval_.count() > 0 && c.k == small; }

    /// epoll_wait until an event, a restart, the next paced request or 50 ms
    /// (so that the stop time is checked). epoll_pwait2 takes a timeout in ns:
    /// epoll_wait's ms would send paced requests up to 1 ms late.
    int wait(std::array<epoll_event, 256>& evs)
    {
        auto timeout = clock::duration(std::chrono::milliseconds(50));
        if (!restart_.empty()) timeout = clock::duration::zero();
        else if (!waiting_.empty()) {
            auto now = clock::now();
            for (auto* c : waiting_) timeout = std::min(timeout, std::max(c->due - now, clock::duration::zero()));
        }
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
        timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
        if (have_pwait2_) {
            int n = epoll_pwait2(ep_, evs.data(), static_cast<int>(evs.size()), &ts, nullptr);
            if (n >= 0 || errno != ENOSYS) return n;
            have_pwait2_ = false; // kernel before 5.11: ms, rounded up so as never to wake early
        }
        return epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), static_cast<int>((ns + 999'999) / 1'000'000));
    }

    void wait_for_due(conn& c)
    {
        if (c.timed) return;
        c.timed = true;
        waiting_.push_back(&c);
    }

    /// Starts (oneshot, stream) or tops up (lines) the paced connections now due.
    void wake_due(clock::time_point now)
    {
        due_now_.clear();
        std::erase_if(waiting_, [&](conn* c) {
            if (c->due > now) return false;
            c->timed = false;
            due_now_.push_back(c);
            return true;
        });
        auto woke = clock::now();
        for (auto* c : due_now_) {
            if (c->k == bulk) { // --bulk-rate: the upload goes on
                pump(*c);
                continue;
            }
            stats[c->k].start_lag_ns.record(static_cast<std::uint64_t>((woke - c->due).count()));
            if (cfg_.proto != mode::lines) start(*c);
            else if (c->state != conn::closed) pump(*c);
        }
    }

    /// The next request of a connection-per-request connection: at once in a
    /// closed loop, or at its scheduled time (at once if it is already late).
    void next_request(conn& c)
    {
        if (paced(c) && c.due > clock::now() && !stopping_) wait_for_due(c);
        else restart_.push_back(&c);
    }

    bool budget_spent() const { return plan_.requests_left.load(std::memory_order_relaxed) <= 0; }

    bool take_request()
    {
        if (stopping_) return false;
        if (!cfg_.requests) return true;
        return plan_.requests_left.fetch_sub(1, std::memory_order_relaxed) > 0;
    }

    void begin_stop()
    {
        stopping_ = true;
        std::erase_if(waiting_, [](conn* c) { // their next requests never start; a paced upload finishes
            if (c->k == bulk) return false;
            c->timed = false;
            return true;
        });
        for (auto& c : conns_) {
            if (c.state == conn::holding) finish_quietly(c);
            // lines: stop sending; the connection closes once its replies are in
            if (cfg_.proto == mode::lines && c.state != conn::closed && c.lines_done == c.lines_sent &&
                c.batch_begin == c.batch_end)
                finish_quietly(c);
        }
    }

    void start(conn& c)
    {
        if (cfg_.proto != mode::idle && cfg_.proto != mode::lines && !take_request()) return;
        if (cfg_.proto == mode::lines && cfg_.requests && budget_spent()) return;
        c.fd = ::socket(plan_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) return count_error(c, e_connect);
        int one = 1;
        ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (plan_.source_len && !bind_source(c.fd, plan_)) {
            ::close(c.fd);
            c.fd = -1;
            return count_error(c, e_connect);
        }
        if (plan_.tls && !attach_tls(c)) {
            ::close(c.fd);
            c.fd = -1;
            return count_error(c, e_handshake);
        }
        c.started = clock::now();
        if (paced(c) && cfg_.proto != mode::lines) {
            // From the intended send time, so a late start counts against the
            // server (no coordinated omission); the next slot stays on the grid.
            c.started = c.due;
            c.due += interval_;
        }
        c.sent = 0;
        c.got.clear();
        c.got_overflow = false;
        c.lines_sent = c.lines_done = 0;
        c.batch_begin = c.batch_end = 0;
        if (::connect(c.fd, reinterpret_cast<sockaddr const*>(&plan_.addr), plan_.addr_len) < 0 &&
            errno != EINPROGRESS) {
            release_tls(c);
            ::close(c.fd);
            c.fd = -1;
            return count_error(c, e_connect);
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = &c;
        if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) < 0) throw std::system_error(errno, std::generic_category(), "epoll_ctl");
        ++active_;
        plan_.progress.open.fetch_add(1, std::memory_order_relaxed);
        if (cfg_.proto == mode::idle) {
            c.state = conn::holding;
            ++connecting_;
            return;
        }
        c.state = conn::sending;
        if (cfg_.proto == mode::lines) return; // first batch once connected (EPOLLOUT)
        pump(c);                                // loopback usually connects at once
    }

    void on_event(conn& c, std::uint32_t events)
    {
        if (c.state == conn::closed) return;
        if (cfg_.proto == mode::idle) {
            if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLIN)) {
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (!c.got_overflow) --connecting_;
                c.got_overflow = true;
                return fail(c, err ? e_connect : e_closed);
            }
            if ((events & EPOLLOUT) && !c.got_overflow) { // connected
                c.got_overflow = true;                     // reused as "counted as connected"
                --connecting_;
                ++connected_;
                if (connected_ + failed_idle_ == conns_.size()) announce_connected();
            }
            return;
        }
        if ((events & EPOLLERR) && c.state == conn::sending && c.sent == 0 && c.lines_sent == 0) {
            return fail(c, e_connect);
        }
        pump(c);
    }

    void announce_connected()
    {
        std::fprintf(stderr, "hash_bench: %zu connections open\n", connected_);
        std::fflush(stderr);
    }

    // ---- TLS: OpenSSL's calls on the non-blocking descriptor ----------------
    // Each WANT_READ or WANT_WRITE comes after the socket said EAGAIN, so the
    // edge-triggered loop is woken for the retry as it is for a plain socket.

    bool attach_tls(conn& c)
    {
        c.secured = false;
        c.ssl = ::SSL_new(plan_.tls->native_handle());
        if (!c.ssl) return false;
        ::SSL_set_fd(c.ssl, c.fd);
        ::SSL_set_connect_state(c.ssl);
        ::SSL_set_tlsext_host_name(c.ssl, cfg_.host.c_str()); // SNI
        if (!cfg_.tls_ca.empty()) ::SSL_set1_host(c.ssl, cfg_.host.c_str());
        return true;
    }

    static void release_tls(conn& c)
    {
        if (c.ssl) ::SSL_free(c.ssl);
        c.ssl = nullptr;
    }

    /// -1 with errno EAGAIN (wait for the socket's next edge) or another errno,
    /// 0 for the server's end (close_notify, or a close without it: the reply
    /// check tells whether anything was missing), as ::recv reports them.
    static ssize_t tls_outcome(conn& c, int r)
    {
        int err = ::SSL_get_error(c.ssl, r);
        int saved = errno;
        ::ERR_clear_error(); // the thread's queue must be empty for the next SSL_get_error
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) errno = EAGAIN;
        else if (err == SSL_ERROR_ZERO_RETURN) return 0;
        else errno = err == SSL_ERROR_SYSCALL && saved != 0 ? saved : EIO;
        return -1;
    }

    static ssize_t send_some(conn& c, char const* data, std::size_t n)
    {
        if (!c.ssl) return ::send(c.fd, data, n, MSG_NOSIGNAL);
        int r = ::SSL_write(c.ssl, data, static_cast<int>(std::min<std::size_t>(n, INT_MAX)));
        return r > 0 ? r : tls_outcome(c, r);
    }

    static ssize_t recv_some(conn& c, char* buf, std::size_t n)
    {
        if (!c.ssl) return ::recv(c.fd, buf, n, 0);
        int r = ::SSL_read(c.ssl, buf, static_cast<int>(std::min<std::size_t>(n, INT_MAX)));
        return r > 0 ? r : tls_outcome(c, r);
    }

    /// False while the handshake waits for the socket, or when it failed (the
    /// connection is then closed and counted).
    bool handshake(conn& c)
    {
        int r = ::SSL_do_handshake(c.ssl);
        if (r == 1) return c.secured = true;
        if (tls_outcome(c, r) < 0 && errno == EAGAIN) return false;
        fail(c, errno == ECONNREFUSED ? e_connect : e_handshake);
        return false;
    }

    /// stream: the end of the upload, a half-close, or over TLS our
    /// close_notify, after which the server still replies (TLS 1.3) and the
    /// reply is read as usual. False: the socket must drain first.
    static bool end_upload(conn& c)
    {
        if (!c.ssl) {
            ::shutdown(c.fd, SHUT_WR);
            return true;
        }
        int r = ::SSL_shutdown(c.ssl); // 0: sent, the server's still to come
        return r >= 0 || tls_outcome(c, r) >= 0 || errno != EAGAIN;
    }

    /// Moves a connection as far as its socket allows without blocking.
    void pump(conn& c)
    {
        if (c.ssl && !c.secured && !handshake(c)) return;
        if (cfg_.proto == mode::lines) return pump_lines(c);
        body const& b = c.k == small ? plan_.small_body : plan_.bulk_body;
        while (c.state == conn::sending) {
            if (c.sent == b.size) {
                if (cfg_.proto == mode::stream && !end_upload(c)) return;
                c.state = conn::receiving;
                break;
            }
            auto off = static_cast<std::size_t>(c.sent % b.pattern.size());
            auto len = static_cast<std::size_t>(std::min<std::uint64_t>(b.pattern.size() - off, b.size - c.sent));
            auto allowed = allowance(c, b.size - c.sent);
            if (allowed == 0) return; // woken by its timer
            len = static_cast<std::size_t>(std::min<std::uint64_t>(len, allowed));
            auto n = send_some(c, b.pattern.data() + off, len);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                if (c.sent == 0 && (errno == ECONNREFUSED || errno == ETIMEDOUT || errno == EHOSTUNREACH))
                    return fail(c, e_connect);
                // The server may have answered (an ERR line) and closed: read it.
                c.state = conn::receiving;
                break;
            }
            c.sent += static_cast<std::uint64_t>(n);
            c.paced_bytes += static_cast<std::uint64_t>(n);
            live_bytes(c, static_cast<std::uint64_t>(n));
        }
        char buf[512];
        while (c.state == conn::receiving) {
            auto n = recv_some(c, buf, sizeof buf);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                return fail(c, c.got.empty() ? e_io : e_server_err);
            }
            if (n == 0) return complete(c, b);
            if (c.got.size() + static_cast<std::size_t>(n) > 256) c.got_overflow = true;
            else c.got.append(buf, static_cast<std::size_t>(n));
        }
    }

    /// --bulk-rate: the bytes a bulk connection may send now (all of them
    /// when unpaced), `left` of its upload still unsent. It sends 64 KiB at a
    /// time at least (or what is left): with less than that due, its timer is
    /// set for when 64 KiB are. Without that floor the sender earns a few
    /// bytes during each send and sends them at once, ~1 KiB per call in a
    /// loop that never sleeps: half a core for the client and one wake-up and
    /// one read per segment for the server, CPU that the scenario means to
    /// leave idle. After a stall it catches up at most 20 ms worth at once:
    /// an upload paced at R MB/s never sends in bursts much above R.
    std::uint64_t allowance(conn& c, std::uint64_t left)
    {
        if (c.k != bulk || cfg_.bulk_rate <= 0) return std::numeric_limits<std::uint64_t>::max();
        using ns = std::chrono::duration<double, std::nano>;
        double per_ns = cfg_.bulk_rate * 1e6 / 1e9;
        auto now = clock::now();
        double earned = ns(now - c.paced_from).count() * per_ns;
        double burst = per_ns * 20e6;
        auto sent = static_cast<double>(c.paced_bytes);
        if (earned - sent > burst) {
            c.paced_from = now - std::chrono::duration_cast<clock::duration>(ns((sent + burst) / per_ns));
            earned = sent + burst;
        }
        auto const quantum = static_cast<double>(std::min<std::uint64_t>(left, 65536));
        if (earned >= sent + std::max(quantum, 1.0)) return static_cast<std::uint64_t>(earned - sent);
        c.due = c.paced_from + std::chrono::duration_cast<clock::duration>(ns((sent + quantum) / per_ns));
        wait_for_due(c);
        return 0;
    }

    void complete(conn& c, body const& b)
    {
        error_kind bad = error_kinds;
        if (c.got.rfind("ERR", 0) == 0) bad = e_server_err;
        else if (c.got.empty()) bad = e_closed;
        else if (c.sent != b.size) bad = e_io;
        else if (cfg_.verify ? (c.got != b.reply || c.got_overflow) : c.got.back() != '\n') bad = e_mismatch;
        if (bad != error_kinds) return fail(c, bad);
        auto& s = stats[c.k];
        s.latency_ns.record(static_cast<std::uint64_t>((clock::now() - c.started).count()));
        ++s.requests;
        s.bytes += b.size;
        plan_.progress.requests[c.k].fetch_add(1, std::memory_order_relaxed);
        close_conn(c);
        next_request(c);
    }

    void pump_lines(conn& c)
    {
        auto const& ls = plan_.lines;
        auto depth = std::max<std::size_t>(cfg_.depth, 1);
        for (;;) {
            if (c.batch_begin == c.batch_end && !stopping_) top_up(c, depth);
            while (c.batch_begin < c.batch_end) {
                auto n = send_some(c, ls.text.data() + c.batch_begin, c.batch_end - c.batch_begin);
                if (n < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                    return fail(c, e_io);
                }
                c.batch_begin += static_cast<std::size_t>(n);
                live_bytes(c, static_cast<std::size_t>(n));
                // Stamp every line whose last byte is now written.
                auto now = clock::now();
                while (c.next_stamp < ls.offset.size() - 1 && ls.offset[c.next_stamp + 1] <= c.batch_begin &&
                       ls.offset[c.next_stamp] < c.batch_end) {
                    c.sent_at[c.lines_sent % depth] = paced(c) ? c.due : now; // paced: the intended time
                    if (paced(c)) c.due += interval_;
                    ++c.lines_sent;
                    ++c.next_stamp;
                }
            }
            bool got_replies = false;
            char buf[8192];
            for (;;) {
                auto n = recv_some(c, buf, sizeof buf);
                if (n < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                    return fail(c, e_io);
                }
                if (n == 0) return fail(c, c.lines_done == c.lines_sent ? e_closed : e_io);
                if (!take_replies(c, {buf, static_cast<std::size_t>(n)})) return;
                got_replies = true;
            }
            bool drained = c.lines_done == c.lines_sent && c.batch_begin == c.batch_end;
            if (drained && (stopping_ || (cfg_.requests && budget_spent()))) return finish_quietly(c);
            if (!got_replies) return; // wait for the next edge
        }
    }

    /// Lays out the next batch: as many lines as keep `depth` in flight.
    void top_up(conn& c, std::size_t depth)
    {
        auto const& ls = plan_.lines;
        auto room = depth - static_cast<std::size_t>(c.lines_sent - c.lines_done);
        if (paced(c) && room > 0) { // only the lines already due; wake up for the next one
            auto now = clock::now();
            auto due = now < c.due ? 0 : static_cast<std::size_t>((now - c.due) / interval_) + 1;
            if (due < room) {
                room = due;
                wait_for_due(c);
            }
        }
        if (cfg_.requests && room > 0) {
            auto want = static_cast<std::int64_t>(room);
            auto left = plan_.requests_left.fetch_sub(want, std::memory_order_relaxed);
            if (left < want) {
                auto granted = std::max<std::int64_t>(left, 0);
                plan_.requests_left.fetch_add(want - granted, std::memory_order_relaxed);
                room = static_cast<std::size_t>(granted);
            }
        }
        room = std::min(room, ls.count);
        if (room == 0) return;
        auto first = static_cast<std::size_t>(c.lines_sent % ls.count);
        c.next_stamp = first;
        c.batch_begin = ls.offset[first];
        c.batch_end = ls.offset[first + room];
    }

    /// Checks the digest lines in `data`; false if the connection failed.
    bool take_replies(conn& c, std::string_view data)
    {
        auto const& ls = plan_.lines;
        auto depth = std::max<std::size_t>(cfg_.depth, 1);
        auto now = clock::now();
        auto line_len = hasher::hex_size(cfg_.hash) + 1;
        auto& s = stats[c.k];
        while (!data.empty()) {
            auto take = std::min(line_len - c.got.size(), data.size());
            c.got.append(data.data(), take);
            data.remove_prefix(take);
            if (c.got.size() < line_len) break;
            if (c.lines_done >= c.lines_sent) { fail(c, e_io); return false; }
            if (c.got.rfind("ERR", 0) == 0) { fail(c, e_server_err); return false; }
            auto const& want = ls.reply[c.lines_done % ls.count];
            if (cfg_.verify ? c.got != want : c.got.back() != '\n') { fail(c, e_mismatch); return false; }
            s.latency_ns.record(static_cast<std::uint64_t>((now - c.sent_at[c.lines_done % depth]).count()));
            ++s.requests;
            s.bytes += ls.offset[c.lines_done % ls.count + 1] - ls.offset[c.lines_done % ls.count];
            ++c.lines_done;
            plan_.progress.requests[c.k].fetch_add(1, std::memory_order_relaxed);
            c.got.clear();
        }
        return true;
    }

    void live_bytes(conn& c, std::uint64_t n) { plan_.progress.bytes[c.k].fetch_add(n, std::memory_order_relaxed); }

    void count_error(conn& c, error_kind e)
    {
        ++stats[c.k].errors[e];
        plan_.progress.errors.fetch_add(1, std::memory_order_relaxed);
    }

    void fail(conn& c, error_kind e)
    {
        count_error(c, e);
        if (cfg_.proto == mode::idle) ++failed_idle_;
        bool again = cfg_.proto == mode::oneshot || cfg_.proto == mode::stream;
        close_conn(c);
        if (again) next_request(c); // a failed request is counted; the load goes on
    }

    void finish_quietly(conn& c) { close_conn(c); }

    void close_conn(conn& c)
    {
        release_tls(c);
        if (c.fd >= 0) ::close(c.fd); // also leaves the epoll set
        c.fd = -1;
        c.state = conn::closed;
        --active_;
        plan_.progress.open.fetch_sub(1, std::memory_order_relaxed);
    }

    shared_plan& plan_;
    settings const& cfg_;
    int ep_ = -1;
    std::vector<conn> conns_;
    std::vector<conn*> restart_; // connections whose next request starts after this round of events
    std::vector<conn*> waiting_; // paced connections until their `due` time
    std::vector<conn*> due_now_;
    std::size_t first_small_ = 0;
    clock::duration interval_{}; // paced: between two requests of one connection
    bool have_pwait2_ = true;
    std::size_t active_ = 0;
    bool stopping_ = false;
    // idle mode
    std::size_t connecting_ = 0, connected_ = 0, failed_idle_ = 0;
};

// ---- output -----------------------------------------------------------------

struct summary {
    double elapsed_s = 0;
    double cpu_s = 0; // the client's own CPU time (user + system), for the scenarios' CPU accounting
    counters kinds[2];
    std::size_t connected = 0;
};

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

double process_cpu_seconds()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto secs = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return secs(u.ru_utime) + secs(u.ru_stime);
}

void print_table(settings const& cfg, summary const& r)
{
    fmt::print("hash_bench: {} connections{}, protocol {}, {:.2f} s\n", cfg.connections,
               cfg.mix ? fmt::format(" + {} bulk", cfg.mix) : "",
               cfg.proto == mode::oneshot ? "oneshot" : cfg.proto == mode::stream ? "stream"
                                                    : cfg.proto == mode::lines    ? "lines"
                                                                                  : "idle",
               r.elapsed_s);
    if (cfg.proto == mode::idle) {
        fmt::print("connections open at once: {}, errors: {}\n", r.connected, r.kinds[0].error_total());
        return;
    }
    if (cfg.rate > 0) {
        auto const& lag = r.kinds[small].start_lag_ns;
        fmt::print("small: paced, offered {:.1f} {}/s, achieved {:.1f}; latency from each one's scheduled send time\n",
                   cfg.rate, cfg.proto == mode::lines ? "lines" : "req",
                   static_cast<double>(r.kinds[small].requests) / r.elapsed_s);
        fmt::print("small: client start lag (requests sent on their timer) p50 {:.1f} p99 {:.1f} max {:.1f} us\n",
                   us(lag.percentile(0.5)), us(lag.percentile(0.99)), us(lag.max()));
    } else {
        fmt::print("small: closed loop (each connection sends its next request when the last one is answered)\n");
    }
    fmt::print("{:<6} {:>10} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}\n", "", "requests", "req/s", "MB/s",
               "p50 us", "p90 us", "p99 us", "p99.9 us", "max us", "errors");
    for (int k = 0; k < (cfg.mix ? 2 : 1); ++k) {
        auto const& s = r.kinds[k];
        auto const& h = s.latency_ns;
        fmt::print("{:<6} {:>10} {:>11.1f} {:>9.2f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>7}\n",
                   kind_name[k], s.requests, static_cast<double>(s.requests) / r.elapsed_s,
                   static_cast<double>(s.bytes) / r.elapsed_s / 1e6, us(h.percentile(0.5)), us(h.percentile(0.9)),
                   us(h.percentile(0.99)), us(h.percentile(0.999)), us(h.max()), s.error_total());
        if (s.error_total()) {
            std::string detail;
            for (int e = 0; e < error_kinds; ++e)
                if (s.errors[e]) detail += fmt::format(" {}={}", error_name[e], s.errors[e]);
            fmt::print("       errors:{}\n", detail);
        }
    }
}

void print_json(settings const& cfg, summary const& r)
{
    std::string out = fmt::format("{{\"elapsed_s\": {:.6f}, \"cpu_s\": {:.6f}, \"connections\": {}, \"mix\": {}, \"connected\": {}",
                                  r.elapsed_s, r.cpu_s, cfg.connections, cfg.mix, r.connected);
    for (int k = 0; k < 2; ++k) {
        auto const& s = r.kinds[k];
        auto const& h = s.latency_ns;
        // offered_per_s: the paced rate (--rate), 0 in a closed loop; requests_per_s is what was achieved
        out += fmt::format(", \"{}\": {{\"requests\": {}, \"offered_per_s\": {:.3f}, \"requests_per_s\": {:.3f}, \"mb_per_s\": {:.3f}, "
                           "\"latency_us\": {{\"p50\": {:.3f}, \"p90\": {:.3f}, \"p99\": {:.3f}, \"p99.9\": {:.3f}, "
                           "\"max\": {:.3f}, \"mean\": {:.3f}}}, \"errors\": {}, \"errors_by_kind\": {{",
                           kind_name[k], s.requests, k == small ? cfg.rate : 0.0,
                           static_cast<double>(s.requests) / r.elapsed_s,
                           static_cast<double>(s.bytes) / r.elapsed_s / 1e6, us(h.percentile(0.5)),
                           us(h.percentile(0.9)), us(h.percentile(0.99)), us(h.percentile(0.999)), us(h.max()),
                           h.mean() / 1000.0, s.error_total());
        for (int e = 0; e < error_kinds; ++e) out += fmt::format("{}\"{}\": {}", e ? ", " : "", error_name[e], s.errors[e]);
        auto const& lag = s.start_lag_ns;
        out += fmt::format("}}, \"start_lag_us\": {{\"p50\": {:.3f}, \"p99\": {:.3f}, \"max\": {:.3f}}}}}",
                           us(lag.percentile(0.5)), us(lag.percentile(0.99)), us(lag.max()));
    }
    out += "}\n";
    std::fputs(out.c_str(), stdout);
}

void resolve(shared_plan& plan, settings const& cfg)
{
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    auto port = std::to_string(cfg.port);
    if (int rc = ::getaddrinfo(cfg.host.c_str(), port.c_str(), &hints, &res); rc != 0)
        throw std::runtime_error("cannot resolve " + cfg.host + ": " + gai_strerror(rc));
    std::memcpy(&plan.addr, res->ai_addr, res->ai_addrlen);
    plan.addr_len = res->ai_addrlen;
    ::freeaddrinfo(res);
    if (cfg.source.empty()) return;
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_family = plan.addr.ss_family;
    if (int rc = ::getaddrinfo(cfg.source.c_str(), "0", &hints, &res); rc != 0)
        throw std::runtime_error("--source " + cfg.source + " is not a numeric address of --host's family: " + gai_strerror(rc));
    std::memcpy(&plan.source, res->ai_addr, res->ai_addrlen);
    plan.source_len = res->ai_addrlen;
    ::freeaddrinfo(res);
    int probe = ::socket(plan.source.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool usable = probe >= 0 && bind_source(probe, plan);
    int why = errno;
    if (probe >= 0) ::close(probe);
    if (!usable) throw std::runtime_error("--source " + cfg.source + ": " + std::strerror(why));
}

/// --tls: one client context for every connection of every loop (OpenSSL's
/// contexts are shared across threads; each connection has its own SSL).
std::unique_ptr<boost::asio::ssl::context> make_tls_context(settings const& cfg)
{
    namespace ssl = boost::asio::ssl;
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    if (auto why = configure_tls_client(*ctx, {cfg.tls_ca, {}, {}}, !cfg.tls_ca.empty()); !why.empty())
        throw std::runtime_error("cannot use " + why);
    auto* native = ctx->native_handle();
    // stream ends its upload with close_notify: only TLS 1.3 lets the server reply after it.
    if (cfg.proto == mode::stream) ::SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
    // SSL_write reports each record as it goes, as ::send reports bytes.
    ::SSL_CTX_set_mode(native, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // A server that closes without close_notify after its reply: an end like
    // TCP's, judged by the reply (complete or not) as over TCP.
    ::SSL_CTX_set_options(native, SSL_OP_IGNORE_UNEXPECTED_EOF);
    // No resumption: every connection costs the server a full handshake.
    ::SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    return ctx;
}

int run(settings const& cfg)
{
    auto plan = std::make_unique<shared_plan>();
    plan->cfg = &cfg;
    resolve(*plan, cfg);
    if (cfg.tls) plan->tls = make_tls_context(cfg);
    if (cfg.proto == mode::lines) plan->lines = make_lines(cfg.payload, cfg.hash, std::max<std::size_t>(cfg.depth, 64));
    else if (cfg.proto != mode::idle) plan->small_body = make_body(cfg.payload, cfg.hash);
    if (cfg.mix) plan->bulk_body = make_body(cfg.bulk_payload, cfg.hash);
    plan->requests_left = static_cast<std::int64_t>(cfg.requests);

    // Paced, the bulk uploads get a loop of their own: a send of megabytes
    // would otherwise hold up the next small request's timer in the same loop,
    // and that delay would count against the server.
    bool bulk_apart = cfg.rate > 0 && cfg.mix > 0;
    auto mixed = bulk_apart ? cfg.connections : cfg.connections + cfg.mix;
    auto threads = std::max<std::size_t>(1, std::min(cfg.threads, mixed));
    std::vector<std::unique_ptr<loop>> loops;
    for (std::size_t t = 0, first = 0; t < threads; ++t) {
        auto share = [&](std::size_t n) { return n / threads + (t < n % threads ? 1 : 0); };
        loops.push_back(std::make_unique<loop>(*plan, share(cfg.connections), bulk_apart ? 0 : share(cfg.mix), first));
        first += share(cfg.connections);
    }
    if (bulk_apart) loops.push_back(std::make_unique<loop>(*plan, 0, cfg.mix, cfg.connections));
    threads = loops.size();
    plan->start = clock::now();
    plan->stop = cfg.requests ? clock::time_point::max() - std::chrono::hours(1) : plan->start + cfg.duration;
    auto limit = cfg.requests ? std::chrono::milliseconds(3'600'000) : cfg.duration;
    plan->hard_stop = plan->start + limit + std::chrono::seconds(10);

    std::atomic<std::size_t> running{threads};
    std::vector<std::thread> workers;
    for (auto& l : loops)
        workers.emplace_back([&l, &running] {
            l->run();
            running.fetch_sub(1);
        });

    bool tty = ::isatty(STDOUT_FILENO) && !cfg.json;
    std::uint64_t last_req[2]{}, last_bytes[2]{};
    auto next = plan->start + std::chrono::seconds(1);
    while (running.load() > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!tty || clock::now() < next) continue;
        auto secs = std::chrono::duration<double>(clock::now() - plan->start).count();
        std::string line = fmt::format("\r[{:5.1f}s] open {:>5}", secs, plan->progress.open.load());
        for (int k = 0; k < (cfg.mix ? 2 : 1); ++k) {
            auto r = plan->progress.requests[k].load(), b = plan->progress.bytes[k].load();
            line += fmt::format("  {}: {:>9} req/s {:>9.2f} MB/s", kind_name[k], r - last_req[k],
                                static_cast<double>(b - last_bytes[k]) / 1e6);
            last_req[k] = r;
            last_bytes[k] = b;
        }
        line += fmt::format("  errors {}   ", plan->progress.errors.load());
        std::fputs(line.c_str(), stdout);
        std::fflush(stdout);
        next += std::chrono::seconds(1);
    }
    for (auto& w : workers) w.join();
    if (tty) std::fputs("\n", stdout);

    summary r;
    auto finished = plan->start;
    for (auto& l : loops) {
        for (int k = 0; k < 2; ++k) r.kinds[k].merge(l->stats[k]);
        finished = std::max(finished, l->finished_);
    }
    r.elapsed_s = std::chrono::duration<double>(finished - plan->start).count();
    r.cpu_s = process_cpu_seconds();
    if (cfg.proto == mode::idle) r.connected = cfg.connections - r.kinds[0].error_total();
    if (cfg.json) print_json(cfg, r);
    else print_table(cfg, r);
    std::uint64_t errors = r.kinds[0].error_total() + r.kinds[1].error_total();
    return errors ? 2 : 0;
}

} // namespace
} // namespace hashsrv::bench

/// The soft RLIMIT_NOFILE raised to the hard one (no privilege needed); returns it.
rlim_t raise_open_files_limit()
{
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

int main(int argc, char** argv)
{
    using namespace hashsrv::bench;
    settings cfg;
    CLI::App app{"hash_bench: load generator for hash_server (and bench/baseline_server)"};
    std::string port = "8080", proto = "oneshot", duration, requests, hash = "fnv1a";
    app.set_version_flag("-V,--version", hashsrv::version_line("hash_bench"));
    app.add_option("--host", cfg.host, "server address")->capture_default_str();
    app.add_option("--source", cfg.source,
                   "connect from this local address (numeric; e.g. 127.0.0.2 so that held connections and "
                   "probes search different port spaces)");
    app.add_option("--port", port, "server port")->capture_default_str();
    app.add_option("--protocol", proto, "oneshot | stream | lines | idle (open connections and hold them)")
        ->capture_default_str();
    app.add_option("-c,--connections", cfg.connections, "concurrent small-request connections")->capture_default_str();
    app.add_option("--duration", duration, "seconds to run (default 5)");
    app.add_option("--requests", requests, "total requests (lines for `lines`) instead of a duration");
    app.add_option("--payload", cfg.payload,
                   "request size (K/M/G suffixes; for lines: line length with its \\n) or @file")
        ->capture_default_str();
    app.add_option("--mix", cfg.mix, "bulk connections streaming --bulk-payload without pause, reported apart")
        ->capture_default_str();
    app.add_option("--bulk-payload", cfg.bulk_payload, "size of each bulk upload, or @file")->capture_default_str();
    app.add_option("--depth", cfg.depth, "lines: requests in flight per connection (pipelining)")->capture_default_str();
    app.add_option("--rate", cfg.rate,
                   "small requests (lines) per second over all --connections, sent on a fixed schedule "
                   "(open loop, latency from the scheduled time); 0: closed loop")
        ->capture_default_str();
    app.add_option("--bulk-rate", cfg.bulk_rate,
                   "MB/s (10^6 bytes) each --mix connection uploads at, paced; 0: as fast as the socket takes")
        ->capture_default_str();
    app.add_option("--hash", hash, "algorithm the server uses, to check digests: fnv1a | xxh3 | sha256")
        ->capture_default_str();
    bool no_verify = false;
    app.add_flag("--no-verify", no_verify, "accept any reply line (for bench/baseline_server)");
    app.add_option("--threads", cfg.threads, "client threads, each with its own epoll loop")->capture_default_str();
    app.add_flag("--json", cfg.json, "print the results as JSON instead of a table");
    app.add_flag("--tls", cfg.tls,
                 "talk TLS (a server with --tls-cert), a full handshake per connection, the server not verified;\n"
                 "stream: TLS 1.3, the upload ends with our close_notify");
    app.add_option("--tls-ca", cfg.tls_ca, "with --tls: verify the server against the CAs in this PEM file and --host")
        ->type_name("FILE");
    try {
        app.parse(argc, argv);
        cfg.port = hashsrv::parse_port(port);
        if (proto == "oneshot") cfg.proto = mode::oneshot;
        else if (proto == "stream") cfg.proto = mode::stream;
        else if (proto == "lines") cfg.proto = mode::lines;
        else if (proto == "idle") cfg.proto = mode::idle;
        else throw std::invalid_argument("--protocol must be oneshot, stream, lines or idle");
        auto alg = hashsrv::parse_algorithm(hash);
        if (!alg) throw std::invalid_argument("--hash must be fnv1a, xxh3 or sha256");
        cfg.hash = *alg;
        cfg.verify = !no_verify;
        if (!duration.empty()) cfg.duration = hashsrv::parse_seconds(duration);
        if (!requests.empty()) cfg.requests = hashsrv::parse_size(requests);
        if (cfg.connections + cfg.mix == 0) throw std::invalid_argument("no connections");
        if (cfg.mix && cfg.proto == mode::lines) throw std::invalid_argument("--mix needs oneshot or stream");
        if (!(cfg.rate >= 0)) throw std::invalid_argument("--rate must be >= 0");
        if (!(cfg.bulk_rate >= 0)) throw std::invalid_argument("--bulk-rate must be >= 0");
        if (cfg.tls && cfg.proto == mode::idle) throw std::invalid_argument("--tls needs oneshot, stream or lines");
        if (!cfg.tls && !cfg.tls_ca.empty()) throw std::invalid_argument("--tls-ca needs --tls");
        if (cfg.rate > 0 && (cfg.proto == mode::idle || cfg.connections == 0))
            throw std::invalid_argument("--rate needs small connections of oneshot, stream or lines");
    } catch (CLI::ParseError const& e) {
        return app.exit(e);
    } catch (std::exception const& e) {
        std::cerr << "hash_bench: " << e.what() << "\n";
        return 1;
    }
    // Thousands of connections need as many descriptors: up to the hard limit
    // without a `ulimit -n` first; past it, the connects that fail are counted.
    if (auto soft = raise_open_files_limit(); soft < cfg.connections + cfg.mix + 16)
        std::cerr << "hash_bench: open files limit " << soft << " is below the " << cfg.connections + cfg.mix
                  << " connections asked: split them over several processes\n";
    try {
        return run(cfg);
    } catch (std::exception const& e) {
        std::cerr << "hash_bench: " << e.what() << "\n";
        return 1;
    }
}
