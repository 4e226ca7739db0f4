// SPDX-License-Identifier: BSL-1.0
#include "tls_client.hpp"

namespace hashsrv {

namespace ssl = boost::asio::ssl;

std::string configure_tls_client(ssl::context& ctx, tls_client_files const& files, bool verify)
{
    boost::system::error_code ec;
    ctx.set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none);
    if (!files.ca.empty()) ctx.load_verify_file(files.ca, ec);
    else if (verify) ctx.set_default_verify_paths(ec);
    if (ec) return "--tls-ca " + files.ca;
    if (files.cert.empty()) return {};
    if (ctx.use_certificate_chain_file(files.cert, ec); ec) return "--tls-cert " + files.cert;
    if (ctx.use_private_key_file(files.key, ssl::context::pem, ec); ec) return "--tls-key " + files.key;
    return {};
}

} // namespace hashsrv
