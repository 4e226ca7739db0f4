// SPDX-License-Identifier: BSL-1.0
// Helpers for the fault and abuse tests: reference digests computed without
// the server's code, abusive clients, and the check every test ends with.
#pragma once

#include "server_process.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <sys/resource.h>

namespace fault {

using namespace test_support;

/// True when the binaries were built with a sanitizer (the server is built
/// with the same flags as the tests): memory bounds and counts are scaled.
constexpr bool sanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

/// The digest line the server must send for `data`, computed independently:
/// our own FNV-1a loop (support), libxxhash's and OpenSSL's one-shot calls.
inline std::string reference_digest(std::string_view alg, std::string_view data)
{
    if (alg == "fnv1a") return hex16(reference_fnv1a(data)) + "\n";
    if (alg == "xxh3") return hex16(XXH3_64bits(data.data(), data.size())) + "\n";
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned len = 0;
    if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) return "<EVP failed>";
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(digits[md[i] >> 4]);
        out.push_back(digits[md[i] & 15]);
    }
    return out + "\n";
}

/// What the `lines` protocol must answer for `data`: one digest per
/// "\n"-terminated line (the "\n" included), and the final unterminated line as it is.
inline std::string reference_lines(std::string_view alg, std::string_view data)
{
    std::string out;
    while (!data.empty()) {
        auto nl = data.find('\n');
        auto len = nl == std::string_view::npos ? data.size() : nl + 1;
        out += reference_digest(alg, data.substr(0, len));
        data.remove_prefix(len);
    }
    return out;
}

inline std::string random_bytes(std::mt19937_64& rng, std::size_t n)
{
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

/// Closes with SO_LINGER 0: the peer sees a reset, not a FIN.
inline void reset_close(fd_guard& fd)
{
    linger l{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    fd.reset();
}

/// The tests hold a thousand sockets or more: lift the soft descriptor limit
/// (the server, a child, inherits it unless the test sets its own).
inline void raise_fd_limit(rlim_t want = 8192)
{
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = std::min(want, rl.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/// Waits (bounded) until `pred()` holds; returns whether it did.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 20s)
{
    auto until = clock::now() + limit;
    while (!pred()) {
        if (clock::now() >= until) return pred();
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

/// The server's open descriptors once the count has settled (unchanged for
/// 200 ms): a session closes its socket a moment after the client saw the
/// reply, so a count taken right after a request may include it.
inline std::size_t settled_fds(server_process const& srv)
{
    std::size_t last = srv.open_fds();
    for (int i = 0; i < 200; ++i) {
        std::this_thread::sleep_for(200ms);
        auto now = srv.open_fds();
        if (now == last) return now;
        last = now;
    }
    return last;
}

/// The last lines of the server's log, for failure messages.
inline std::string log_tail(server_process const& srv, std::size_t bytes = 4000)
{
    auto log = srv.log();
    return log.size() > bytes ? "..." + log.substr(log.size() - bytes) : log;
}

/// A normal client requesting in a loop on its own thread while a test abuses
/// the server around it; counts right and wrong answers.
class bystander {
public:
    bystander(std::uint16_t port, bool lines, std::chrono::milliseconds pause = 0ms)
        : port_(port), lines_(lines), pause_(pause), thread_([this] { loop(); })
    {
    }
    ~bystander() { finish(); }
    bystander(bystander const&) = delete;
    bystander& operator=(bystander const&) = delete;

    void finish()
    {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    int served() const { return served_.load(); }
    int wrong() const { return wrong_.load(); }

private:
    void loop()
    {
        for (int i = 0; i < 1'000'000 && !stop_.load(); ++i) {
            std::string payload = "bystander " + std::to_string(i) + "\n";
            auto want = lines_ ? reference_lines("fnv1a", payload) : reference_digest("fnv1a", payload);
            (request(port_, payload) == want ? served_ : wrong_).fetch_add(1);
            if (pause_.count() > 0) std::this_thread::sleep_for(pause_);
        }
    }

    std::uint16_t port_;
    bool lines_;
    std::chrono::milliseconds pause_;
    std::atomic<bool> stop_{false};
    std::atomic<int> served_{0}, wrong_{0};
    std::thread thread_; // last: starts once the members above exist
};

/// Every fault test ends here: the server survived, still answers a normal
/// request correctly, and stops cleanly (exit 0) on SIGTERM. A sanitizer
/// report in the server (ASan aborts, TSan exits 66) fails this.
inline void expect_healthy_then_stop(server_process& srv, std::string_view alg = "fnv1a", bool lines = false)
{
    ASSERT_TRUE(srv.running()) << log_tail(srv);
    std::string const probe = "still serving?\n";
    EXPECT_EQ(request(srv.port(), probe), lines ? reference_lines(alg, probe) : reference_digest(alg, probe))
        << log_tail(srv);
    srv.signal(SIGTERM);
    auto st = srv.wait_exit(30s);
    ASSERT_TRUE(st.has_value()) << "no exit 30 s after SIGTERM\n" << log_tail(srv);
    EXPECT_TRUE(st->exited && st->code == 0) << "exited=" << st->exited << " code=" << st->code << "\n"
                                             << log_tail(srv);
    EXPECT_EQ(srv.log().find("ERROR"), std::string::npos) << log_tail(srv);
}

} // namespace fault
