// SPDX-License-Identifier: BSL-1.0
// What an idle connection costs an Asio 1.81 coroutine server with nothing
// around the wait: each accepted socket gets a co_spawned coroutine that
// awaits readability and returns. The floor that hash_server's sessions are
// measured against (bench/README.md, scenario 4):
//
//     idle_floor plain  0   # the io_context's executor
//     idle_floor strand 0   # a strand per connection, as hash_server
//     idle_floor race   0   # a strand, and the wait raced against a steady_timer with `||`
//
// Measured as hash_server is: `SERVER="build/release/bench/idle_floor strand"
// N=19000 bench/idle_heap` holds N idle connections and reads VmRSS and the heap.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string_view>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

enum class mode { plain, strand, race };

asio::awaitable<void> wait_readable(tcp::socket s, mode m)
{
    if (m == mode::race) {
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer deadline(s.get_executor(), std::chrono::minutes(5));
        co_await (s.async_wait(tcp::socket::wait_read, use_tuple) || deadline.async_wait(use_tuple));
    } else {
        co_await s.async_wait(tcp::socket::wait_read, use_tuple);
    }
}

template <typename Executor>
void spawn(Executor ex, tcp::socket accepted, mode m)
{
    tcp::socket s(ex);
    auto protocol = accepted.local_endpoint().protocol();
    s.assign(protocol, accepted.release());
    asio::co_spawn(ex, wait_readable(std::move(s), m), asio::detached);
}

asio::awaitable<void> accept_loop(asio::io_context& ioc, tcp::acceptor& acceptor, mode m)
{
    for (;;) {
        auto [ec, accepted] = co_await acceptor.async_accept(use_tuple);
        if (ec) continue; // EMFILE and friends: this is a measuring tool, not a server
        if (m == mode::plain) spawn(ioc.get_executor(), std::move(accepted), m);
        else spawn(asio::make_strand(ioc), std::move(accepted), m);
    }
}

} // namespace

int main(int argc, char** argv)
{
    std::string_view const name = argc == 3 ? argv[1] : "";
    mode m = mode::plain;
    if (name == "strand") m = mode::strand;
    else if (name == "race") m = mode::race;
    else if (name != "plain") {
        std::cerr << "Usage: idle_floor plain|strand|race <port>\n";
        return 1;
    }
    asio::io_context ioc(1);
    tcp::acceptor acceptor(ioc, {tcp::v6(), static_cast<unsigned short>(std::atoi(argv[2]))});
    acceptor.listen(asio::socket_base::max_listen_connections);
    std::cout << "Idle floor server listening on port " << acceptor.local_endpoint().port() << std::endl;
    asio::co_spawn(ioc, accept_loop(ioc, acceptor, m), asio::detached);
    ioc.run();
}
