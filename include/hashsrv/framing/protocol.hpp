// SPDX-License-Identifier: BSL-1.0
// The three ways a connection's bytes become requests.
#pragma once

#include <string_view>

namespace hashsrv {

/// oneshot: one read per connection (the tutorial); stream: everything up to
/// the client's half-close; lines: one request per "\n"-terminated line.
enum class protocol { oneshot, stream, lines };

constexpr std::string_view to_string(protocol p) noexcept
{
    switch (p) {
    case protocol::oneshot: return "oneshot";
    case protocol::stream: return "stream";
    case protocol::lines: return "lines";
    }
    return "?";
}

} // namespace hashsrv
