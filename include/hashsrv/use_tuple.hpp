// SPDX-License-Identifier: BSL-1.0
// The completion token of the normal I/O paths, where a closed peer or a
// cancelled wait is routine: results as (error_code, value...) tuples rather
// than exceptions. I/O objects declared `with_tuple<T>` take it by default,
// as in Asio's echo_server_with_as_tuple_default.cpp.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hashsrv {

using use_tuple_t = boost::asio::as_tuple_t<boost::asio::use_awaitable_t<>>;
inline constexpr use_tuple_t use_tuple{};

/// An I/O object (socket, timer, acceptor, signal set) whose operations
/// complete with tuples when given no token.
template <typename IoObject>
using with_tuple = use_tuple_t::as_default_on_t<IoObject>;

} // namespace hashsrv
