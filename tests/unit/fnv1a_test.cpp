// SPDX-License-Identifier: BSL-1.0
#include <hashsrv/hash/fnv1a.hpp>
#include <hashsrv/hex.hpp>

#include <gtest/gtest.h>

#include <string>

using hashsrv::fnv1a64;
using hashsrv::to_hex;

TEST(Fnv1a, TutorialVectors)
{
    EXPECT_EQ(to_hex(fnv1a64::hash("hello world\n")), "782e1488cd5a68b7");
    EXPECT_EQ(to_hex(fnv1a64::hash("test data 123\n")), "daf63590896c6e23");
}

TEST(Fnv1a, EmptyInputIsTheOffsetBasis)
{
    EXPECT_EQ(fnv1a64::hash(""), 14695981039346656037ULL);
    EXPECT_EQ(to_hex(fnv1a64::hash("")), "cbf29ce484222325");
}

// Vectors from the FNV reference test suite (Landon Curt Noll's fnv test_fnv.c, FNV-1a 64).
TEST(Fnv1a, ReferenceVectors)
{
    EXPECT_EQ(fnv1a64::hash("a"), 0xaf63dc4c8601ec8cULL);
    EXPECT_EQ(fnv1a64::hash("b"), 0xaf63df4c8601f1a5ULL);
    EXPECT_EQ(fnv1a64::hash("foobar"), 0x85944171f73967e8ULL);
    EXPECT_EQ(fnv1a64::hash("chongo was here!\n"), 0x46810940eff5f915ULL);
}

TEST(Fnv1a, StreamingEqualsWhole)
{
    std::string data;
    for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
    for (std::size_t split : {0UL, 1UL, 17UL, 500UL, 999UL, 1000UL}) {
        fnv1a64 h;
        h.update(std::string_view(data).substr(0, split));
        h.update(std::string_view(data).substr(split));
        EXPECT_EQ(h.digest(), fnv1a64::hash(data)) << "split at " << split;
    }
}

TEST(Fnv1a, HighBytesAreUnsigned)
{
    // A signed char would sign-extend 0xff before the xor.
    EXPECT_EQ(fnv1a64::hash("\xff"), (fnv1a64::basis ^ 0xffULL) * fnv1a64::prime);
}

TEST(Fnv1a, IsConstexpr)
{
    static_assert(fnv1a64::hash("") == fnv1a64::basis);
    SUCCEED();
}
