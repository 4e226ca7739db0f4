// SPDX-License-Identifier: BSL-1.0
// Options from the environment and from a --config file (src/app/config_sources.hpp,
// src/app/options.cpp): command line > environment > file > default, and every
// bad value names its source. The environment is a map here, not the process's.
#include "app/config_sources.hpp"
#include "app/options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <variant>
#include <vector>

using namespace hashsrv;
using namespace std::chrono_literals;

namespace {

using variables = std::map<std::string, std::string>;

environment from(variables const& vars)
{
    return [vars](char const* name) -> char const* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
    };
}

std::variant<config, early_exit> parse(std::vector<char const*> args, variables const& vars)
{
    args.insert(args.begin(), "hash_server");
    return parse_command_line(static_cast<int>(args.size()), args.data(), from(vars));
}

config parse_ok(std::vector<char const*> args, variables const& vars)
{
    auto r = parse(std::move(args), vars);
    if (auto* e = std::get_if<early_exit>(&r)) {
        ADD_FAILURE() << "early exit " << e->code << ": " << e->message;
        return {};
    }
    return std::get<config>(r);
}

std::string parse_error(std::vector<char const*> args, variables const& vars)
{
    auto r = parse(std::move(args), vars);
    auto* e = std::get_if<early_exit>(&r);
    if (!e) {
        ADD_FAILURE() << "accepted";
        return {};
    }
    EXPECT_EQ(e->code, 1);
    return e->message;
}

/// A config file in the test's temporary folder, removed with it.
class config_file {
public:
    explicit config_file(std::string const& text)
    {
        char const* dir = std::getenv("TMPDIR");
        path_ = std::string(dir && *dir ? dir : "/tmp") + "/hash_server_test_" + std::to_string(::getpid()) + "_" +
                std::to_string(counter_++) + ".conf";
        std::ofstream(path_) << text;
    }
    ~config_file() { std::remove(path_.c_str()); }
    char const* path() const { return path_.c_str(); }

private:
    static inline int counter_ = 0;
    std::string path_;
};

} // namespace

TEST(ConfigSources, VariableNames)
{
    EXPECT_EQ(environment_name("--idle-timeout"), "HASH_SERVER_IDLE_TIMEOUT");
    EXPECT_EQ(environment_name("--max-connections-per-client"), "HASH_SERVER_MAX_CONNECTIONS_PER_CLIENT");
    // Kubernetes sets HASH_SERVER_PORT for a Service called hash-server.
    EXPECT_EQ(environment_name("port"), "HASH_SERVER_LISTEN_PORT");
}

TEST(ConfigSources, EnvironmentAlone)
{
    auto cfg = parse_ok({}, {{"HASH_SERVER_LISTEN_PORT", "4242"},
                             {"HASH_SERVER_PROTOCOL", "lines"},
                             {"HASH_SERVER_IDLE_TIMEOUT", "2.5"},
                             {"HASH_SERVER_PORT", "tcp://10.0.0.1:8080"}, // a Kubernetes Service's: ignored
                             {"HASH_SERVER_NO_SUCH_OPTION", "1"}});       // unknown: ignored
    EXPECT_EQ(cfg.port, 4242);
    EXPECT_EQ(cfg.proto, protocol::lines);
    EXPECT_EQ(cfg.idle_timeout, 2500ms);
}

TEST(ConfigSources, EmptyVariableIsUnsetEmptyArgumentIsAnError)
{
    auto cfg = parse_ok({"8080"}, {{"HASH_SERVER_PROTOCOL", ""}, {"HASH_SERVER_BIND", ""}});
    EXPECT_EQ(cfg.proto, protocol::oneshot);
    EXPECT_EQ(cfg.bind, "");
    EXPECT_NE(parse_error({"--bind", "", "8080"}, {}).find("--bind"), std::string::npos);
    // No port anywhere (an empty variable is none): the tutorial's usage.
    auto r = parse({}, {{"HASH_SERVER_LISTEN_PORT", ""}});
    ASSERT_TRUE(std::holds_alternative<early_exit>(r));
    EXPECT_EQ(std::get<early_exit>(r).code, 1);
    EXPECT_NE(std::get<early_exit>(r).message.find("Usage: hash_server <port>"), std::string::npos);
}

TEST(ConfigSources, FileAlone)
{
    config_file f("# a comment\nport = 4243\nprotocol = stream\nhash = \"sha256\"\nchunk-size = 1M\n\n"
                  "max-connections-per-client = 7 # trailing comment\n");
    auto cfg = parse_ok({"--config", f.path()}, {});
    EXPECT_EQ(cfg.port, 4243);
    EXPECT_EQ(cfg.proto, protocol::stream);
    EXPECT_EQ(cfg.hash, algorithm::sha256);
    EXPECT_EQ(cfg.chunk_size, 1U << 20);
    EXPECT_EQ(cfg.max_per_client, 7U);
    // HASH_SERVER_CONFIG names the file too.
    EXPECT_EQ(parse_ok({}, {{"HASH_SERVER_CONFIG", f.path()}}).port, 4243);
}

TEST(ConfigSources, CommandLineOverEnvironmentOverFileOverDefault)
{
    config_file f("port = 1\nhash = sha256\nprotocol = lines\nmax-line = 100\n");
    variables env{{"HASH_SERVER_LISTEN_PORT", "2"}, {"HASH_SERVER_HASH", "xxh3"}, {"HASH_SERVER_PROTOCOL", "stream"}};
    auto cfg = parse_ok({"--config", f.path(), "--protocol", "oneshot", "3"}, env);
    EXPECT_EQ(cfg.port, 3);                    // command line
    EXPECT_EQ(cfg.proto, protocol::oneshot);   // command line over the environment and the file
    EXPECT_EQ(cfg.hash, algorithm::xxh3);      // environment over the file
    EXPECT_EQ(cfg.max_line, 100U);             // file
    EXPECT_EQ(cfg.idle_timeout, 30s);          // default
    EXPECT_EQ(parse_ok({"--config", f.path()}, env).port, 2);
    EXPECT_EQ(parse_ok({"--config", f.path()}, {}).port, 1);
}

TEST(ConfigSources, BadValuesNameTheirSource)
{
    EXPECT_NE(parse_error({"8080"}, {{"HASH_SERVER_HASH", "md5"}}).find("--hash (from HASH_SERVER_HASH)"),
              std::string::npos);
    EXPECT_NE(parse_error({}, {{"HASH_SERVER_LISTEN_PORT", "http"}}).find("port (from HASH_SERVER_LISTEN_PORT)"),
              std::string::npos);
    config_file f("port = 8080\nidle-timeout = soon\n");
    auto e = parse_error({"--config", f.path()}, {});
    EXPECT_NE(e.find(std::string("--idle-timeout (from --config ") + f.path() + ")"), std::string::npos) << e;
    // The same bad value given on the command line names the option alone.
    EXPECT_NE(parse_error({"--idle-timeout", "soon", "8080"}, {}).find("hash_server: --idle-timeout: "),
              std::string::npos);
}

TEST(ConfigSources, BadFilesAreClearErrors)
{
    struct bad {
        std::string text;
        std::string says;
    };
    std::vector<bad> const cases = {
        {"port = 8080\nprotocl = lines\n", "unknown option 'protocl'"},
        {"port = 8080\nprotocol\n", "line 2: expected option = value"},
        {"port = 8080\nport = 8081\n", "port: expected one value (given twice"},
        {"port =\n", "port: empty value"},
        {"[server]\nport = 8080\n", "sections are not used"},
        {"port = 8080\nprotocol = [lines, stream]\n", "protocol: expected one value"},
        {"--port = 8080\n", "unknown option '--port'"},
    };
    for (auto const& c : cases) {
        config_file f(c.text);
        auto e = parse_error({"--config", f.path()}, {});
        EXPECT_NE(e.find(f.path()), std::string::npos) << c.text << "-> " << e;
        EXPECT_NE(e.find(c.says), std::string::npos) << c.text << "-> " << e;
    }
}
