// SPDX-License-Identifier: BSL-1.0
#include "log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>

namespace hashsrv {

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

} // namespace hashsrv

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
    // The calendar arithmetic of <chrono>, not gmtime_r/strftime: those load
    // the time zone file on first use, a descriptor that would appear in the
    // middle of serving (tests count the server's descriptors).
    using namespace std::chrono;
    auto now = time_point_cast<milliseconds>(system_clock::now());
    auto day = floor<days>(now);
    year_month_day date{day};
    hh_mm_ss time{now - day};
    // One fwrite per line: stderr is unbuffered, so lines from several threads do not interleave.
    auto line = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {}\n", static_cast<int>(date.year()),
                            static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                            time.hours().count(), time.minutes().count(), time.seconds().count(),
                            time.subseconds().count(), label(l), message);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace hashsrv::log
