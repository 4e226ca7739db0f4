// SPDX-License-Identifier: BSL-1.0
#include "transport/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hashsrv {

namespace ssl = boost::asio::ssl;

namespace {

/// OpenSSL's reason for the last failure, or the system's for an unreadable file.
std::string reason(boost::system::error_code const& ec)
{
    char const* openssl = ::ERR_reason_error_string(::ERR_peek_last_error());
    std::string r = openssl ? openssl : ec.message();
    ::ERR_clear_error();
    return r;
}

/// fopen's reason first: OpenSSL's for a missing file is "system lib".
void check_readable(std::string const& option, std::string const& file)
{
    std::FILE* f = std::fopen(file.c_str(), "r");
    if (!f) throw tls_error(option + " " + file + ": " + std::strerror(errno));
    std::fclose(f);
}

void load_identity(ssl::context& ctx, tls_settings const& s)
{
    boost::system::error_code ec;
    check_readable("--tls-cert", s.cert);
    if (ctx.use_certificate_chain_file(s.cert, ec); ec)
        throw tls_error("--tls-cert " + s.cert + ": not a PEM certificate (" + reason(ec) + ")");
    check_readable("--tls-key", s.key);
    std::string const mismatch = "--tls-key " + s.key + " does not match the certificate in --tls-cert " + s.cert;
    if (ctx.use_private_key_file(s.key, ssl::context::pem, ec); ec) {
        // OpenSSL checks the pair as it loads the key.
        // Asio takes OpenSSL's error off its queue into `ec`.
        bool const wrong_pair = ec.category() == boost::asio::error::get_ssl_category() &&
                                ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
        auto const why = reason(ec);
        throw tls_error(wrong_pair ? mismatch : "--tls-key " + s.key + ": not a PEM private key (" + why + ")");
    }
    if (::SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
        ::ERR_clear_error();
        throw tls_error(mismatch);
    }
}

void require_client_certificates(ssl::context& ctx, std::string const& ca)
{
    boost::system::error_code ec;
    check_readable("--tls-client-ca", ca);
    if (ctx.load_verify_file(ca, ec); ec)
        throw tls_error("--tls-client-ca " + ca + ": no PEM certificate (" + reason(ec) + ")");
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
}

} // namespace

std::shared_ptr<ssl::context> make_tls_context(tls_settings const& s)
{
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression | ssl::context::single_dh_use);
    ::SSL_CTX_set_min_proto_version(ctx->native_handle(), s.min_tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    // Resumption: tickets are OpenSSL's default; a session id context is what
    // lets a session verified with a client certificate be resumed at all.
    static constexpr unsigned char sid[] = "hash_server";
    ::SSL_CTX_set_session_id_context(ctx->native_handle(), sid, sizeof sid - 1);
    load_identity(*ctx, s);
    if (!s.client_ca.empty()) require_client_certificates(*ctx, s.client_ca);
    return ctx;
}

} // namespace hashsrv
