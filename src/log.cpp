#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace hashsrv::log {

namespace {
std::atomic<log_level> current{log_level::info};

std::string_view label(log_level l) noexcept
{
    switch (l) {
    case log_level::error: return "ERROR";
    case log_level::warn: return "WARN";
    case log_level::info: return "INFO";
    case log_level::debug: return "DEBUG";
    }
    return "?";
}
} // namespace

void set_level(log_level l) noexcept { current.store(l, std::memory_order_relaxed); }

bool enabled(log_level l) noexcept { return l <= current.load(std::memory_order_relaxed); }

void write(log_level l, std::string_view message)
{
    using namespace std::chrono;
    auto now = system_clock::now();
    auto t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    // One fwrite per line: stderr is unbuffered, so lines from several threads do not interleave.
    auto line = fmt::format("{}.{:03}Z {} {}\n", stamp, ms, label(l), message);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace hashsrv::log
