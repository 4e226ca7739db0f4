// SPDX-License-Identifier: BSL-1.0
// The client's side of TLS, shared by hash_client and hash_bench: which
// servers a client trusts and which certificate it presents, in one place.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <string>

namespace hashsrv {

struct tls_client_files {
    std::string ca;        // the CAs the server is verified against; empty: the system's
    std::string cert, key; // ours, for a server with --tls-client-ca; empty: none
};

/// Sets up a client context. `verify`: the server's chain is checked (against
/// `files.ca`, else the system's CAs); the host name is the caller's to check,
/// per connection. Returns empty, or the option whose file could not be used.
std::string configure_tls_client(boost::asio::ssl::context& ctx, tls_client_files const& files, bool verify);

} // namespace hashsrv
