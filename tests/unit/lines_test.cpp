// SPDX-License-Identifier: BSL-1.0
// The `lines` framing on its own: hashsrv::framing::line_framer and for_each_line.
//
// The limit: `max_line` counts the bytes of a line NOT including its "\n". A
// line of exactly max_line bytes plus "\n" is accepted; max_line + 1 bytes is
// too long, and so is a partial line (no "\n" yet) that already holds
// max_line + 1 bytes, since it can only grow.
#include <hashsrv/framing/lines.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

using hashsrv::framing::for_each_line;
using hashsrv::framing::line_framer;

namespace {

/// What the session does with the framer: append what arrives, scan, take
/// the complete lines off the front, consume them. Returns the lines taken
/// (each with its "\n") and whether the framer reported a line too long.
struct feed_result {
    std::vector<std::string> lines;
    std::string left; // buffered, not yet complete
    bool too_long = false;
};

feed_result feed_in_pieces(std::string_view input, std::vector<std::size_t> const& piece_sizes, std::size_t max_line)
{
    feed_result r;
    line_framer framer(max_line);
    std::string buffer;
    std::size_t at = 0;
    for (std::size_t i = 0; at < input.size(); ++i) {
        auto n = std::min(piece_sizes[i % piece_sizes.size()], input.size() - at);
        buffer.append(input.substr(at, n));
        at += n;
        auto found = framer.scan(buffer);
        for_each_line(std::string_view(buffer).substr(0, found.complete),
                      [&](std::string_view line) { r.lines.emplace_back(line); });
        buffer.erase(0, found.complete);
        framer.consume(found.complete);
        EXPECT_EQ(framer.partial(), buffer.size());
        if (found.too_long) {
            r.too_long = true;
            break;
        }
    }
    r.left = buffer;
    return r;
}

std::vector<std::string> split_lines(std::string_view input)
{
    std::vector<std::string> out;
    for_each_line(input, [&](std::string_view l) { out.emplace_back(l); });
    return out;
}

} // namespace

TEST(LineFramer, EmptyInputHasNoLines)
{
    line_framer framer(16);
    auto r = framer.scan("");
    EXPECT_EQ(r.complete, 0U);
    EXPECT_FALSE(r.too_long);
    EXPECT_EQ(framer.partial(), 0U);
}

TEST(LineFramer, EmptyLineIsALine)
{
    line_framer framer(16);
    auto r = framer.scan("\n\n");
    EXPECT_EQ(r.complete, 2U);
    EXPECT_FALSE(r.too_long);
}

TEST(LineFramer, CompleteCoversOnlyWholeLines)
{
    line_framer framer(64);
    auto r = framer.scan("one\ntwo\nthr");
    EXPECT_EQ(r.complete, 8U); // "one\ntwo\n"
    EXPECT_FALSE(r.too_long);
    EXPECT_EQ(framer.partial(), 3U); // "thr"
}

// Feed the buffer growing one byte at a time, as if every byte came in its
// own read: at every length, `complete` is the end of the last "\n" so far.
TEST(LineFramer, GrowingOneByteAtATime)
{
    std::string const input = "alpha\n\nbeta gamma\nd\nlast without newline";
    line_framer framer(64);
    for (std::size_t len = 0; len <= input.size(); ++len) {
        std::string_view prefix(input.data(), len);
        auto r = framer.scan(prefix);
        auto nl = prefix.rfind('\n');
        std::size_t expected = nl == std::string_view::npos ? 0 : nl + 1;
        EXPECT_EQ(r.complete, expected) << "after " << len << " bytes";
        EXPECT_FALSE(r.too_long) << "after " << len << " bytes";
        EXPECT_EQ(framer.partial(), len - expected);
    }
}

// Every way of cutting the input in two reads, and every piece size from 1
// to the whole input, gives the same lines as the input split at once.
TEST(LineFramer, SplitAtEveryByteBoundary)
{
    std::string const input = "GET /a\nsecond line\n\n\nx\nno-newline-tail";
    auto const expected = split_lines(input.substr(0, input.rfind('\n') + 1));
    std::string const tail = "no-newline-tail";

    for (std::size_t cut = 0; cut <= input.size(); ++cut) {
        auto r = feed_in_pieces(input, {cut == 0 ? input.size() : cut, input.size()}, 64);
        EXPECT_EQ(r.lines, expected) << "cut at " << cut;
        EXPECT_EQ(r.left, tail) << "cut at " << cut;
        EXPECT_FALSE(r.too_long);
    }
    for (std::size_t piece = 1; piece <= input.size(); ++piece) {
        auto r = feed_in_pieces(input, {piece}, 64);
        EXPECT_EQ(r.lines, expected) << "pieces of " << piece;
        EXPECT_EQ(r.left, tail) << "pieces of " << piece;
    }
    // Irregular piece sizes, so that "\n" lands at the start, middle and end of reads.
    auto r = feed_in_pieces(input, {3, 1, 7, 2, 5}, 64);
    EXPECT_EQ(r.lines, expected);
}

// Every pair of cut points: three reads.
TEST(LineFramer, SplitIntoThreeReadsEverywhere)
{
    std::string const input = "ab\ncde\n\nfghij\nk\n";
    auto const expected = split_lines(input);
    for (std::size_t i = 0; i <= input.size(); ++i) {
        for (std::size_t j = i; j <= input.size(); ++j) {
            line_framer framer(8);
            std::string buffer;
            std::vector<std::string> got;
            for (auto [from, to] : {std::pair{std::size_t{0}, i}, std::pair{i, j}, std::pair{j, input.size()}}) {
                buffer.append(input, from, to - from);
                auto found = framer.scan(buffer);
                ASSERT_FALSE(found.too_long);
                for_each_line(std::string_view(buffer).substr(0, found.complete),
                              [&](std::string_view l) { got.emplace_back(l); });
                buffer.erase(0, found.complete);
                framer.consume(found.complete);
            }
            EXPECT_EQ(got, expected) << "cuts at " << i << " and " << j;
            EXPECT_TRUE(buffer.empty());
        }
    }
}

TEST(LineFramer, LineSpanningManyReads)
{
    std::string line(10'000, 'x');
    for (std::size_t i = 0; i < line.size(); ++i) line[i] = static_cast<char>('a' + i % 26);
    std::string const input = line + "\nnext\n";
    for (std::size_t piece : {1UL, 7UL, 100UL, 4096UL}) {
        auto r = feed_in_pieces(input, {piece}, 10'000);
        ASSERT_EQ(r.lines.size(), 2U) << "pieces of " << piece;
        EXPECT_EQ(r.lines[0], line + "\n");
        EXPECT_EQ(r.lines[1], "next\n");
        EXPECT_FALSE(r.too_long);
    }
}

TEST(LineFramer, LineOfExactlyMaxLineIsAccepted)
{
    constexpr std::size_t max = 10;
    std::string const line(max, 'a');
    line_framer framer(max);
    auto r = framer.scan(line + "\n");
    EXPECT_FALSE(r.too_long);
    EXPECT_EQ(r.complete, max + 1);
}

TEST(LineFramer, LineOneByteOverMaxLineIsTooLong)
{
    constexpr std::size_t max = 10;
    std::string const line(max + 1, 'a');
    line_framer framer(max);
    auto r = framer.scan(line + "\n");
    EXPECT_TRUE(r.too_long);
    EXPECT_EQ(r.complete, 0U);
}

// A partial line is judged as soon as it holds max_line + 1 bytes: the
// server need not buffer more to know it will refuse it.
TEST(LineFramer, PartialLineTooLongBeforeItsNewline)
{
    constexpr std::size_t max = 10;
    line_framer framer(max);
    std::string buffer;
    for (std::size_t len = 1; len <= max; ++len) {
        buffer.push_back('a');
        EXPECT_FALSE(framer.scan(buffer).too_long) << len << " bytes";
    }
    buffer.push_back('a'); // max + 1 bytes, no "\n" yet
    EXPECT_TRUE(framer.scan(buffer).too_long);
}

TEST(LineFramer, AtAndPastTheLimitAtEveryBoundary)
{
    constexpr std::size_t max = 6;
    std::string const ok = std::string(max, 'o') + "\n";
    std::string const bad = std::string(max + 1, 'b') + "\n";
    for (std::size_t piece = 1; piece <= ok.size() + bad.size(); ++piece) {
        auto r = feed_in_pieces(ok + ok + bad + ok, {piece}, max);
        EXPECT_TRUE(r.too_long) << "pieces of " << piece;
        // The lines before the long one were framed (and would be answered).
        EXPECT_EQ(r.lines, (std::vector<std::string>{ok, ok})) << "pieces of " << piece;
    }
}

TEST(LineFramer, CompleteLinesBeforeATooLongOneAreReported)
{
    line_framer framer(3);
    auto r = framer.scan("abc\nde\ntoolong\n");
    EXPECT_TRUE(r.too_long);
    EXPECT_EQ(r.complete, 7U); // "abc\nde\n"
}

TEST(LineFramer, ConsumeKeepsThePartialLine)
{
    line_framer framer(64);
    std::string buffer = "one\ntw";
    auto r = framer.scan(buffer);
    ASSERT_EQ(r.complete, 4U);
    buffer.erase(0, r.complete);
    framer.consume(r.complete);
    EXPECT_EQ(framer.partial(), 2U);
    // Nothing new: nothing more is complete.
    EXPECT_EQ(framer.scan(buffer).complete, 0U);
    buffer += "o\nthree\n";
    r = framer.scan(buffer);
    EXPECT_EQ(r.complete, buffer.size());
    EXPECT_EQ(split_lines(std::string_view(buffer).substr(0, r.complete)),
              (std::vector<std::string>{"two\n", "three\n"}));
    framer.consume(r.complete);
    EXPECT_EQ(framer.partial(), 0U);
}

// consume() of only part of the complete lines (the caller may answer fewer).
TEST(LineFramer, ConsumeFewerThanComplete)
{
    line_framer framer(64);
    std::string buffer = "a\nbb\nccc\n";
    auto r = framer.scan(buffer);
    ASSERT_EQ(r.complete, 9U);
    buffer.erase(0, 2);
    framer.consume(2);
    // The lines already seen are still complete, relative to the new front.
    r = framer.scan(buffer);
    EXPECT_EQ(r.complete, 7U);
    EXPECT_FALSE(r.too_long);
}

// The limit applies per line: after consuming, a new line gets the whole budget.
TEST(LineFramer, LimitIsPerLineNotPerBuffer)
{
    constexpr std::size_t max = 4;
    std::string const line = "abcd\n";
    std::string input;
    for (int i = 0; i < 50; ++i) input += line;
    auto r = feed_in_pieces(input, {3}, max);
    EXPECT_FALSE(r.too_long);
    EXPECT_EQ(r.lines.size(), 50U);
    // Even without consuming: many lines in one buffer are each within the limit.
    line_framer framer(max);
    auto whole = framer.scan(input);
    EXPECT_FALSE(whole.too_long);
    EXPECT_EQ(whole.complete, input.size());
}

TEST(LineFramer, MaxLineIsReported)
{
    EXPECT_EQ(line_framer(123).max_line(), 123U);
    static_assert(line_framer(5).max_line() == 5); // constexpr, no sockets
}

TEST(ForEachLine, KeepsTheNewlineAndTheTail)
{
    EXPECT_EQ(split_lines("a\nb\n"), (std::vector<std::string>{"a\n", "b\n"}));
    EXPECT_EQ(split_lines("a\n\nb"), (std::vector<std::string>{"a\n", "\n", "b"}));
    EXPECT_EQ(split_lines("no newline"), (std::vector<std::string>{"no newline"}));
}

TEST(ForEachLine, EmptyInputCallsNothing)
{
    int calls = 0;
    for_each_line("", [&](std::string_view) { ++calls; });
    EXPECT_EQ(calls, 0);
}

TEST(ForEachLine, BytesArePreserved)
{
    std::string const input("\0\r\xff\n\t \n", 7);
    auto lines = split_lines(input);
    ASSERT_EQ(lines.size(), 2U);
    EXPECT_EQ(lines[0], std::string("\0\r\xff\n", 4));
    EXPECT_EQ(lines[1], "\t \n");
}
