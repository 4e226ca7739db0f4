// SPDX-License-Identifier: BSL-1.0
// A latency histogram with HDR-style log buckets: values below 2^sub_bits
// are exact, larger ones keep their top sub_bits+1 significant bits, so
// every recorded value is known to within 1/2^sub_bits (under 1%) in a fixed
// few KiB, however many samples arrive. Percentiles come from the buckets,
// never from a sorted array of samples.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace hashsrv::bench {

class histogram {
public:
    static constexpr unsigned sub_bits = 7;
    static constexpr std::uint64_t sub_count = 1u << sub_bits;
    static constexpr std::size_t bucket_count = (64 - sub_bits + 1) * sub_count;

    void record(std::uint64_t v) noexcept
    {
        ++buckets_[index_of(v)];
        ++count_;
        max_ = std::max(max_, v);
        min_ = std::min(min_, v);
        sum_ += static_cast<double>(v);
    }

    void merge(histogram const& o) noexcept
    {
        for (std::size_t i = 0; i < bucket_count; ++i) buckets_[i] += o.buckets_[i];
        count_ += o.count_;
        max_ = std::max(max_, o.max_);
        min_ = std::min(min_, o.min_);
        sum_ += o.sum_;
    }

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t max() const noexcept { return count_ ? max_ : 0; }
    double mean() const noexcept { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }

    /// The value at quantile q (0..1): the middle of the bucket holding the
    /// ceil(q * count)-th smallest sample, clamped to the recorded extremes.
    std::uint64_t percentile(double q) const noexcept
    {
        if (count_ == 0) return 0;
        auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
        rank = std::clamp<std::uint64_t>(rank, 1, count_);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < bucket_count; ++i) {
            seen += buckets_[i];
            if (seen >= rank) {
                auto mid = lowest_of(i) + (width_of(i) - 1) / 2;
                return std::clamp(mid, min_, max_);
            }
        }
        return max_;
    }

    static std::size_t index_of(std::uint64_t v) noexcept
    {
        if (v < sub_count) return static_cast<std::size_t>(v);
        unsigned e = static_cast<unsigned>(std::bit_width(v)) - 1; // >= sub_bits
        std::uint64_t mantissa = v >> (e - sub_bits);             // in [sub_count, 2*sub_count)
        return static_cast<std::size_t>((e - sub_bits + 1) * sub_count + (mantissa - sub_count));
    }

    static std::uint64_t lowest_of(std::size_t i) noexcept
    {
        if (i < sub_count) return i;
        std::uint64_t block = i / sub_count; // e - sub_bits + 1
        std::uint64_t mantissa = sub_count + i % sub_count;
        return mantissa << (block - 1);
    }

    static std::uint64_t width_of(std::size_t i) noexcept
    {
        return i < sub_count ? 1 : std::uint64_t{1} << (i / sub_count - 1);
    }

private:
    std::array<std::uint64_t, bucket_count> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    double sum_ = 0;
};

} // namespace hashsrv::bench
