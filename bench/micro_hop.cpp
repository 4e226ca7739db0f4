// SPDX-License-Identifier: BSL-1.0
// The cost of one hop (run_on to a thread_pool and back to the session's
// strand) against hashing inline on the io thread, for each algorithm and
// input size: where the two meet is the crossover for --inline-below.
#include <hashsrv/hash/hasher.hpp>
#include <hashsrv/run_on.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
using hashsrv::algorithm;

// The same shape as the server's oneshot task (src/protocols/digests.hpp).
asio::awaitable<std::string> digest_reply(algorithm a, std::string_view message)
{
    std::string out;
    out.reserve(hashsrv::hasher::hex_size(a) + 1);
    hashsrv::append_hex_digest_of(out, a, message);
    out.push_back('\n');
    co_return out;
}

asio::awaitable<void> hop_loop(benchmark::State& state, asio::thread_pool::executor_type pool, algorithm a,
                               std::string_view data, bool hop)
{
    for (auto _ : state) {
        // Two statements, not `hop ? co_await x : co_await y`: g++ 12
        // double-frees the std::string of a co_await inside ?:.
        std::string reply;
        if (hop) reply = co_await hashsrv::run_on(pool, digest_reply(a, data));
        else reply = co_await digest_reply(a, data);
        benchmark::DoNotOptimize(reply.data());
    }
}

void run(benchmark::State& state, algorithm a, bool hop)
{
    std::string data(static_cast<std::size_t>(state.range(0)), 'x');
    asio::io_context ioc; // before the pool: the pool's jobs resume on it
    asio::thread_pool pool(1);
    asio::co_spawn(asio::make_strand(ioc), hop_loop(state, pool.get_executor(), a, data, hop), asio::detached);
    ioc.run();
    pool.join();
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void inline_hash(benchmark::State& s, algorithm a) { run(s, a, false); }
void hop(benchmark::State& s, algorithm a) { run(s, a, true); }

} // namespace

// Process CPU time: the hop costs CPU on the io thread and on a pool thread.
#define HOP_SIZES RangeMultiplier(4)->Range(16, 64 << 10)->MeasureProcessCPUTime()->UseRealTime()
BENCHMARK_CAPTURE(inline_hash, fnv1a, algorithm::fnv1a)->HOP_SIZES;
BENCHMARK_CAPTURE(hop, fnv1a, algorithm::fnv1a)->HOP_SIZES;
BENCHMARK_CAPTURE(inline_hash, xxh3, algorithm::xxh3)->HOP_SIZES;
BENCHMARK_CAPTURE(hop, xxh3, algorithm::xxh3)->HOP_SIZES;
BENCHMARK_CAPTURE(inline_hash, sha256, algorithm::sha256)->HOP_SIZES;
BENCHMARK_CAPTURE(hop, sha256, algorithm::sha256)->HOP_SIZES;

BENCHMARK_MAIN();
