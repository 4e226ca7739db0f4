// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for the command line (src/app/options.cpp): argv is built from
// the input (arguments separated by NUL bytes). parse_command_line must never
// crash or throw, and a config it accepts must respect every documented bound.
#include "app/options.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    std::vector<std::string> args{"hash_server"};
    std::string cur;
    for (std::size_t i = 0; i < size && args.size() < 64; ++i) {
        if (data[i] == 0) {
            args.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(static_cast<char>(data[i]));
        }
    }
    if (!cur.empty()) args.push_back(cur);
    std::vector<char const*> argv;
    argv.reserve(args.size() + 1);
    for (auto const& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);

    std::variant<hashsrv::config, hashsrv::early_exit> parsed;
    try {
        // No environment: the input alone decides (--config may still name a file).
        parsed = hashsrv::parse_command_line(static_cast<int>(args.size()), argv.data(),
                                             [](char const*) -> char const* { return nullptr; });
    } catch (...) {
        std::abort(); // a bad command line is an early_exit, never an exception
    }
    if (auto const* done = std::get_if<hashsrv::early_exit>(&parsed)) {
        check(done->code == 0 || done->code == 1);
        check(!done->message.empty());
        return 0;
    }
    auto const& cfg = std::get<hashsrv::config>(parsed);
    check(cfg.threads >= 1 && cfg.threads <= 1024);
    check(cfg.io_threads >= 1 && cfg.io_threads <= 1024);
    check(cfg.max_inflight >= 1);
    check(cfg.max_connections >= 1);
    check(cfg.chunk_size >= 512 && cfg.chunk_size <= (64U << 20));
    check(cfg.max_line >= 1 && cfg.max_line <= (1U << 30));
    check(cfg.max_stream_bytes > 0);
    check(cfg.idle_timeout.count() >= 0 && cfg.shutdown_timeout.count() >= 0);
    return 0;
}
