// SPDX-License-Identifier: BSL-1.0
#include "transport/proxy_receive.hpp"

#include "transport/descriptor_io.hpp"

#include <array>
#include <string_view>

#include <sys/socket.h>

namespace hashsrv {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

/// Takes `n` bytes that a peek has shown to be there.
error_code consume(int fd, char* to, std::size_t n)
{
    auto [ec, got] = descriptor_io::try_receive(fd, asio::buffer(to, n));
    if (!ec && got != n) ec = asio::error::message_size; // cannot happen: peeked bytes stay until read
    return ec;
}

} // namespace

// Peeks, so that the client's first bytes stay in the socket for the layer
// above. Bytes of a header not yet complete are all the header's: they are
// taken at once, so the next wait is for new bytes and never spins on old ones.
asio::awaitable<proxy_receipt> receive_proxy_header(int descriptor, transport& io)
{
    std::array<char, framing::proxy_v2_max> buf;
    std::size_t have = 0;
    for (;;) {
        auto [ec, n] = descriptor_io::try_receive(descriptor, asio::buffer(buf.data() + have, buf.size() - have), MSG_PEEK);
        if (descriptor_io::would_block(ec)) {
            if (auto wec = co_await io.wait_readable()) co_return proxy_receipt{wec, {}};
            continue;
        }
        if (ec) co_return proxy_receipt{ec, {}};
        auto header = framing::parse_proxy_header(std::string_view(buf.data(), have + n));
        using state = framing::proxy_header::state;
        if (header.status == state::invalid) co_return proxy_receipt{{}, header};
        auto const take = header.status == state::complete ? header.size - have : n;
        if (auto cec = consume(descriptor, buf.data() + have, take)) co_return proxy_receipt{cec, {}};
        have += take;
        if (header.status == state::complete) co_return proxy_receipt{{}, header};
    }
}

} // namespace hashsrv
