// SPDX-License-Identifier: BSL-1.0
#include <hashsrv/hex.hpp>

#include <gtest/gtest.h>

#include <array>

using hashsrv::to_hex;

TEST(Hex, SixteenLowercaseDigitsWithLeadingZeros)
{
    EXPECT_EQ(to_hex(std::uint64_t{0}), "0000000000000000");
    EXPECT_EQ(to_hex(std::uint64_t{1}), "0000000000000001");
    EXPECT_EQ(to_hex(std::uint64_t{0xABCDEF}), "0000000000abcdef");
    EXPECT_EQ(to_hex(~std::uint64_t{0}), "ffffffffffffffff");
    EXPECT_EQ(to_hex(std::uint64_t{0x0123456789abcdefULL}), "0123456789abcdef");
}

TEST(Hex, BytesInOrder)
{
    std::array<unsigned char, 4> b{0x00, 0x0f, 0xa0, 0xff};
    EXPECT_EQ(to_hex(std::span<const unsigned char>(b)), "000fa0ff");
    EXPECT_EQ(to_hex(std::span<const unsigned char>{}), "");
}

TEST(Hex, AppendKeepsWhatWasThere)
{
    std::string s = "x";
    hashsrv::append_hex(s, std::uint64_t{0x10});
    EXPECT_EQ(s, "x0000000000000010");
}
