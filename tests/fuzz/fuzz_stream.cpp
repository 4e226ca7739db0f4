// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for the `stream` framing (include/hashsrv/framing/stream.hpp):
// a stream_limit fed a sequence of read sizes must agree with exact 128-bit
// arithmetic (saturating at 2^64-1) and, once over the limit, stay over it;
// an unlimited one is never over.
#include <hashsrv/framing/stream.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

std::uint64_t take_u64(std::uint8_t const*& p, std::size_t& left)
{
    std::uint64_t v = 0;
    auto n = std::min<std::size_t>(8, left);
    std::memcpy(&v, p, n);
    p += n;
    left -= n;
    return v;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    using hashsrv::framing::stream_limit;
    constexpr auto u64_max = std::numeric_limits<std::uint64_t>::max();
    if (size < 1) return 0;
    std::uint8_t const mode = data[0];
    std::uint8_t const* p = data + 1;
    std::size_t left = size - 1;

    // The limit: sometimes unlimited, sometimes small, sometimes anything.
    std::uint64_t max = take_u64(p, left);
    if (mode % 4 == 0) max = stream_limit::unlimited;
    else if (mode % 4 == 1) max %= 1U << 20;
    stream_limit limit = mode % 4 == 0 ? stream_limit{} : stream_limit{max};
    check(limit.max() == max);
    check(limit.total() == 0);

    unsigned __int128 exact = 0;
    bool over = false;
    while (left > 0) {
        // Read sizes: mostly small like real reads, sometimes huge to test saturation.
        std::uint8_t const kind = *p++;
        --left;
        std::uint64_t n = kind & 0x80 ? take_u64(p, left) : kind;
        exact += n;
        bool const ok = limit.add(n);
        auto const want_total = exact > u64_max ? u64_max : static_cast<std::uint64_t>(exact);
        check(limit.total() == want_total);
        // Unlimited means never over, even past 2^64 bytes (the total saturates).
        check(ok == (max == stream_limit::unlimited || exact <= max));
        if (over) check(!ok); // once over, always over
        over = over || !ok;
    }
    return 0;
}
