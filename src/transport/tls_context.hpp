// SPDX-License-Identifier: BSL-1.0
// The server's TLS configuration, turned into an SSL context: read at start
// (a bad file is a start-up error) and again on SIGHUP (a bad file then
// keeps the old context).
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace hashsrv {

struct tls_settings {
    std::string cert;      // PEM, the server's certificate first, then its chain
    std::string key;       // PEM private key
    std::string client_ca; // PEM CA certificates; set: clients must present a certificate it signed
    bool min_tls13 = false; // else TLS 1.2 and 1.3

    bool enabled() const noexcept { return !cert.empty(); }
};

/// What is wrong with the files, naming the option and the file.
struct tls_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A server context for `s`; throws tls_error.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(tls_settings const& s);

} // namespace hashsrv
