// SPDX-License-Identifier: BSL-1.0
// One line per event on stderr: "2026-11-27T12:00:00.123Z WARN message".
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace hashsrv {

enum class log_level { error, warn, info, debug };
std::string_view to_string(log_level l) noexcept;

} // namespace hashsrv

namespace hashsrv::log {

void set_level(log_level l) noexcept;
bool enabled(log_level l) noexcept;
void write(log_level l, std::string_view message);

template <typename... Args>
void at(log_level l, fmt::format_string<Args...> f, Args&&... args)
{
    if (enabled(l)) write(l, fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) { at(log_level::error, f, std::forward<Args>(args)...); }
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) { at(log_level::warn, f, std::forward<Args>(args)...); }
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) { at(log_level::info, f, std::forward<Args>(args)...); }
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) { at(log_level::debug, f, std::forward<Args>(args)...); }

} // namespace hashsrv::log
