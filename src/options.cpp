// SPDX-License-Identifier: BSL-1.0
#include "options.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <sched.h>
#include <cmath>
#include <stdexcept>

namespace hashsrv {

std::string_view to_string(protocol p) noexcept
{
    switch (p) {
    case protocol::oneshot: return "oneshot";
    case protocol::stream: return "stream";
    case protocol::lines: return "lines";
    }
    return "?";
}

std::string_view to_string(log_level l) noexcept
{
    switch (l) {
    case log_level::error: return "error";
    case log_level::warn: return "warn";
    case log_level::info: return "info";
    case log_level::debug: return "debug";
    }
    return "?";
}

std::string_view to_string(pool_policy p) noexcept
{
    switch (p) {
    case pool_policy::batch: return "batch";
    case pool_policy::normal: return "normal";
    }
    return "?";
}

namespace {

constexpr char usage[] = "Usage: hash_server <port>\n"
                         "       hash_server [OPTIONS] <port>   (hash_server --help lists the options)\n";

std::uint64_t parse_unsigned(std::string_view text, std::string_view what)
{
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
        throw std::invalid_argument("expected " + std::string(what) + ", got '" + std::string(text) + "'");
    return v;
}

template <typename E>
E parse_choice(std::string_view text, std::initializer_list<E> choices, std::string_view option)
{
    std::string names;
    for (E c : choices) {
        if (text == to_string(c)) return c;
        names += names.empty() ? "" : "|";
        names += to_string(c);
    }
    throw std::invalid_argument(std::string(option) + ": expected " + names + ", got '" + std::string(text) + "'");
}

} // namespace

std::size_t auto_pool_threads(std::size_t io_threads)
{
    // The CPUs this process may run on (taskset, a container's cpuset), not
    // the machine's: a pool larger than that only adds wake-ups and context
    // switches (bench/README.md, scenario 1: 4 threads on 2 CPUs cost 2x the
    // CPU per request of 1 thread).
    cpu_set_t set;
    std::size_t cpus = 1;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = static_cast<std::size_t>(CPU_COUNT(&set));
    return cpus > io_threads ? cpus - io_threads : 1;
}

namespace {

std::size_t parse_count(std::string_view text, std::string_view option, std::size_t min, std::size_t max)
{
    std::uint64_t v = 0;
    try {
        v = parse_unsigned(text, "a whole number");
    } catch (std::invalid_argument const& e) {
        throw std::invalid_argument(std::string(option) + ": " + e.what());
    }
    if (v < min || v > max)
        throw std::invalid_argument(std::string(option) + ": must be from " + std::to_string(min) + " to " +
                                    std::to_string(max) + ", got " + std::string(text));
    return static_cast<std::size_t>(v);
}

template <typename F>
auto with_option_name(std::string_view option, F&& f)
{
    try {
        return f();
    } catch (std::invalid_argument const& e) {
        throw std::invalid_argument(std::string(option) + ": " + e.what());
    }
}

} // namespace

std::uint16_t parse_port(std::string_view text)
{
    auto v = parse_unsigned(text, "a port number from 0 to 65535");
    if (v > 65535) throw std::invalid_argument("expected a port number from 0 to 65535, got '" + std::string(text) + "'");
    return static_cast<std::uint16_t>(v);
}

std::uint64_t parse_size(std::string_view text)
{
    std::uint64_t scale = 1;
    if (!text.empty()) {
        switch (text.back()) {
        case 'K': case 'k': scale = 1ULL << 10; break;
        case 'M': case 'm': scale = 1ULL << 20; break;
        case 'G': case 'g': scale = 1ULL << 30; break;
        default: break;
        }
        if (scale != 1) text.remove_suffix(1);
    }
    auto v = parse_unsigned(text, "a size in bytes (like 65536, 64K, 1M or 2G)");
    if (v > std::numeric_limits<std::uint64_t>::max() / scale) throw std::invalid_argument("size too large");
    return v * scale;
}

namespace {

double parse_seconds_exact(std::string_view text)
{
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v) || v < 0 ||
        v > 1e9)
        throw std::invalid_argument("expected seconds (like 30 or 0.5), got '" + std::string(text) + "'");
    return v;
}

} // namespace

std::chrono::milliseconds parse_seconds(std::string_view text)
{
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(parse_seconds_exact(text) * 1000)));
}

std::variant<config, early_exit> parse_command_line(int argc, char const* const* argv)
{
    config cfg;
    std::string port;
    std::string proto = "oneshot", hash = "fnv1a", level = "info", pool_sched = "batch";
    std::string threads = "auto", io_threads = "1", max_inflight = "64", inline_below = "0", chunk = "256K",
                slice = "256K";
    std::string max_line = "64K", max_stream = "0", max_conn = "10000", idle = "30", shutdown = "10";
    std::string per_client = "0";
    std::string bind, metrics_port, metrics_bind = cfg.metrics_bind;

    CLI::App app{"A TCP hash server: each request's bytes are hashed on a thread pool while the\n"
                 "I/O thread goes on serving other connections; the reply is the digest in hex.",
                 "hash_server"};
    app.set_version_flag("--version", "hash_server " HASHSRV_VERSION);
    app.footer("Sizes take K, M and G suffixes (powers of 1024); seconds take fractions (0.5).\n"
               "Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 for a bad command line, a\n"
               "port that cannot be bound or a thread that cannot be created, 3 when the shutdown\n"
               "timeout cut requests off. SIGHUP is logged and ignored.\n"
               "Example: hash_server --protocol lines --hash xxh3 8080");
    app.add_option("port", port, "TCP port to listen on (0: any free port, shown in the banner)")
        ->type_name("PORT");
    app.allow_extras(); // a second port or an unknown word is a usage error, reported below
    app.add_option("--protocol", proto,
                   "oneshot: one read of up to 4096 bytes per connection (the tutorial);\n"
                   "stream: hash everything up to the client's half-close;\n"
                   "lines: one digest per \\n-terminated line, pipelined")
        ->capture_default_str()
        ->type_name("NAME");
    app.add_option("--hash", hash, "fnv1a | xxh3 | sha256")->capture_default_str()
        ->type_name("NAME");
    app.add_option("--bind", bind, "address to listen on (default: all IPv6 and IPv4 addresses)")
        ->type_name("ADDRESS");
    app.add_option("--threads", threads,
                   "hash pool threads; auto: the CPUs this process may use minus the I/O threads\n"
                   "(at least 1), so hashing never competes with the I/O loop for a core")
        ->capture_default_str()
        ->type_name("N");
    app.add_option("--pool-policy", pool_sched,
                   "scheduling of the hash pool threads; batch: a woken pool thread never preempts\n"
                   "the I/O thread (fewer context switches per hop); normal: as the I/O threads")
        ->capture_default_str()
        ->type_name("POLICY");
    app.add_option("--io-threads", io_threads, "threads running the I/O loop")->capture_default_str()
        ->type_name("N");
    app.add_option("--max-inflight", max_inflight, "hash jobs queued or running on the pool at once")
        ->capture_default_str()
        ->type_name("N");
    app.add_option("--inline-below", inline_below,
                   "hash inputs smaller than this many bytes on the I/O thread (0: always hop)")
        ->capture_default_str()
        ->type_name("BYTES");
    app.add_option("--chunk-size", chunk,
                   "stream: bytes per hash job (at most 3 buffers per upload); lines: read size (up to\n"
                   "--max-line); a read takes at most 256K whatever the chunk")
        ->capture_default_str()
        ->type_name("BYTES");
    app.add_option("--pool-slice", slice,
                   "a pool job hashes at most this many bytes, then lets the jobs queued behind it\n"
                   "run first, so a small request never waits for a big chunk (0: run to completion)")
        ->capture_default_str()
        ->type_name("BYTES");
    app.add_option("--max-line", max_line, "lines: longest line in bytes, not counting its \\n")
        ->capture_default_str()
        ->type_name("BYTES");
    app.add_option("--max-stream-bytes", max_stream, "stream: largest upload in bytes (0: unlimited)")
        ->capture_default_str()
        ->type_name("BYTES");
    app.add_option("--max-connections", max_conn, "connections served at once; more wait in the backlog")
        ->capture_default_str()
        ->type_name("N");
    app.add_option("--max-connections-per-client", per_client,
                   "connections served at once from one source address; more are refused with an\n"
                   "ERR line (0: no limit)")
        ->capture_default_str()
        ->type_name("N");
    app.add_option("--idle-timeout", idle,
                   "seconds a connection may stay silent (0: forever, else at least 0.001); a client\n"
                   "taking our replies is not silent")
        ->capture_default_str()
        ->type_name("SECONDS");
    app.add_option("--shutdown-timeout", shutdown,
                   "seconds that requests in progress get to finish after SIGTERM")
        ->capture_default_str()
        ->type_name("SECONDS");
    app.add_option("--metrics-port", metrics_port, "serve Prometheus metrics at http://<metrics-bind>:PORT/metrics")
        ->type_name("PORT");
    app.add_option("--metrics-bind", metrics_bind,
                   "address the metrics listen on (:: or 0.0.0.0: every address; --bind does not move them)")
        ->capture_default_str()
        ->type_name("ADDRESS");
    app.add_option("--log-level", level, "error | warn | info | debug")->capture_default_str()
        ->type_name("LEVEL");

    try {
        app.parse(argc, argv);
    } catch (CLI::CallForHelp const&) {
        return early_exit{0, app.help()};
    } catch (CLI::CallForVersion const&) {
        return early_exit{0, std::string("hash_server ") + HASHSRV_VERSION + "\n"};
    } catch (CLI::ParseError const& e) {
        return early_exit{1, std::string("hash_server: ") + e.what() + "\n" + usage};
    }
    std::string words;
    bool separator_seen = false;
    for (auto const& w : app.remaining()) {
        if (w == "--" && !separator_seen) { // the usual end of options: `hash_server -- 8080`
            separator_seen = true;
            continue;
        }
        words += " '" + w + "'";
    }
    if (!words.empty()) return early_exit{1, "hash_server: unexpected argument(s):" + words + "\n" + usage};
    if (app.count("port") == 0) return early_exit{1, usage};
    // Given but empty ('' from a script's unset variable) is an error, not "not set".
    for (char const* name : {"--bind", "--metrics-port", "--metrics-bind"})
        if (app.count(name) > 0 && app.get_option(name)->as<std::string>().empty())
            return early_exit{1, std::string("hash_server: ") + name + ": empty value\n" + usage};

    try {
        cfg.port = with_option_name("port", [&] { return parse_port(port); });
        cfg.proto = parse_choice(proto, {protocol::oneshot, protocol::stream, protocol::lines}, "--protocol");
        cfg.pool_sched = parse_choice(pool_sched, {pool_policy::batch, pool_policy::normal}, "--pool-policy");
        cfg.level = parse_choice(level, {log_level::error, log_level::warn, log_level::info, log_level::debug},
                                 "--log-level");
        auto alg = parse_algorithm(hash);
        if (!alg) throw std::invalid_argument("--hash: expected fnv1a|xxh3|sha256, got '" + hash + "'");
        cfg.hash = *alg;
        if (!bind.empty()) {
            boost::system::error_code ec;
            boost::asio::ip::make_address(bind, ec);
            if (ec) throw std::invalid_argument("--bind: expected an IPv4 or IPv6 address, got '" + bind + "'");
        }
        cfg.bind = bind;
        {
            boost::system::error_code ec;
            boost::asio::ip::make_address(metrics_bind, ec);
            if (ec)
                throw std::invalid_argument("--metrics-bind: expected an IPv4 or IPv6 address, got '" +
                                            metrics_bind + "'");
        }
        cfg.metrics_bind = metrics_bind;
        cfg.io_threads = parse_count(io_threads, "--io-threads", 1, 1024);
        cfg.threads = threads == "auto" ? auto_pool_threads(cfg.io_threads) : parse_count(threads, "--threads", 1, 1024);
        cfg.max_inflight = parse_count(max_inflight, "--max-inflight", 1, 1 << 20);
        cfg.max_connections = parse_count(max_conn, "--max-connections", 1, 10'000'000);
        cfg.max_per_client = parse_count(per_client, "--max-connections-per-client", 0, 10'000'000);
        cfg.inline_below = with_option_name("--inline-below", [&] { return parse_size(inline_below); });
        cfg.chunk_size = with_option_name("--chunk-size", [&] { return parse_size(chunk); });
        if (cfg.chunk_size < 512 || cfg.chunk_size > (64U << 20))
            throw std::invalid_argument("--chunk-size: must be from 512 bytes to 64M");
        cfg.pool_slice = with_option_name("--pool-slice", [&] { return parse_size(slice); });
        cfg.max_line = with_option_name("--max-line", [&] { return parse_size(max_line); });
        if (cfg.max_line < 1 || cfg.max_line > (1U << 30))
            throw std::invalid_argument("--max-line: must be from 1 byte to 1G");
        auto ms = with_option_name("--max-stream-bytes", [&] { return parse_size(max_stream); });
        cfg.max_stream_bytes = ms == 0 ? config{}.max_stream_bytes : ms;
        cfg.idle_timeout = with_option_name("--idle-timeout", [&] { return parse_seconds(idle); });
        // Rounded to 0 ms it would mean "never": the opposite of what was asked.
        if (auto exact = parse_seconds_exact(idle); exact > 0 && exact < 0.001)
            throw std::invalid_argument("--idle-timeout: must be 0 (never) or at least 0.001 (1 ms), got " + idle);
        cfg.shutdown_timeout = with_option_name("--shutdown-timeout", [&] { return parse_seconds(shutdown); });
        if (!metrics_port.empty())
            cfg.metrics_port = with_option_name("--metrics-port", [&] { return parse_port(metrics_port); });
    } catch (std::invalid_argument const& e) {
        return early_exit{1, std::string("hash_server: ") + e.what() + "\n" + usage};
    }
    return cfg;
}

} // namespace hashsrv
