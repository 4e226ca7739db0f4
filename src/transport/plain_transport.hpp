// SPDX-License-Identifier: BSL-1.0
// A plain TCP connection as the protocols see it (transport.hpp).
//
// Reads and writes are tried on the descriptor first (descriptor_io.hpp), so
// a request whose bytes came with the connect and whose reply fits the send
// buffer is served without the I/O loop; the descriptor becomes an Asio
// socket the first time the connection has to wait.
#pragma once

#include "transport/transport.hpp"

#include <hashsrv/use_tuple.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <tuple>

namespace hashsrv {

class plain_transport final : public transport {
public:
    /// Takes the accepted, non-blocking `fd`. `ex`: the session's strand.
    plain_transport(int fd, boost::asio::any_io_executor ex, boost::asio::ip::tcp protocol,
                    std::chrono::milliseconds idle_timeout, idle_deadline& deadline);
    ~plain_transport() override;

    result try_read(boost::asio::mutable_buffer b) override;
    boost::asio::awaitable<error_code> wait_readable() override;
    boost::asio::awaitable<result> read_some(boost::asio::mutable_buffer b, bool refresh = true) override;
    boost::asio::awaitable<error_code> write(std::string_view data) override;
    void send_notice(std::string_view line) noexcept override;
    void cancel() noexcept override;
    void shutdown() noexcept override;
    bool nothing_waiting() noexcept override;

private:
    using socket = with_tuple<boost::asio::ip::tcp::socket>;

    error_code hand_to_asio();
    void progress(std::string_view data, std::size_t sent);
    void close() noexcept;

    boost::asio::any_io_executor ex_;
    boost::asio::ip::tcp protocol_;
    std::optional<socket> sock_; // once handed to Asio
    bool tried_second_read_ = false;
    bool torn_ = false;         // the socket took part of a reply line, not the rest
};

} // namespace hashsrv
