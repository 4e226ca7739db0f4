// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for the PROXY protocol header parser
// (include/hashsrv/framing/proxy_header.hpp): any bytes, never a crash; a
// complete header lies within the input and the bounds of its version; every
// shorter prefix of it asks for more bytes (what a session reading it in
// pieces relies on), and the verdict does not depend on the bytes after it.
#include <hashsrv/framing/proxy_header.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using hashsrv::framing::parse_proxy_header;
using state = hashsrv::framing::proxy_header::state;

void check(bool ok)
{
    if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    std::string_view const in(reinterpret_cast<char const*>(data), size);
    auto const h = parse_proxy_header(in);
    if (h.status == state::invalid) check(!h.error.empty());
    if (h.status != state::complete) return 0;
    check(h.size > 0 && h.size <= in.size());
    if (in[0] == 'P') {
        check(h.size <= hashsrv::framing::proxy_v1_max && in.substr(h.size - 2, 2) == "\r\n");
    } else {
        check(h.size >= 16 && h.size <= hashsrv::framing::proxy_v2_max);
    }
    for (std::size_t n = 0; n < h.size; ++n) check(parse_proxy_header(in.substr(0, n)).status == state::incomplete);
    auto const alone = parse_proxy_header(in.substr(0, h.size));
    check(alone.status == state::complete && alone.size == h.size && alone.source == h.source);
    return 0;
}
