// SPDX-License-Identifier: BSL-1.0
// The `stream` framing on its own: hashsrv::framing::stream_limit counts the
// bytes of an upload against --max-stream-bytes. add() stays true while the
// total is <= the limit, so a stream of exactly max bytes is accepted.
#include <hashsrv/framing/stream.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

using hashsrv::framing::stream_limit;

TEST(StreamLimit, ExactlyAtTheLimitIsAccepted)
{
    stream_limit limit(1000);
    EXPECT_TRUE(limit.add(400));
    EXPECT_TRUE(limit.add(600));
    EXPECT_EQ(limit.total(), 1000U);
}

TEST(StreamLimit, OnePastTheLimitIsRefused)
{
    stream_limit limit(1000);
    EXPECT_TRUE(limit.add(1000));
    EXPECT_FALSE(limit.add(1));
    EXPECT_EQ(limit.total(), 1001U);
}

TEST(StreamLimit, OneReadPastTheLimitIsRefused)
{
    stream_limit limit(1000);
    EXPECT_FALSE(limit.add(1001));
}

TEST(StreamLimit, EveryReadSizeAgreesWithTheTotal)
{
    // However the stream is cut into reads, the verdict depends on the total only.
    for (std::uint64_t read = 1; read <= 40; ++read) {
        stream_limit limit(100);
        std::uint64_t sent = 0;
        bool ok = true;
        while (ok && sent < 140) {
            ok = limit.add(read);
            sent += read;
            EXPECT_EQ(ok, sent <= 100) << "reads of " << read << ", " << sent << " bytes";
        }
        EXPECT_FALSE(ok);
    }
}

TEST(StreamLimit, EmptyReadsCountNothing)
{
    stream_limit limit(0);
    EXPECT_TRUE(limit.add(0));
    EXPECT_EQ(limit.total(), 0U);
    EXPECT_FALSE(limit.add(1));
}

TEST(StreamLimit, UnlimitedByDefault)
{
    stream_limit limit;
    EXPECT_EQ(limit.max(), stream_limit::unlimited);
    // 16 EiB in 1 GiB steps would take forever; big steps prove the point.
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limit.add(std::uint64_t{1} << 50));
    EXPECT_EQ(limit.total(), 1000 * (std::uint64_t{1} << 50));
}

TEST(StreamLimit, TotalSaturatesInsteadOfWrapping)
{
    stream_limit limit(1000);
    EXPECT_FALSE(limit.add(std::numeric_limits<std::uint64_t>::max()));
    EXPECT_EQ(limit.total(), stream_limit::unlimited);
    // A wrap-around would bring the total back under the limit.
    EXPECT_FALSE(limit.add(5000));
    EXPECT_EQ(limit.total(), stream_limit::unlimited);
}

TEST(StreamLimit, SaturationNearTheTop)
{
    stream_limit limit(stream_limit::unlimited - 1);
    EXPECT_TRUE(limit.add(stream_limit::unlimited - 1)); // exactly at the limit
    EXPECT_FALSE(limit.add(1));                           // one past
    EXPECT_FALSE(limit.add(stream_limit::unlimited));     // would overflow: saturates
    EXPECT_EQ(limit.total(), stream_limit::unlimited);
}

TEST(StreamLimit, UnlimitedNeverRefusesEvenWhenSaturated)
{
    stream_limit limit;
    EXPECT_TRUE(limit.add(stream_limit::unlimited));
    EXPECT_TRUE(limit.add(stream_limit::unlimited));
    EXPECT_EQ(limit.total(), stream_limit::unlimited);
}

TEST(StreamLimit, IsConstexpr)
{
    constexpr bool at = [] {
        stream_limit l(10);
        return l.add(10);
    }();
    constexpr bool past = [] {
        stream_limit l(10);
        l.add(10);
        return l.add(1);
    }();
    static_assert(at && !past);
    SUCCEED();
}
