// SPDX-License-Identifier: BSL-1.0
#include "transport/transport.hpp"

#include "transport/descriptor_io.hpp"

namespace hashsrv {

bool transport::reply_taken() noexcept
{
    if (!writing_) return false;
    auto now = descriptor_io::unacknowledged(fd_);
    bool taken = now < in_flight_;
    in_flight_ = now;
    return taken;
}

std::optional<boost::asio::ip::tcp::endpoint> transport::peer() const { return descriptor_io::peer(fd_); }

void transport::set_writing(bool waits) noexcept
{
    writing_ = waits;
    if (waits) look_at_socket();
}

void transport::look_at_socket() noexcept { in_flight_ = descriptor_io::unacknowledged(fd_); }

} // namespace hashsrv
