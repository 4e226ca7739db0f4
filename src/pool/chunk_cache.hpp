// SPDX-License-Identifier: BSL-1.0
// Chunk buffers kept for the next upload. A stream upload needs up to three
// --chunk-size buffers and every upload is a new connection: allocated fresh
// each time, a large chunk comes from mmap or from a heap that glibc has
// trimmed since, so the I/O thread's recv page-faults it in again, 4 KiB at a
// time, while every other connection waits. Buffers given back here reach
// the next upload already mapped. Shared by the I/O threads and the pool (a
// pipeline can end on either), so guarded by a mutex; holds at most a budget
// of bytes, and at least one buffer.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace hashsrv {

class chunk_cache {
public:
    /// Caches at most `budget` bytes of `size`-byte buffers, and at least one.
    chunk_cache(std::size_t size, std::size_t budget) : size_(size), keep_(budget / size > 0 ? budget / size : 1) {}

    std::size_t size() const noexcept { return size_; }

    /// A buffer of size() bytes, contents unspecified.
    std::unique_ptr<char[]> take()
    {
        {
            std::lock_guard lock(m_);
            if (!free_.empty()) {
                auto b = std::move(free_.back());
                free_.pop_back();
                return b;
            }
        }
        return std::make_unique_for_overwrite<char[]>(size_);
    }

    /// Takes back a buffer of size() bytes (from take()); freed when the cache is full.
    void give(std::unique_ptr<char[]> b)
    {
        if (!b) return;
        std::lock_guard lock(m_);
        if (free_.size() < keep_) free_.push_back(std::move(b));
    }

private:
    std::size_t size_;
    std::size_t keep_;
    std::mutex m_;
    std::vector<std::unique_ptr<char[]>> free_;
};

} // namespace hashsrv
