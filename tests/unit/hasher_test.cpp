// SPDX-License-Identifier: BSL-1.0
// hashsrv::hasher (streaming) and append_hex_digest_of (one-shot) for the
// three algorithms, against published vectors:
//  - FNV-1a 64: the FNV reference suite (Landon Curt Noll's test_fnv.c);
//  - XXH3 64: "abc" and the empty input as `xxhsum -H3` prints them;
//  - SHA-256: FIPS 180-2 appendix B ("abc", the 448-bit two-block message,
//    one million 'a') plus the empty input and the 896-bit message.
#include "payload.hpp"
#include "reference.hpp"

#include <hashsrv/hash/hasher.hpp>

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hashsrv {
// Found by gtest through ADL: test listings name a parameter, not its bytes.
void PrintTo(algorithm a, std::ostream* os) { *os << to_string(a); }
} // namespace hashsrv

using hashsrv::algorithm;
using hashsrv::append_hex_digest_of;
using hashsrv::hasher;

namespace {

struct vector_case {
    algorithm alg;
    std::string input;
    std::string hex;
};

std::string const million_a(1'000'000, 'a');

std::vector<vector_case> const published = {
    {algorithm::fnv1a, "", "cbf29ce484222325"},
    {algorithm::fnv1a, "a", "af63dc4c8601ec8c"},
    {algorithm::fnv1a, "foobar", "85944171f73967e8"},
    {algorithm::fnv1a, "hello world\n", "782e1488cd5a68b7"},
    {algorithm::fnv1a, "test data 123\n", "daf63590896c6e23"},
    {algorithm::xxh3, "", "2d06800538d394c2"},
    {algorithm::xxh3, "abc", "78af5f94892f3950"},
    {algorithm::sha256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {algorithm::sha256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {algorithm::sha256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {algorithm::sha256,
     "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    {algorithm::sha256, million_a, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

std::string one_shot(algorithm a, std::string_view data)
{
    std::string out;
    append_hex_digest_of(out, a, data);
    return out;
}

std::string streamed(algorithm a, std::string_view data, std::size_t chunk)
{
    hasher h(a);
    while (!data.empty()) {
        auto n = std::min(chunk, data.size());
        h.update(data.substr(0, n));
        data.remove_prefix(n);
    }
    return h.hex_digest();
}

/// Deterministic bytes covering every value, long enough for XXH3's long-input
/// path (> 240 bytes, several 1 KiB stripes) and several SHA-256 blocks.
std::string pseudo_random(std::size_t n) { return test_support::byte_source(0x9e3779b97f4a7c15ULL).bytes(n); }

constexpr algorithm all[] = {algorithm::fnv1a, algorithm::xxh3, algorithm::sha256};

/// What a hasher's state goes through, once per algorithm.
class HasherState : public ::testing::TestWithParam<algorithm> {
protected:
    /// Whether `h` holds the digest of `data`: the one-shot call's, for the
    /// algorithm under test (not the one `h` says it has).
    ::testing::AssertionResult holds_digest_of(hasher const& h, std::string_view data) const
    {
        auto const got = h.hex_digest(), want = one_shot(GetParam(), data);
        if (got == want) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << to_string(GetParam()) << " digest " << got << ", but the digest of '"
                                             << data << "' is " << want;
    }
};

} // namespace

TEST(Hasher, PublishedVectorsStreaming)
{
    for (auto const& v : published) {
        hasher h(v.alg);
        h.update(v.input);
        EXPECT_EQ(h.hex_digest(), v.hex) << to_string(v.alg) << " of " << v.input.size() << " bytes";
    }
}

TEST(Hasher, PublishedVectorsOneShot)
{
    for (auto const& v : published)
        EXPECT_EQ(one_shot(v.alg, v.input), v.hex) << to_string(v.alg) << " of " << v.input.size() << " bytes";
}

TEST(Hasher, PublishedVectorsInOddSizedChunks)
{
    for (auto const& v : published)
        for (std::size_t chunk : {1UL, 3UL, 7UL, 63UL, 64UL, 65UL, 1021UL})
            EXPECT_EQ(streamed(v.alg, v.input, chunk), v.hex)
                << to_string(v.alg) << " of " << v.input.size() << " bytes in chunks of " << chunk;
}

// Beyond the vectors: long inputs cut at odd sizes equal the one-shot digest,
// which for XXH3 and SHA-256 is the library's own one-call function.
TEST(Hasher, StreamingEqualsOneShotOnLongInputs)
{
    for (std::size_t size : {0UL, 1UL, 239UL, 240UL, 241UL, 1024UL, 4096UL, 100'003UL}) {
        auto data = pseudo_random(size);
        for (auto a : all) {
            auto whole = one_shot(a, data);
            for (std::size_t chunk : {1UL, 13UL, 255UL, 4097UL, 65'537UL})
                EXPECT_EQ(streamed(a, data, chunk), whole)
                    << to_string(a) << ", " << size << " bytes in chunks of " << chunk;
        }
    }
}

// tests/support's references: libxxhash's and OpenSSL's one-call functions,
// and an FNV-1a loop that owes nothing to hashsrv.
TEST(Hasher, OneShotMatchesTheLibrariesDirectly)
{
    auto data = pseudo_random(5000);
    for (auto a : all) EXPECT_EQ(one_shot(a, data), test_support::reference_hex(to_string(a), data)) << to_string(a);
}

TEST(Hasher, DigestLengths)
{
    for (auto a : all) {
        auto hex = one_shot(a, "x");
        EXPECT_EQ(hex.size(), hasher::hex_size(a)) << to_string(a);
        EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
    }
    EXPECT_EQ(hasher::hex_size(algorithm::fnv1a), 16U);
    EXPECT_EQ(hasher::hex_size(algorithm::xxh3), 16U);
    EXPECT_EQ(hasher::hex_size(algorithm::sha256), 64U);
}

// The digest can be read mid-stream (SHA-256 finalises a copy) and the state goes on.
TEST_P(HasherState, DigestMidStreamDoesNotDisturbTheState)
{
    hasher h(GetParam());
    h.update("ab");
    EXPECT_TRUE(holds_digest_of(h, "ab"));
    h.update("c");
    EXPECT_TRUE(holds_digest_of(h, "abc"));
}

TEST_P(HasherState, ResetStartsOver)
{
    hasher h(GetParam());
    h.update("something else entirely");
    h.reset();
    EXPECT_TRUE(holds_digest_of(h, ""));
    h.update("abc");
    EXPECT_TRUE(holds_digest_of(h, "abc"));
}

TEST_P(HasherState, EmptyUpdatesChangeNothing)
{
    hasher h(GetParam());
    for (std::string_view piece : {"", "a", "", "bc"}) h.update(piece);
    EXPECT_TRUE(holds_digest_of(h, "abc"));
}

TEST_P(HasherState, KindIsTheAlgorithm) { EXPECT_EQ(hasher(GetParam()).kind(), GetParam()); }

TEST_P(HasherState, MovedHasherKeepsItsState)
{
    hasher h(GetParam());
    h.update("ab");
    hasher moved = std::move(h);
    moved.update("c");
    EXPECT_TRUE(holds_digest_of(moved, "abc"));
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, HasherState, ::testing::ValuesIn(all),
                         [](auto const& info) { return std::string(to_string(info.param)); });

TEST(Hasher, AppendDigestAppends)
{
    std::string out = "prefix:";
    append_hex_digest_of(out, algorithm::xxh3, "abc");
    EXPECT_EQ(out, "prefix:78af5f94892f3950");
    hasher h(algorithm::fnv1a);
    h.append_hex_digest(out);
    EXPECT_EQ(out, "prefix:78af5f94892f3950cbf29ce484222325");
}

TEST(Algorithm, ToStringAndParseRoundTrip)
{
    EXPECT_EQ(to_string(algorithm::fnv1a), "fnv1a");
    EXPECT_EQ(to_string(algorithm::xxh3), "xxh3");
    EXPECT_EQ(to_string(algorithm::sha256), "sha256");
    for (auto a : all) EXPECT_EQ(hashsrv::parse_algorithm(to_string(a)), a);
}

TEST(Algorithm, ParseRejectsOtherNames)
{
    for (std::string_view bad : {"", "FNV1A", "sha-256", "md5", "xxh64", "fnv1a ", "sha2566"})
        EXPECT_EQ(hashsrv::parse_algorithm(bad), std::nullopt) << "'" << bad << "'";
}
