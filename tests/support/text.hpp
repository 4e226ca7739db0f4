// SPDX-License-Identifier: BSL-1.0
// Reading what the server wrote (replies, logs, metrics): its lines, and how
// often something occurs in it.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace test_support {

/// `text` cut after every "\n" (kept); a last line without one is kept as it
/// is, so a truncated reply shows up as such.
inline std::vector<std::string_view> split_lines(std::string_view text)
{
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto const nl = text.find('\n');
        auto const len = nl == std::string_view::npos ? text.size() : nl + 1;
        out.push_back(text.substr(0, len));
        text.remove_prefix(len);
    }
    return out;
}

/// How many times `what` occurs in `text`, without overlaps.
inline std::size_t count_of(std::string_view text, std::string_view what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

} // namespace test_support
