// SPDX-License-Identifier: BSL-1.0
// --protocol stream: every byte up to the client's half-close is hashed, and
// the reply is one digest line. Digests are checked against references
// computed in the test (tests/support/reference.hpp), not through hashsrv.
#include "http.hpp"
#include "payload.hpp"
#include "process.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "sockets.hpp"
#include "text.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace test_support;

namespace {

/// Sends `total` deterministic bytes in `piece`-sized sends, half-closes,
/// and returns the reply; the sending runs in its own thread so that the
/// server may answer (or refuse) while the upload is still going.
struct upload_result {
    read_result reply;
    std::string sent_digest; // FNV-1a of the bytes sent, computed as they went
    bool send_ok = false;
};

upload_result upload(std::uint16_t port, std::size_t total, std::size_t piece, std::chrono::milliseconds limit)
{
    upload_result r;
    auto fd = connect_to(port);
    if (!fd) return r;
    std::uint64_t h = fnv1a_basis;
    auto write = [&](int out) {
        byte_source src(total);
        std::string buf(piece, '\0');
        r.send_ok = true;
        for (std::size_t sent = 0; sent < total && r.send_ok; sent += piece) {
            auto n = std::min(piece, total - sent);
            src.fill(buf.data(), n);
            std::string_view chunk(buf.data(), n);
            h = reference_fnv1a(chunk, h);
            r.send_ok = send_all(out, chunk);
        }
    };
    r.reply = write_while_reading(fd.get(), write, limit);
    r.sent_digest = hex16(h);
    return r;
}

} // namespace

TEST(StreamProtocol, NetcatSession)
{
    ASSERT_TRUE(have_command("nc")) << "nc missing: scripts/install-deps.sh test installs netcat-openbsd";
    server_process srv({"--protocol", "stream"});
    auto port = std::to_string(srv.port());
    // nc -q1 half-closes at the end of its input, which ends the stream.
    EXPECT_EQ(shell_output("echo \"hello world\" | nc -q1 127.0.0.1 " + port), "782e1488cd5a68b7\n");
}

// `nc -N host port < file` gives the FNV-1a of the file (the README's example).
TEST(StreamProtocol, NetcatFileUpload)
{
    ASSERT_TRUE(have_command("nc")) << "nc missing: scripts/install-deps.sh test installs netcat-openbsd";
    server_process srv({"--protocol", "stream"});
    char path[] = "/tmp/hash_server_upload_XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    auto data = byte_source(7).bytes(3 * 1024 * 1024 + 17);
    ASSERT_TRUE(::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    ::close(fd);
    auto out = shell_output("nc -N 127.0.0.1 " + std::to_string(srv.port()) + " < " + path);
    ::unlink(path);
    EXPECT_EQ(out, reference_digest("fnv1a", data));
}

// 256 MiB of pseudo-random bytes, made and hashed by the test as they are
// sent: the state carries across every chunk the server reads.
TEST(StreamProtocol, QuarterGigabyteMatchesAnIndependentDigest)
{
    constexpr std::size_t total = 256U << 20;
    server_process srv({"--protocol", "stream"});
    auto r = upload(srv.port(), total, 1 << 20, 240s);
    ASSERT_TRUE(r.send_ok);
    ASSERT_FALSE(r.reply.timeout) << "no reply within the hang limit";
    EXPECT_EQ(r.reply.data, r.sent_digest + "\n");
    EXPECT_TRUE(r.reply.eof);
    // Bounded memory: the server never held the stream (half of it would be 128 MiB).
    EXPECT_LT(srv.rss_kib(), 128U * 1024) << "server RSS after a 256 MiB stream";
}

// Odd send sizes, so the server's reads cut the stream at arbitrary places.
TEST(StreamProtocol, OddSizedSendsGiveTheWholeDigest)
{
    server_process srv({"--protocol", "stream"});
    for (std::size_t piece : {1UL, 4095UL, 65537UL}) {
        std::size_t total = piece == 1 ? 3000 : 1'000'003;
        auto r = upload(srv.port(), total, piece, 60s);
        EXPECT_EQ(r.reply.data, r.sent_digest + "\n") << "pieces of " << piece;
    }
}

// Several chunks in flight on a 4-thread pool, and reads small enough to be
// hashed inline in between: the digest holds only if every chunk is hashed
// in order, once (src/pool/hash_pipeline.hpp).
TEST(StreamProtocol, PipelinedChunksStayInOrderWithInlineOnesBetween)
{
    server_process srv({"--protocol", "stream", "--threads", "4", "--chunk-size", "4K", "--inline-below", "2K"});
    for (std::size_t piece : {1000UL, 3000UL, 4096UL, 70001UL}) {
        auto r = upload(srv.port(), 8'000'017, piece, 120s);
        EXPECT_EQ(r.reply.data, r.sent_digest + "\n") << "pieces of " << piece;
    }
}

// With --chunk-size 64M a 64 MiB upload is one hash job on a one-thread
// pool. A small request that comes while that job is queued or running
// still gets its reply (the job yields to the pool's queue every
// --pool-slice: include/hashsrv/time_slice.hpp), and the upload its digest.
TEST(StreamProtocol, ProbeIsAnsweredWhileA64MiBChunkIsHashed)
{
    server_process srv({"--protocol", "stream", "--chunk-size", "64M", "--threads", "1"});
    auto data = byte_source(11).bytes(64U << 20);
    auto upload_fd = connect_to(srv.port());
    ASSERT_TRUE(upload_fd);
    // Returns once the kernel took the last byte: the server has read most
    // of the chunk by then, and hashes it as soon as it is full.
    ASSERT_TRUE(send_all(upload_fd.get(), data));
    auto probe = connect_to(srv.port());
    ASSERT_TRUE(probe);
    ASSERT_TRUE(send_all(probe.get(), "hello world\n"));
    shutdown_write(probe.get());
    EXPECT_EQ(read_until_eof(probe.get(), 60s).data, "782e1488cd5a68b7\n");
    shutdown_write(upload_fd.get());
    auto r = read_until_eof(upload_fd.get(), 120s);
    EXPECT_EQ(r.data, reference_digest("fnv1a", data));
}

TEST(StreamProtocol, HelloWorldAndPlainRequests)
{
    server_process srv({"--protocol", "stream"});
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    // Unlike oneshot, a message larger than 4096 bytes is hashed whole.
    auto payload = byte_source(5000).bytes(5000);
    EXPECT_EQ(request(srv.port(), payload), reference_digest("fnv1a", payload));
}

// An empty stream (connect, half-close at once) is a request for the digest
// of the empty input: the session waits for the first readable event, and a
// FIN is one; reading then gives EOF with zero bytes hashed.
TEST(StreamProtocol, EmptyStreamGetsTheDigestOfNothing)
{
    server_process srv({"--protocol", "stream"});
    EXPECT_EQ(request(srv.port(), ""), "cbf29ce484222325\n");
    server_process xxh({"--protocol", "stream", "--hash", "xxh3"});
    EXPECT_EQ(request(xxh.port(), ""), "2d06800538d394c2\n");
}

TEST(StreamProtocol, Xxh3AndSha256OverTheWire)
{
    auto data = byte_source(99).bytes(2 * 1024 * 1024 + 3);
    for (std::string alg : {"xxh3", "sha256"}) {
        server_process srv({"--protocol", "stream", "--hash", alg});
        EXPECT_EQ(request(srv.port(), "abc"), reference_digest(alg, "abc")) << alg;
        // In uneven pieces, so the library state must carry across reads.
        auto fd = connect_to(srv.port());
        ASSERT_TRUE(fd);
        auto growing = [piece = std::size_t{1}]() mutable {
            auto n = piece % 100'000 + 1;
            piece = piece * 3 + 1;
            return n;
        };
        auto reply = write_while_reading(fd.get(), [&](int out) { send_in_pieces(out, data, growing); }, 60s);
        EXPECT_EQ(reply.data, reference_digest(alg, data)) << alg;
    }
    EXPECT_EQ(reference_hex("sha256", "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(reference_hex("xxh3", "abc"), "78af5f94892f3950");
}

TEST(StreamProtocol, MaxStreamBytesExactlyAtTheLimitIsServed)
{
    server_process srv({"--protocol", "stream", "--max-stream-bytes", "1000"});
    auto payload = byte_source(1).bytes(1000);
    EXPECT_EQ(request(srv.port(), payload), reference_digest("fnv1a", payload));
    // The limit is on the total, not on one read: 1000 bytes in many sends.
    auto r = upload(srv.port(), 1000, 7, 20s);
    EXPECT_EQ(r.reply.data, r.sent_digest + "\n");
}

TEST(StreamProtocol, MaxStreamBytesOnePastTheLimitIsRefused)
{
    server_process srv({"--protocol", "stream", "--max-stream-bytes", "1000"});
    auto fd = connect_to(srv.port());
    ASSERT_TRUE(fd);
    ASSERT_TRUE(send_all(fd.get(), byte_source(2).bytes(1001)));
    shutdown_write(fd.get());
    auto r = read_until_eof(fd.get(), 20s);
    EXPECT_EQ(r.data.rfind("ERR ", 0), 0U) << r.data;
    ASSERT_FALSE(r.data.empty());
    EXPECT_EQ(r.data.back(), '\n');
    EXPECT_EQ(split_lines(r.data).size(), 1U) << "one ERR line and nothing else: " << r.data;
    EXPECT_TRUE(r.eof) << "the connection closes after the ERR line";
    // Over the limit in several sends, without half-closing: the server ends it.
    auto r2 = upload(srv.port(), 1001, 100, 20s);
    EXPECT_EQ(r2.reply.data.rfind("ERR ", 0), 0U) << r2.reply.data;
    // The server goes on serving.
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
}

TEST(StreamProtocol, MaxStreamBytesTakesSuffixes)
{
    server_process srv({"--protocol", "stream", "--max-stream-bytes", "1K"});
    EXPECT_EQ(request(srv.port(), std::string(1024, 'x')), reference_digest("fnv1a", std::string(1024, 'x')));
    EXPECT_EQ(request(srv.port(), std::string(1025, 'x')).rfind("ERR ", 0), 0U);
}

// A client far over the limit, still sending when the server gives up on it:
// its connection ends (ERR line, or a reset if unread data was left behind)
// and nobody else notices.
TEST(StreamProtocol, FarOverTheLimitEndsOnlyThatConnection)
{
    server_process srv({"--protocol", "stream", "--max-stream-bytes", "4K"});
    auto r = upload(srv.port(), 8U << 20, 64 * 1024, 60s);
    EXPECT_FALSE(r.reply.timeout);
    if (!r.reply.data.empty()) {
        EXPECT_EQ(r.reply.data.rfind("ERR ", 0), 0U) << r.reply.data;
    }
    EXPECT_EQ(request(srv.port(), "test data 123\n"), "daf63590896c6e23\n");
    EXPECT_TRUE(srv.running());
}

// A paced upload is hashed as it arrives: with a 16 MiB chunk, 2 MiB sent in
// eight pauses goes to the pool in several pieces (each at least a
// --pool-slice), not in one job once the client ends; with --pool-slice 0
// (jobs run to completion) the chunk stays whole. The digest is the same.
TEST(StreamProtocol, APacedUploadIsHashedAsItArrives)
{
    auto hops_for = [](std::vector<std::string> args) {
        args.insert(args.end(), {"--protocol", "stream", "--chunk-size", "16M", "--metrics-port", "0"});
        server_process srv(args);
        auto const mport = metrics_port(srv);
        auto fd = connect_to(srv.port());
        EXPECT_TRUE(fd);
        auto data = byte_source(5).bytes(2U << 20);
        for (std::size_t at = 0; at < data.size(); at += 256 * 1024) {
            EXPECT_TRUE(send_all(fd.get(), std::string_view(data).substr(at, 256 * 1024)));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        shutdown_write(fd.get());
        EXPECT_EQ(read_until_eof(fd.get(), 60s).data, reference_digest("fnv1a", data));
        return sample(scrape(mport), "hash_server_hops_total");
    };
    EXPECT_GE(hops_for({}), 2) << "a paced upload waited to fill its whole chunk";
    EXPECT_EQ(hops_for({"--pool-slice", "0"}), 1) << "jobs run to completion were cut into pieces";
}
