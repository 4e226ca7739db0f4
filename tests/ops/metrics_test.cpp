// SPDX-License-Identifier: BSL-1.0
// --metrics-port: the Prometheus endpoint of the real binary, over real sockets.
#include "http.hpp"
#include "server_process.hpp"
#include "sockets.hpp"
#include "text.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

using namespace test_support;

namespace {

std::string const ok_oneshot = R"(hash_server_requests_total{protocol="oneshot",outcome="ok"})";
std::string const bytes_fnv1a = R"(hash_server_bytes_hashed_total{algorithm="fnv1a"})";

std::string requests_series(std::string_view proto, std::string_view outcome)
{
    return "hash_server_requests_total{protocol=\"" + std::string(proto) + "\",outcome=\"" + std::string(outcome) +
           "\"}";
}

constexpr std::array<std::string_view, 3> stage_families{
    "hash_server_pool_wait_seconds", "hash_server_pool_run_seconds", "hash_server_resume_wait_seconds"};

double stage_count(std::string_view text, std::string_view family, std::string_view kind)
{
    return sample(text, std::string(family) + "_count{kind=\"" + std::string(kind) + "\"}");
}

/// Every hop between two scrapes went through each stage once, under its kind.
void expect_stages_count_hops(std::string const& before, std::string const& after, double requests, double chunks)
{
    double hops = sample(after, "hash_server_hops_total") - sample(before, "hash_server_hops_total");
    EXPECT_EQ(hops, requests + chunks);
    for (auto family : stage_families) {
        EXPECT_EQ(stage_count(after, family, "request") - stage_count(before, family, "request"), requests) << family;
        EXPECT_EQ(stage_count(after, family, "chunk") - stage_count(before, family, "chunk"), chunks) << family;
        EXPECT_EQ(sample(after, std::string(family) + R"(_bucket{kind="request",le="+Inf"})"),
                  stage_count(after, family, "request"))
            << family;
    }
}

} // namespace

TEST(Metrics, ServesPrometheusTextAtMetrics)
{
    server_process srv({"--metrics-port", "0"});
    auto r = http_get(metrics_port(srv), "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.headers.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << r.headers;
    EXPECT_TRUE(r.complete);
    for (auto family : {"hash_server_connections_accepted_total", "hash_server_connections_rejected_total",
                        "hash_server_accept_errors_total", "hash_server_connections_active", "hash_server_requests_total",
                        "hash_server_bytes_hashed_total", "hash_server_hops_total", "hash_server_pool_jobs_queued",
                        "hash_server_pool_jobs_running", "hash_server_idle_timeouts_total",
                        "hash_server_request_duration_seconds", "hash_server_pool_wait_seconds",
                        "hash_server_pool_run_seconds", "hash_server_resume_wait_seconds"})
        EXPECT_NE(r.body.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
}

TEST(Metrics, OnlyTheBannerOnStdout)
{
    // The first stdout line is the banner that scripts wait for; the metrics
    // endpoint must add nothing after it. Stopped with SIGKILL after a while.
    auto r = run_to_exit({"--metrics-port", "0", "0"}, 1500ms);
    EXPECT_TRUE(r.out.rfind("Hash server listening on port ", 0) == 0) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.err.find("INFO metrics on port "), std::string::npos) << r.err;
}

TEST(Metrics, CountersMoveWithOneshotRequests)
{
    server_process srv({"--metrics-port", "0"});
    auto mport = metrics_port(srv);
    auto before = scrape(mport);
    ASSERT_GE(sample(before, ok_oneshot), 0) << before;
    for (int i = 0; i < 5; ++i) ASSERT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    auto after = scrape(mport);
    EXPECT_EQ(sample(after, ok_oneshot) - sample(before, ok_oneshot), 5);
    EXPECT_EQ(sample(after, bytes_fnv1a) - sample(before, bytes_fnv1a), 5 * 12);
    EXPECT_EQ(sample(after, "hash_server_hops_total") - sample(before, "hash_server_hops_total"), 5);
    EXPECT_EQ(sample(after, "hash_server_connections_accepted_total") -
                  sample(before, "hash_server_connections_accepted_total"),
              5);
    EXPECT_EQ(sample(after, "hash_server_request_duration_seconds_count") -
                  sample(before, "hash_server_request_duration_seconds_count"),
              5);
    EXPECT_EQ(sample(after, R"(hash_server_request_duration_seconds_bucket{le="+Inf"})"),
              sample(after, "hash_server_request_duration_seconds_count"));
    EXPECT_EQ(sample(after, "hash_server_connections_active"), 0);
    EXPECT_EQ(sample(after, "hash_server_pool_jobs_queued"), 0);
    EXPECT_EQ(sample(after, "hash_server_pool_jobs_running"), 0);
}

TEST(Metrics, CountersMoveWithStreamAndLines)
{
    server_process stream({"--metrics-port", "0", "--protocol", "stream", "--hash", "xxh3"});
    std::string big(300 * 1024, 'x');
    ASSERT_EQ(request(stream.port(), big).size(), 17u);
    auto s = scrape(metrics_port(stream));
    EXPECT_EQ(sample(s, requests_series("stream", "ok")), 1) << s;
    EXPECT_EQ(sample(s, R"(hash_server_bytes_hashed_total{algorithm="xxh3"})"), big.size());
    EXPECT_GE(sample(s, "hash_server_hops_total"), 2); // 64 KiB chunks: several hops for one request

    server_process lines({"--metrics-port", "0", "--protocol", "lines"});
    auto reply = request(lines.port(), "a\nb\nc\n");
    ASSERT_EQ(std::count(reply.begin(), reply.end(), '\n'), 3) << reply;
    auto l = scrape(metrics_port(lines));
    EXPECT_EQ(sample(l, requests_series("lines", "ok")), 3) << l;
    EXPECT_EQ(sample(l, bytes_fnv1a), 6);
}

TEST(Metrics, EveryHopGoesThroughEachStageOnce)
{
    server_process oneshot({"--metrics-port", "0"});
    auto before = scrape(metrics_port(oneshot));
    for (auto family : stage_families) ASSERT_EQ(stage_count(before, family, "request"), 0) << family << before;
    for (int i = 0; i < 5; ++i) ASSERT_EQ(request(oneshot.port(), "hello world\n"), "782e1488cd5a68b7\n");
    expect_stages_count_hops(before, scrape(metrics_port(oneshot)), 5, 0);

    // A stream upload that fits one chunk is a request; a longer one is
    // chunks, the last one shorter than the others.
    server_process stream({"--metrics-port", "0", "--protocol", "stream", "--chunk-size", "64K"});
    before = scrape(metrics_port(stream));
    ASSERT_EQ(request(stream.port(), "hello world\n"), "782e1488cd5a68b7\n");
    ASSERT_EQ(request(stream.port(), std::string(300 * 1024, 'x')).size(), 17u);
    expect_stages_count_hops(before, scrape(metrics_port(stream)), 1, 5);

    server_process lines({"--metrics-port", "0", "--protocol", "lines"});
    before = scrape(metrics_port(lines));
    auto reply = request(lines.port(), "a\nb\nc\n");
    ASSERT_EQ(std::count(reply.begin(), reply.end(), '\n'), 3) << reply;
    auto after = scrape(metrics_port(lines));
    double hops = sample(after, "hash_server_hops_total") - sample(before, "hash_server_hops_total");
    EXPECT_GE(hops, 1); // the lines of one read may share a hop
    expect_stages_count_hops(before, after, hops, 0);
}

TEST(Metrics, ErrorOutcomesAndIdleTimeoutsAreCounted)
{
    server_process srv({"--metrics-port", "0", "--protocol", "lines", "--max-line", "8", "--idle-timeout", "0.3"});
    auto mport = metrics_port(srv);
    EXPECT_EQ(request(srv.port(), "this line is too long\n").rfind("ERR ", 0), 0u);
    auto silent = connect_to(srv.port());
    ASSERT_TRUE(silent);
    auto closed = read_until_eof(silent.get(), 10s); // the idle timeout closes it
    EXPECT_TRUE(closed.eof || closed.reset);
    auto m = scrape(mport);
    EXPECT_EQ(sample(m, requests_series("lines", "line_too_long")), 1) << m;
    EXPECT_EQ(sample(m, "hash_server_idle_timeouts_total"), 1) << m;
    EXPECT_EQ(sample(m, requests_series("lines", "idle_timeout")), 1) << m;
}

TEST(Metrics, OtherPathsAndMethods)
{
    server_process srv({"--metrics-port", "0"});
    auto mport = metrics_port(srv);
    EXPECT_EQ(http_get(mport, "/").status, 404);
    EXPECT_EQ(http_get(mport, "/metricsx").status, 404);
    EXPECT_EQ(http_get(mport, "/metrics?x=1").status, 200);
    EXPECT_EQ(http_get(mport, "/metrics", "POST").status, 405);
    auto head = http_get(mport, "/metrics", "HEAD");
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.body.empty());
}

TEST(Metrics, KeepAliveServesSeveralScrapesOnOneConnection)
{
    server_process srv({"--metrics-port", "0"});
    auto fd = connect_to(metrics_port(srv));
    ASSERT_TRUE(fd);
    std::string const req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_TRUE(send_all(fd.get(), req + req));
    ASSERT_TRUE(send_all(fd.get(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto r = read_until_eof(fd.get());
    EXPECT_TRUE(r.eof);
    EXPECT_EQ(count_of(r.data, "HTTP/1.1 200 OK"), 3u);
}

TEST(Metrics, OversizedAndGarbageRequestsAreClosedAndTheServerGoesOn)
{
    server_process srv({"--metrics-port", "0"});
    auto mport = metrics_port(srv);
    {
        // 1 MiB of headers: the server must stop reading long before the end.
        auto fd = connect_to(mport);
        ASSERT_TRUE(fd);
        std::string huge = "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
        send_all(fd.get(), huge); // may fail half way: the server closed
        auto r = read_until_eof(fd.get());
        EXPECT_FALSE(r.timeout);
        EXPECT_EQ(r.data.find("200 OK"), std::string::npos);
    }
    {
        auto fd = connect_to(mport);
        ASSERT_TRUE(fd);
        send_all(fd.get(), std::string("\x00\xff\x13garbage\r\n\r\n", 14));
        auto r = read_until_eof(fd.get());
        EXPECT_FALSE(r.timeout);
        EXPECT_EQ(r.data.find("200 OK"), std::string::npos);
    }
    {
        // A body on a GET: no buffering of it either.
        auto fd = connect_to(mport);
        ASSERT_TRUE(fd);
        send_all(fd.get(), "GET /metrics HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n" + std::string(65536, 'b'));
        auto r = read_until_eof(fd.get());
        EXPECT_FALSE(r.timeout);
    }
    EXPECT_EQ(http_get(mport, "/metrics").status, 200);
    EXPECT_EQ(request(srv.port(), "hello world\n"), "782e1488cd5a68b7\n");
    EXPECT_TRUE(srv.running());
}

TEST(Metrics, SigtermWithScrapeConnectionsOpenExitsZero)
{
    server_process srv({"--metrics-port", "0"});
    auto mport = metrics_port(srv);
    // An idle keep-alive connection and one that never sent a byte: neither
    // may keep the server alive once the drain is over (their own timeout is 60 s).
    auto kept = connect_to(mport);
    ASSERT_TRUE(send_all(kept.get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto silent = connect_to(mport);
    ASSERT_TRUE(silent);
    std::this_thread::sleep_for(200ms);
    srv.signal(SIGTERM);
    auto st = srv.wait_exit(20s);
    ASSERT_TRUE(st) << "still running 20 s after SIGTERM: the metrics endpoint kept io_context::run() going";
    EXPECT_TRUE(st->exited);
    EXPECT_EQ(st->code, 0);
}

TEST(Metrics, PortInUseIsAClearErrorBeforeTheBanner)
{
    server_process other({});
    auto r = run_to_exit({"--metrics-port", std::to_string(other.port()), "0"});
    EXPECT_TRUE(r.status.exited);
    EXPECT_EQ(r.status.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("cannot listen for metrics on port"), std::string::npos) << r.err;
}

TEST(Metrics, PromtoolAcceptsTheOutput)
{
    server_process srv({"--metrics-port", "0", "--protocol", "lines", "--max-line", "16"});
    ASSERT_EQ(request(srv.port(), "one\ntwo\n").size(), 34u);
    request(srv.port(), "a line much longer than sixteen bytes\n");
    auto text = scrape(metrics_port(srv));
    char path[] = "/tmp/hash_server_metrics_XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    std::string cmd = std::string(PROMTOOL_PATH) + " check metrics < " + path + " 2>&1";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int st = ::pclose(p);
    ::unlink(path);
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_NE(WEXITSTATUS(st), 127) << "promtool not found (" PROMTOOL_PATH "): scripts/install-deps.sh ops";
    EXPECT_EQ(WEXITSTATUS(st), 0) << out << "\n" << text;
    EXPECT_EQ(out, "") << "promtool found problems (lint):\n" << out;
}
