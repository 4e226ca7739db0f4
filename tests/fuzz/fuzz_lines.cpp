// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for the `lines` framing (include/hashsrv/framing/lines.hpp).
//
// The input is split into a small header (the line limit and how to cut the
// rest into reads) and a payload. The payload is fed to a line_framer the way
// the session feeds it: appended read by read to a buffer, scanned after each
// read, complete lines consumed. After every scan the result is checked
// against a naive reference splitter run on the same buffer, and at the end
// every consumed byte must be the input itself, in order.
#include <hashsrv/framing/lines.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

struct reference_result {
    std::size_t complete = 0;
    bool too_long = false;
};

// The obvious splitter: walk every line from the front of the buffer.
reference_result reference_scan(std::string_view buf, std::size_t max_line)
{
    reference_result r;
    std::size_t start = 0;
    for (;;) {
        auto nl = buf.find('\n', start);
        if (nl == std::string_view::npos) {
            r.too_long = buf.size() - start > max_line; // the line still arriving
            return r;
        }
        if (nl - start > max_line) {
            r.too_long = true;
            return r;
        }
        start = nl + 1;
        r.complete = start;
    }
}

void check(bool ok)
{
    if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    if (size < 3) return 0;
    std::size_t const max_line = 1 + data[0] % 64;          // small, so limits are hit often
    std::uint8_t const split_seed = data[1];                 // read sizes
    std::uint8_t const consume_mode = data[2];               // how much to consume each time
    std::string_view input(reinterpret_cast<char const*>(data) + 3, size - 3);

    hashsrv::framing::line_framer framer(max_line);
    check(framer.max_line() == max_line);
    std::string buf;          // the session's unconsumed bytes
    std::string consumed;     // every byte handed out as complete lines, in order
    std::size_t fed = 0;
    unsigned step = 0;
    while (fed < input.size()) {
        // Read sizes from 1 to 32 bytes, driven by the header and the data.
        std::size_t n = 1 + (split_seed ^ static_cast<std::uint8_t>(input[fed]) ^ step * 7U) % 32;
        n = std::min(n, input.size() - fed);
        buf.append(input.substr(fed, n));
        fed += n;
        ++step;

        auto got = framer.scan(buf);
        auto want = reference_scan(buf, max_line);
        check(got.too_long == want.too_long);
        check(got.complete == want.complete);
        check(got.complete <= buf.size());
        check(got.complete == 0 || buf[got.complete - 1] == '\n');
        if (got.too_long) return 0; // the session answers ERR and closes here
        check(framer.partial() == buf.size() - got.complete);

        // The lines for_each_line hands out are exactly the complete bytes, each ending in "\n".
        std::string joined;
        std::size_t lines = 0;
        hashsrv::framing::for_each_line(std::string_view(buf).substr(0, got.complete), [&](std::string_view line) {
            check(!line.empty() && line.back() == '\n');
            check(line.size() - 1 <= max_line);
            check(line.find('\n') == line.size() - 1);
            joined.append(line);
            ++lines;
        });
        check(joined == std::string_view(buf).substr(0, got.complete));

        // Consume all of it (what the session does), none, or part of it.
        std::size_t take = got.complete;
        switch (consume_mode % 3) {
        case 0: break;
        case 1: take = (step % 2 == 0) ? 0 : got.complete; break;
        case 2: take = got.complete == 0 ? 0 : (consume_mode + step) % (got.complete + 1); break;
        }
        if (take > 0) {
            framer.consume(take);
            consumed.append(buf, 0, take);
            buf.erase(0, take);
        }
    }
    // Nothing is lost or duplicated across consumes.
    check(consumed + buf == input);
    return 0;
}
