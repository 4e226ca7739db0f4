// SPDX-License-Identifier: BSL-1.0
// hash_client: sends stdin or a file to a hash_server, half-closes (as
// `nc -N` does), and prints the reply: for users without nc, and for the
// Docker HEALTHCHECK.
//
//     echo "hello world" | hash_client 8080                 # 782e1488cd5a68b7
//     hash_client --protocol stream 8080 big.iso
//     hash_client --host hash1 --protocol lines 8080 < list.txt
//     hash_client --tls --tls-ca cert.pem --host localhost 8443 < file
//
// Sending and receiving are two coroutines running at once, so a lines
// server's replies are read while the rest of the input is still being sent
// (sending everything first could fill both socket buffers and hang).
#include "tls_client.hpp"

#include <hashsrv/framing/protocol.hpp>
#include <hashsrv/framing/proxy_header.hpp>
#include <hashsrv/hash/hasher.hpp>
#include <hashsrv/parse.hpp>
#include <hashsrv/server_state.hpp>
#include <hashsrv/version.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <iostream>
#include <optional>
#include <string>
#include <variant>

namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using asio::ip::tcp;
using hashsrv::protocol;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

enum exit_code { ok = 0, failed = 1, refused = 2 }; // refused: an ERR reply or not the --expect'ed digest

struct client_config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string file; // empty or "-": stdin
    protocol proto = protocol::oneshot;
    std::string expect;
    std::chrono::milliseconds timeout{0};
    bool tls = false;
    std::string tls_ca, tls_cert, tls_key; // tls_ca empty: the system's CAs
    bool check = false; // --check: the request and the server come from the state file
    bool proxy_local = false; // the server wants a PROXY header first: a LOCAL one, as a balancer's check
    std::string state_file = "/run/hash-server/state";
};

using tls_stream = asio::ssl::stream<tcp::socket>;

constexpr std::string_view check_request = "hello world\n";

/// --check: where and how the server answers, from the state file it wrote
/// (`hash_server --state-file`), and the digest that the check's request must
/// get back in its algorithm.
void configure_check(client_config& cfg)
{
    std::ifstream in(cfg.state_file);
    if (!in) throw std::invalid_argument("--check: cannot read " + cfg.state_file + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    hashsrv::server_state s;
    try {
        s = hashsrv::parse_state(text.str());
    } catch (std::invalid_argument const& e) {
        throw std::invalid_argument("--check: " + cfg.state_file + ": " + e.what());
    }
    cfg.tls = s.tls;
    cfg.proxy_local = s.proxy_protocol;
    cfg.host = s.host;
    cfg.port = s.port;
    cfg.proto = s.proto;
    cfg.expect.clear();
    hashsrv::append_hex_digest_of(cfg.expect, s.hash, check_request);
    if (cfg.timeout.count() == 0) cfg.timeout = std::chrono::seconds(5); // a health check never hangs
}

/// The check's request, as an input: a pipe holding it, its writing end closed.
int check_input()
{
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return -1;
    auto n = ::write(p[1], check_request.data(), check_request.size());
    ::close(p[1]);
    if (n != static_cast<ssize_t>(check_request.size())) {
        ::close(p[0]);
        return -1;
    }
    return p[0];
}

/// stdin or a file. Pipes, terminals and sockets are read asynchronously, so
/// that waiting for input never stops the replies from being read; regular
/// files (and /dev/null) cannot be waited on with epoll, and never block long.
class input {
public:
    input(asio::any_io_executor ex, int fd) : fd_(fd), async_(ex)
    {
        struct stat st{};
        if (::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || ::isatty(fd)))
            async_.assign(::dup(fd)); // the descriptor closes its own copy
    }

    asio::awaitable<std::tuple<error_code, std::size_t>> read(asio::mutable_buffer b)
    {
        if (async_.is_open()) co_return co_await async_.async_read_some(b, use_tuple);
        for (;;) {
            auto n = ::read(fd_, b.data(), b.size());
            if (n > 0) co_return std::tuple{error_code{}, static_cast<std::size_t>(n)};
            if (n == 0) co_return std::tuple{error_code{asio::error::eof}, std::size_t{0}};
            if (errno != EINTR) co_return std::tuple{error_code{errno, boost::system::system_category()}, std::size_t{0}};
        }
    }

private:
    int fd_;
    asio::posix::stream_descriptor async_;
};

/// What came back, checked line by line as it arrives.
struct reply_check {
    std::size_t lines = 0;
    std::size_t bad_lines = 0;  // neither a digest nor an ERR line
    std::string first_error;    // the first "ERR ..." line
    std::string first_line;
    std::string current;        // the line being received

    void add(std::string_view data)
    {
        for (char c : data) {
            if (c != '\n') {
                if (current.size() < 256) current.push_back(c);
                continue;
            }
            end_line();
        }
    }

    void end_line()
    {
        if (lines == 0) first_line = current;
        ++lines;
        if (current.rfind("ERR", 0) == 0) {
            if (first_error.empty()) first_error = current;
        } else if (current.empty() || !std::all_of(current.begin(), current.end(), [](unsigned char c) {
                       return std::isxdigit(c) && !std::isupper(c);
                   })) {
            ++bad_lines;
        }
        current.clear();
    }
};

struct transfer_result {
    error_code error;          // connecting, sending or receiving
    std::string failed_step;
    std::uint64_t bytes_sent = 0;
    std::size_t input_lines = 0; // "\n"-terminated, plus a last one without "\n"
    reply_check reply;
};

/// The end of the request: a TCP half-close.
asio::awaitable<void> end_request(tcp::socket& sock)
{
    error_code ignored;
    sock.shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
}

/// The end of the request over TLS: our close_notify, after which the server
/// still replies (TLS 1.3). Asio's shutdown would also wait for the server's
/// close_notify and take the reply before it for an error: marked as
/// received for the moment of the call, it only sends ours.
asio::awaitable<void> end_request(tls_stream& s)
{
    asio::steady_timer sent(s.get_executor(), asio::steady_timer::time_point::max());
    auto* ssl = s.native_handle();
    ::SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
    s.async_shutdown([&sent](error_code) { sent.cancel(); }); // SSL_shutdown runs here, at once
    ::SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN);              // the reply is still to be read
    co_await sent.async_wait(use_tuple);
}

template <typename Stream>
asio::awaitable<void> upload(Stream& sock, input& in, transfer_result& r)
{
    std::array<char, 64 * 1024> buf;
    char last = '\n';
    for (;;) {
        auto [ec, n] = co_await in.read(asio::buffer(buf));
        if (ec == asio::error::eof) break;
        if (ec) {
            r.error = ec;
            r.failed_step = "reading the input";
            break;
        }
        r.input_lines += static_cast<std::size_t>(std::count(buf.data(), buf.data() + n, '\n'));
        last = buf[n - 1];
        auto [wec, written] = co_await asio::async_write(sock, asio::buffer(buf.data(), n), use_tuple);
        r.bytes_sent += written;
        if (wec) {
            // The server may close early on purpose (an ERR reply, or oneshot
            // after its single read); the reply tells the rest.
            break;
        }
    }
    if (last != '\n') ++r.input_lines;
    co_await end_request(sock); // the request is complete
}

template <typename Stream>
asio::awaitable<void> download(Stream& sock, transfer_result& r)
{
    std::array<char, 64 * 1024> buf;
    for (;;) {
        auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), use_tuple);
        if (n > 0) {
            std::fwrite(buf.data(), 1, n, stdout);
            std::fflush(stdout); // lines: each digest shows as soon as it comes
            r.reply.add({buf.data(), n});
        }
        if (ec == asio::error::eof) co_return;
        if (ec == asio::ssl::error::stream_truncated && r.reply.lines > 0) co_return; // closed without close_notify
        if (ec) {
            if (!r.error) {
                r.error = ec;
                r.failed_step = "receiving the reply";
            }
            co_return;
        }
    }
}

/// The server is verified against --tls-ca (else the system's CAs) and the
/// --host name; --tls-cert/--tls-key are ours, for mutual TLS. Empty: fine.
/// --check connects to an address of the server's own host, which its
/// certificate need not name: it verifies the chain against --tls-ca if
/// given, and what it checks is the handshake and the digest.
std::string set_up_tls(client_config const& cfg, asio::ssl::context& ctx)
{
    bool const verify = !cfg.check || !cfg.tls_ca.empty();
    return hashsrv::configure_tls_client(ctx, {cfg.tls_ca, cfg.tls_cert, cfg.tls_key}, verify);
}

asio::awaitable<void> exchange(client_config const& cfg, input& in, transfer_result& r)
{
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto [rec, endpoints] = co_await resolver.async_resolve(cfg.host, std::to_string(cfg.port), use_tuple);
    if (rec) {
        r.error = rec;
        r.failed_step = "resolving " + cfg.host;
        co_return;
    }
    tcp::socket sock(ex);
    auto [cec, ep] = co_await asio::async_connect(sock, endpoints, use_tuple);
    (void)ep;
    if (cec) {
        r.error = cec;
        r.failed_step = "connecting to " + cfg.host + ":" + std::to_string(cfg.port);
        co_return;
    }
    if (cfg.proxy_local) {
        if (auto [pec, n] = co_await asio::async_write(sock, asio::buffer(hashsrv::framing::proxy_v2_local), use_tuple); pec) {
            r.error = pec;
            r.failed_step = "sending the PROXY header";
            co_return;
        }
    }
    using namespace asio::experimental::awaitable_operators;
    if (!cfg.tls) co_return co_await (upload(sock, in, r) && download(sock, r));
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    if (auto why = set_up_tls(cfg, ctx); !why.empty()) {
        r.error = asio::error::invalid_argument;
        r.failed_step = why;
        co_return;
    }
    tls_stream stream(std::move(sock), ctx);
    ::SSL_set_tlsext_host_name(stream.native_handle(), cfg.host.c_str()); // SNI
    if (!cfg.check) stream.set_verify_callback(asio::ssl::host_name_verification(cfg.host));
    if (auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple); hec) {
        r.error = hec;
        r.failed_step = "TLS handshake with " + cfg.host + ":" + std::to_string(cfg.port);
        co_return;
    }
    co_await (upload(stream, in, r) && download(stream, r));
}

asio::awaitable<void> deadline(std::chrono::milliseconds after)
{
    asio::steady_timer timer(co_await asio::this_coro::executor, after);
    co_await timer.async_wait(use_tuple);
}

asio::awaitable<void> exchange_within(client_config const& cfg, input& in, transfer_result& r)
{
    if (cfg.timeout.count() == 0) co_return co_await exchange(cfg, in, r);
    using namespace asio::experimental::awaitable_operators;
    auto first = co_await (exchange(cfg, in, r) || deadline(cfg.timeout));
    if (first.index() == 1) {
        r.error = asio::error::timed_out;
        r.failed_step = "waiting for the reply";
    }
}

/// The exit code, and a word on stderr for anything but success.
int judge(client_config const& cfg, transfer_result& r)
{
    auto& rep = r.reply;
    if (!rep.current.empty()) rep.end_line(); // a last line without "\n"
    // An ERR line first: the server may close (even reset) right after it.
    if (!rep.first_error.empty()) {
        std::cerr << "hash_client: the server refused the request: " << rep.first_error << "\n";
        return refused;
    }
    if (r.error) {
        std::cerr << "hash_client: " << r.failed_step << ": " << r.error.message() << "\n";
        return failed;
    }
    if (rep.bad_lines > 0) {
        std::cerr << "hash_client: the reply is not a list of digests\n";
        return failed;
    }
    // One digest per request: one per line for lines, one per connection
    // otherwise. An empty request gets no reply from oneshot.
    std::size_t want = cfg.proto == protocol::lines ? r.input_lines : (r.bytes_sent > 0 ? 1 : rep.lines);
    if (rep.lines != want) {
        std::cerr << "hash_client: expected " << want << " digest line(s), got " << rep.lines << "\n";
        return failed;
    }
    if (cfg.proto == protocol::oneshot && r.bytes_sent > 4096)
        std::cerr << "hash_client: note: a oneshot server hashes only its first read (at most 4096 bytes) of the "
                     << r.bytes_sent << " sent; --protocol stream hashes it all\n";
    if (!cfg.expect.empty() && rep.first_line != cfg.expect) {
        std::cerr << "hash_client: expected digest " << cfg.expect << ", got '" << rep.first_line << "'\n";
        return refused;
    }
    return ok;
}

std::variant<client_config, int> parse(int argc, char** argv)
{
    client_config cfg;
    std::string port, proto = "oneshot", timeout = "0";
    CLI::App app{"Sends stdin (or FILE) to a hash_server, half-closes, and prints the digest(s) it replies.",
                 "hash_client"};
    app.footer("Exit status: 0 for a well-formed reply, 1 when connecting, sending or receiving failed\n"
               "(or the reply is not digests), 2 for an ERR reply or a digest other than --expect.\n"
               "Example: echo \"hello world\" | hash_client 8080   (prints 782e1488cd5a68b7)");
    app.set_version_flag("-V,--version", hashsrv::version_line("hash_client"));
    app.add_option("port", port, "the server's port (not with --check)")->type_name("PORT");
    app.add_option("file", cfg.file, "send this file instead of stdin (- for stdin)")->type_name("FILE");
    app.add_option("--host", cfg.host, "server name or address")->capture_default_str()->type_name("HOST");
    app.add_option("--protocol", proto,
                   "the server's --protocol: oneshot and stream send everything and get one digest;\n"
                   "lines gets one digest per line")
        ->capture_default_str()
        ->type_name("NAME");
    app.add_option("--expect", cfg.expect, "exit 2 unless the (first) digest is this one")->type_name("HEX");
    app.add_option("--timeout", timeout, "give up after this many seconds (0: never; 5 with --check)")
        ->capture_default_str()
        ->type_name("SECONDS");
    app.add_flag("--tls", cfg.tls, "talk TLS (a server with --tls-cert); the request ends with our close_notify");
    app.add_option("--tls-ca", cfg.tls_ca, "verify the server against the CAs in this PEM file (default: the\n"
                                           "system's); its certificate must name --host")
        ->type_name("FILE");
    app.add_option("--tls-cert", cfg.tls_cert, "our PEM certificate, for a server with --tls-client-ca")->type_name("FILE");
    app.add_option("--tls-key", cfg.tls_key, "the PEM private key of --tls-cert")->type_name("FILE");
    app.add_flag("--check", cfg.check,
                 "health check: send \"hello world\\n\" to the server that --state-file describes\n"
                 "and expect its digest in the server's algorithm (exit 0: healthy); over TLS if\n"
                 "the server speaks it, verifying its certificate only against --tls-ca");
    app.add_option("--state-file", cfg.state_file, "what hash_server --state-file wrote, for --check")
        ->capture_default_str()
        ->type_name("FILE");
    try {
        app.parse(argc, argv);
        if (cfg.check && (!port.empty() || !cfg.file.empty()))
            throw std::invalid_argument("--check: takes no port or file (the state file says where)");
        if (!cfg.check && port.empty()) throw std::invalid_argument("port: required (or --check)");
        if (!cfg.check) cfg.port = hashsrv::parse_port(port);
        if (proto == "oneshot") cfg.proto = protocol::oneshot;
        else if (proto == "stream") cfg.proto = protocol::stream;
        else if (proto == "lines") cfg.proto = protocol::lines;
        else throw std::invalid_argument("--protocol: expected oneshot|stream|lines, got '" + proto + "'");
        cfg.timeout = hashsrv::parse_seconds(timeout);
        if (cfg.tls_cert.empty() != cfg.tls_key.empty())
            throw std::invalid_argument("--tls-cert and --tls-key go together");
        if (cfg.check) configure_check(cfg); // the state file says whether it is TLS
        if (!cfg.tls && (!cfg.tls_ca.empty() || !cfg.tls_cert.empty()))
            throw std::invalid_argument("--tls-ca, --tls-cert and --tls-key need --tls");
    } catch (CLI::ParseError const& e) {
        return app.exit(e) == 0 ? ok : failed; // --help: 0
    } catch (std::invalid_argument const& e) {
        std::cerr << "hash_client: " << e.what() << "\n";
        return failed;
    }
    return cfg;
}

} // namespace

int main(int argc, char** argv)
{
    auto parsed = parse(argc, argv);
    if (auto* code = std::get_if<int>(&parsed)) return *code;
    auto const& cfg = std::get<client_config>(parsed);

    int fd = cfg.check ? check_input() : STDIN_FILENO;
    if (fd < 0) {
        std::perror("hash_client: --check");
        return failed;
    }
    if (!cfg.check && !cfg.file.empty() && cfg.file != "-") {
        fd = ::open(cfg.file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            std::perror(("hash_client: " + cfg.file).c_str());
            return failed;
        }
    }
    asio::io_context ioc;
    input in(ioc.get_executor(), fd);
    transfer_result result;
    asio::co_spawn(ioc, exchange_within(cfg, in, result), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    try {
        ioc.run();
    } catch (std::exception const& e) {
        std::cerr << "hash_client: " << e.what() << "\n";
        return failed;
    }
    return judge(cfg, result);
}
