// SPDX-License-Identifier: BSL-1.0
#include "protocols/proxy_admission.hpp"

#include "protocols/connection.hpp"
#include "transport/proxy_receive.hpp"

namespace hashsrv {

namespace asio = boost::asio;

asio::awaitable<bool> admit_proxied(connection& conn, int descriptor, bool can_reply)
{
    auto [ec, header] = co_await receive_proxy_header(descriptor, conn.io);
    if (auto why = conn.noticed(ec)) {
        conn.end_quietly(why);
        co_return false;
    }
    if (header.status != framing::proxy_header::state::complete) {
        // Not from the balancer (or a balancer without send-proxy): what it
        // says of its client cannot be trusted, so it is not served at all.
        conn.ctx.stats->proxy_header_errors.fetch_add(1, std::memory_order_relaxed);
        conn.debug("no valid PROXY header ({}): closed", header.error);
        co_return false;
    }
    // A LOCAL header (the balancer's own health check) names no client: the
    // balancer is the client then.
    auto const source = header.source ? header.source : conn.io.peer();
    if (!source) co_return false; // the connection is gone already
    if (conn.ctx.admission->admit(conn.control(), source->address())) {
        conn.debug("the client, as its PROXY header names it");
        co_return true;
    }
    if (can_reply) conn.io.send_notice(too_many_from_client);
    co_return false;
}

} // namespace hashsrv
