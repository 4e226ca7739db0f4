// SPDX-License-Identifier: BSL-1.0
// Each hash in bytes/s for 16 B .. 1 MiB, through the server's own one-shot
// entry point (append_hex_digest_of) and through the streaming hasher.
#include <hashsrv/hash/hasher.hpp>

#include <benchmark/benchmark.h>

#include <string>

namespace {

using hashsrv::algorithm;

std::string input(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

void one_shot(benchmark::State& state, algorithm a)
{
    auto data = input(static_cast<std::size_t>(state.range(0)));
    std::string out;
    out.reserve(80);
    for (auto _ : state) {
        out.clear();
        hashsrv::append_hex_digest_of(out, a, data);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void streaming(benchmark::State& state, algorithm a)
{
    auto data = input(static_cast<std::size_t>(state.range(0)));
    hashsrv::hasher h(a);
    for (auto _ : state) {
        h.update(data);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

} // namespace

BENCHMARK_CAPTURE(one_shot, fnv1a, algorithm::fnv1a)->RangeMultiplier(4)->Range(16, 1 << 20);
BENCHMARK_CAPTURE(one_shot, xxh3, algorithm::xxh3)->RangeMultiplier(4)->Range(16, 1 << 20);
BENCHMARK_CAPTURE(one_shot, sha256, algorithm::sha256)->RangeMultiplier(4)->Range(16, 1 << 20);
BENCHMARK_CAPTURE(streaming, fnv1a, algorithm::fnv1a)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK_CAPTURE(streaming, xxh3, algorithm::xxh3)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK_CAPTURE(streaming, sha256, algorithm::sha256)->Arg(64 << 10)->Arg(1 << 20);

BENCHMARK_MAIN();
