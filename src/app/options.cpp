// SPDX-License-Identifier: BSL-1.0
#include "app/options.hpp"

#include "app/config_sources.hpp"

#include <hashsrv/parse.hpp>
#include <hashsrv/version.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>

#include <map>
#include <optional>
#include <stdexcept>

#include <sched.h>

namespace hashsrv {

namespace {

constexpr char usage[] = "Usage: hash_server <port>\n"
                         "       hash_server [OPTIONS] <port>   (hash_server --help lists the options)\n";

/// The options as given, before conversion; the defaults are what --help shows.
struct option_text {
    std::string port;
    std::string proto = "oneshot", hash = "fnv1a", level = "info", pool_sched = "batch";
    std::string threads = "auto", io_threads = "1", max_inflight = "64", inline_below = "0", chunk = "256K",
                slice = "64K";
    std::string max_line = "64K", max_stream = "0", max_conn = "10000", idle = "30", shutdown = "10",
                grace = "1";
    std::string per_client = "0";
    std::string bind, metrics_port, metrics_bind = config{}.metrics_bind;
    std::string config_file, state_file;
    std::string tls_cert, tls_key, tls_client_ca, tls_min = "1.2";
    std::string proxy = "off";
};

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

std::string parse_address(std::string const& text, std::string_view option)
{
    boost::system::error_code ec;
    boost::asio::ip::make_address(text, ec);
    if (ec) throw std::invalid_argument(std::string(option) + ": expected an IPv4 or IPv6 address, got '" + text + "'");
    return text;
}

bool parse_on_off(std::string_view text)
{
    if (text == "on") return true;
    if (text == "off") return false;
    throw std::invalid_argument("expected on|off, got '" + std::string(text) + "'");
}

/// One option of the command line: where its text goes, how --help shows it.
struct option_spec {
    char const* name;
    std::string option_text::*field;
    char const* type;
    char const* help;
    bool shows_default = true;
    bool flag = false; // given alone it means "on"; `=off` too
};

// In --help's order.
option_spec const options[] = {
    {"--protocol", &option_text::proto, "NAME",
     "oneshot: one read of up to 4096 bytes per connection (the tutorial);\n"
     "stream: hash everything up to the client's half-close;\n"
     "lines: one digest per \\n-terminated line, pipelined"},
    {"--hash", &option_text::hash, "NAME", "fnv1a | xxh3 | sha256"},
    {"--bind", &option_text::bind, "ADDRESS", "address to listen on (default: all IPv6 and IPv4 addresses)", false},
    {"--threads", &option_text::threads, "N",
     "hash pool threads; auto: the CPUs this process may use minus the I/O threads\n"
     "(at least 1), so hashing never competes with the I/O loop for a core"},
    {"--pool-policy", &option_text::pool_sched, "POLICY",
     "scheduling of the hash pool threads; batch: a woken pool thread never preempts\n"
     "the I/O thread (fewer context switches per hop); normal: as the I/O threads"},
    {"--io-threads", &option_text::io_threads, "N", "threads running the I/O loop"},
    {"--max-inflight", &option_text::max_inflight, "N", "hash jobs queued or running on the pool at once"},
    {"--inline-below", &option_text::inline_below, "BYTES",
     "hash inputs smaller than this many bytes on the I/O thread (0: always hop)"},
    {"--chunk-size", &option_text::chunk, "BYTES",
     "stream: bytes per hash job at most (3 buffers per upload; an upload slower than\n"
     "the server goes as it arrives, a --pool-slice at least a job); lines: read size\n"
     "(up to --max-line); a read takes at most 64K whatever the chunk"},
    {"--pool-slice", &option_text::slice, "BYTES",
     "a pool job hashes at most this many bytes, then lets the jobs queued behind it\n"
     "run first, so a small request never waits for a big chunk (0: run to completion)"},
    {"--max-line", &option_text::max_line, "BYTES", "lines: longest line in bytes, not counting its \\n"},
    {"--max-stream-bytes", &option_text::max_stream, "BYTES", "stream: largest upload in bytes (0: unlimited)"},
    {"--max-connections", &option_text::max_conn, "N", "connections served at once; more wait in the backlog"},
    {"--proxy-protocol", &option_text::proxy, "",
     "[=on|off] every connection starts with a PROXY protocol header (v1 or v2) from a\n"
     "trusted load balancer: the client it names is the one logged and limited by\n"
     "--max-connections-per-client; a connection without a valid header is closed", true, true},
    {"--max-connections-per-client", &option_text::per_client, "N",
     "connections served at once from one source address; more are refused with an\n"
     "ERR line (0: no limit)"},
    {"--idle-timeout", &option_text::idle, "SECONDS",
     "seconds a connection may stay silent (0: forever, else at least 0.001); a client\n"
     "taking our replies is not silent"},
    {"--shutdown-timeout", &option_text::shutdown, "SECONDS",
     "seconds that requests in progress get to finish after SIGTERM"},
    {"--drain-grace", &option_text::grace, "SECONDS",
     "after SIGTERM, seconds a connection silent since its accept gets to start its\n"
     "request (a load balancer connects before its client sends; at most half of\n"
     "--shutdown-timeout); then it is closed as idle (0: at once)"},
    {"--tls-cert", &option_text::tls_cert, "FILE",
     "speak TLS only on the port, with this PEM certificate (its chain may follow it\n"
     "in the file); needs --tls-key. SIGHUP reads both files again", false},
    {"--tls-key", &option_text::tls_key, "FILE", "the PEM private key of --tls-cert", false},
    {"--tls-client-ca", &option_text::tls_client_ca, "FILE",
     "mutual TLS: clients must present a certificate signed by a CA in this PEM file", false},
    {"--tls-min-version", &option_text::tls_min, "VERSION",
     "1.2 | 1.3; --protocol stream over TLS needs 1.3 (its upload ends at the client's\n"
     "close_notify, and TLS 1.2 allows no reply after it)"},
    {"--metrics-port", &option_text::metrics_port, "PORT",
     "serve Prometheus metrics at http://<metrics-bind>:PORT/metrics", false},
    {"--metrics-bind", &option_text::metrics_bind, "ADDRESS",
     "address the metrics listen on (:: or 0.0.0.0: every address; --bind does not move them)"},
    {"--log-level", &option_text::level, "LEVEL", "error | warn | info | debug"},
    {"--state-file", &option_text::state_file, "FILE",
     "once listening, write where and how the server answers to FILE, for\n"
     "`hash_client --check` (removed at exit)", false},
};

option_spec const port_spec{"port", &option_text::port, "PORT", "TCP port to listen on (0: any free port, shown in the banner)",
                            false};

void declare_options(CLI::App& app, option_text& t)
{
    app.add_option(port_spec.name, t.port, port_spec.help)->type_name(port_spec.type);
    for (auto const& o : options) {
        if (o.flag) {
            app.add_flag(std::string(o.name) + "{on}", t.*o.field, o.help);
            continue;
        }
        auto* opt = app.add_option(o.name, t.*o.field, o.help)->type_name(o.type);
        if (o.shows_default) opt->capture_default_str();
    }
    app.add_option("--config", t.config_file,
                   "read options from FILE, one `option = value` per line (keys without the\n"
                   "dashes, the port as `port`; # comments)")
        ->type_name("FILE");
}

/// Where the options that the command line left out came from, by name
/// ("port", "--hash"): a variable, or the config file.
using origins = std::map<std::string, std::string>;

/// Fills the options the command line left out from the environment, else
/// from the config file: command line > environment > file > default.
origins fill_unset(CLI::App const& app, option_text& t, environment const& env)
{
    auto path = app.count("--config") > 0 ? t.config_file : environment_value(env, "HASH_SERVER_CONFIG");
    std::map<std::string, std::string> file;
    if (!path.empty()) file = read_config_file(path);
    origins from;
    auto fill = [&](option_spec const& o) {
        std::string_view const name(o.name);
        std::string const key(name.substr(name.find_first_not_of('-')));
        auto node = file.extract(key);
        if (app.count(o.name) > 0) return;
        auto const var = environment_name(o.name);
        if (auto v = environment_value(env, var); !v.empty()) {
            t.*o.field = std::move(v);
            from[o.name] = var;
        } else if (node) {
            t.*o.field = std::move(node.mapped());
            from[o.name] = "--config " + path;
        }
    };
    fill(port_spec);
    for (auto const& o : options) fill(o);
    if (!file.empty()) throw std::invalid_argument("--config " + path + ": unknown option '" + file.begin()->first + "'");
    return from;
}

/// "--hash: expected ..." becomes "--hash (from HASH_SERVER_HASH): expected ...".
std::string with_origin(std::string message, origins const& from)
{
    auto colon = message.find(':');
    if (colon == std::string::npos) return message;
    if (auto it = from.find(message.substr(0, colon)); it != from.end()) message.insert(colon, " (from " + it->second + ")");
    return message;
}

/// After a successful parse: what CLI11 let through that is still a usage error.
std::optional<early_exit> check_words(CLI::App const& app)
{
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
    // Given but empty ('' from a script's unset variable) is an error, not "not set".
    for (char const* name : {"--bind", "--metrics-port", "--metrics-bind", "--state-file", "--tls-cert", "--tls-key",
                             "--tls-client-ca", "--config"})
        if (app.count(name) > 0 && app.get_option(name)->as<std::string>().empty())
            return early_exit{1, std::string("hash_server: ") + name + ": empty value\n" + usage};
    return std::nullopt;
}

void convert_sizes(option_text const& t, config& cfg)
{
    cfg.inline_below = with_option_name("--inline-below", [&] { return parse_size(t.inline_below); });
    cfg.chunk_size = with_option_name("--chunk-size", [&] { return parse_size(t.chunk); });
    if (cfg.chunk_size < 512 || cfg.chunk_size > (64U << 20))
        throw std::invalid_argument("--chunk-size: must be from 512 bytes to 64M");
    cfg.pool_slice = with_option_name("--pool-slice", [&] { return parse_size(t.slice); });
    cfg.max_line = with_option_name("--max-line", [&] { return parse_size(t.max_line); });
    if (cfg.max_line < 1 || cfg.max_line > (1U << 30)) throw std::invalid_argument("--max-line: must be from 1 byte to 1G");
    auto ms = with_option_name("--max-stream-bytes", [&] { return parse_size(t.max_stream); });
    cfg.max_stream_bytes = ms == 0 ? config{}.max_stream_bytes : ms;
    cfg.idle_timeout = with_option_name("--idle-timeout", [&] { return parse_seconds(t.idle); });
    // Rounded to 0 ms it would mean "never": the opposite of what was asked.
    if (auto exact = parse_seconds_exact(t.idle); exact > 0 && exact < 0.001)
        throw std::invalid_argument("--idle-timeout: must be 0 (never) or at least 0.001 (1 ms), got " + t.idle);
    cfg.shutdown_timeout = with_option_name("--shutdown-timeout", [&] { return parse_seconds(t.shutdown); });
    cfg.drain_grace = with_option_name("--drain-grace", [&] { return parse_seconds(t.grace); });
}

/// The files are read later, before anything listens (make_tls_context).
void convert_tls(option_text const& t, config& cfg)
{
    if (t.tls_min != "1.2" && t.tls_min != "1.3")
        throw std::invalid_argument("--tls-min-version: expected 1.2|1.3, got '" + t.tls_min + "'");
    if (t.tls_cert.empty() != t.tls_key.empty())
        throw std::invalid_argument(t.tls_cert.empty() ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key");
    if (t.tls_cert.empty() && !t.tls_client_ca.empty()) throw std::invalid_argument("--tls-client-ca needs --tls-cert");
    cfg.tls = {t.tls_cert, t.tls_key, t.tls_client_ca, t.tls_min == "1.3"};
    if (cfg.tls.enabled() && cfg.proto == protocol::stream && !cfg.tls.min_tls13)
        throw std::invalid_argument("--protocol stream over TLS needs --tls-min-version 1.3: the upload ends at the "
                                    "client's close_notify, after which TLS 1.2 allows no reply");
}

/// Throws std::invalid_argument naming the option at fault.
config convert(option_text const& t)
{
    config cfg;
    cfg.port = with_option_name("port", [&] { return parse_port(t.port); });
    cfg.proto = parse_choice(t.proto, {protocol::oneshot, protocol::stream, protocol::lines}, "--protocol");
    cfg.pool_sched = parse_choice(t.pool_sched, {pool_policy::batch, pool_policy::normal}, "--pool-policy");
    cfg.level = parse_choice(t.level, {log_level::error, log_level::warn, log_level::info, log_level::debug},
                             "--log-level");
    auto alg = parse_algorithm(t.hash);
    if (!alg) throw std::invalid_argument("--hash: expected fnv1a|xxh3|sha256, got '" + t.hash + "'");
    cfg.hash = *alg;
    if (!t.bind.empty()) cfg.bind = parse_address(t.bind, "--bind");
    cfg.metrics_bind = parse_address(t.metrics_bind, "--metrics-bind");
    cfg.io_threads = parse_count(t.io_threads, "--io-threads", 1, 1024);
    cfg.threads = t.threads == "auto" ? auto_pool_threads(cfg.io_threads) : parse_count(t.threads, "--threads", 1, 1024);
    cfg.max_inflight = parse_count(t.max_inflight, "--max-inflight", 1, 1 << 20);
    cfg.max_connections = parse_count(t.max_conn, "--max-connections", 1, 10'000'000);
    cfg.proxy_protocol = with_option_name("--proxy-protocol", [&] { return parse_on_off(t.proxy); });
    cfg.max_per_client = parse_count(t.per_client, "--max-connections-per-client", 0, 10'000'000);
    convert_sizes(t, cfg);
    convert_tls(t, cfg);
    cfg.state_file = t.state_file;
    if (!t.metrics_port.empty())
        cfg.metrics_port = with_option_name("--metrics-port", [&] { return parse_port(t.metrics_port); });
    return cfg;
}

} // namespace

std::size_t auto_pool_threads(std::size_t io_threads)
{
    // The CPUs this process may run on (taskset, a container's cpuset), not
    // the machine's: a pool larger than that only adds wake-ups and context
    // switches, and costs CPU per request.
    cpu_set_t set;
    std::size_t cpus = 1;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = static_cast<std::size_t>(CPU_COUNT(&set));
    return cpus > io_threads ? cpus - io_threads : 1;
}

std::variant<config, early_exit> parse_command_line(int argc, char const* const* argv)
{
    return parse_command_line(argc, argv, process_environment());
}

std::variant<config, early_exit> parse_command_line(int argc, char const* const* argv, environment const& env)
{
    option_text text;
    CLI::App app{"A TCP hash server: each request's bytes are hashed on a thread pool while the\n"
                 "I/O thread goes on serving other connections; the reply is the digest in hex.",
                 "hash_server"};
    app.set_version_flag("-V,--version", version_line("hash_server"));
    app.footer("Sizes take K, M and G suffixes (powers of 1024); seconds take fractions (0.5).\n"
               "Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 for a bad command line, a\n"
               "TLS file that cannot be used, a port that cannot be bound or a thread that cannot be\n"
               "created, 3 when the shutdown timeout cut requests off. SIGHUP reloads --tls-cert\n"
               "and --tls-key (a bad pair is logged and the old one kept); without TLS it is\n"
               "logged and ignored.\n"
               "Every option may also come from the environment, as HASH_SERVER_<OPTION>\n"
               "(HASH_SERVER_IDLE_TIMEOUT=5; the port as HASH_SERVER_LISTEN_PORT; empty means\n"
               "unset), or from the --config file (or HASH_SERVER_CONFIG). The command line\n"
               "wins over the environment, which wins over the file.\n"
               "Example: hash_server --protocol lines --hash xxh3 8080");
    app.allow_extras(); // a second port or an unknown word is a usage error, reported by check_words
    declare_options(app, text);
    try {
        app.parse(argc, argv);
    } catch (CLI::CallForHelp const&) {
        return early_exit{0, app.help()};
    } catch (CLI::CallForVersion const&) {
        return early_exit{0, version_line("hash_server") + "\n"};
    } catch (CLI::ParseError const& e) {
        return early_exit{1, std::string("hash_server: ") + e.what() + "\n" + usage};
    }
    if (auto bad = check_words(app)) return *bad;
    origins from;
    try {
        from = fill_unset(app, text, env);
        if (app.count("port") == 0 && from.count("port") == 0) return early_exit{1, usage};
        return convert(text);
    } catch (std::invalid_argument const& e) {
        return early_exit{1, "hash_server: " + with_origin(e.what(), from) + "\n" + usage};
    }
}

} // namespace hashsrv
