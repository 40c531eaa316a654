// File reads that never block the loop: native AIO (`aio on`), io_uring (`aio
// io_uring`), thread pools, directio, directio_alignment, output_buffers and
// worker_aio_requests, against the real binary on 127.0.0.1 (issue #6).
// (http_uring_fallback_test.cpp: io_uring refused by the kernel.)
//
// Files of 0 B, 1 B, 4095 B, 4096 B, 1 MiB + 7 B and 64 MiB of random bytes are
// served whole and by ranges (single and multipart, unaligned heads and tails), and
// compared by SHA-256 with what was written, in every mode: native AIO and io_uring
// with and without directio, with sendfile on (reads only from the directio size up)
// and off, threads, directio without AIO, and plain pread. The error log at debug
// level proves which system calls ran (io_submit, the ring's submissions, the
// worker_aio_requests fallback); strace and the Prometheus counters say it again.
// For native AIO and io_uring: 200 concurrent requests with worker_aio_requests 4
// force fallbacks and must all be byte-exact; clients that go away in the middle of
// large transfers leave nothing behind (ASan build) and the connections that reuse
// their slots get exact bytes. The io_uring cases are skipped where the kernel
// refuses io_uring.
//
// The files live where O_DIRECT works: the test prefix under /tmp when its file
// system takes O_DIRECT, otherwise a directory in the build tree (tmpfs refuses it).

#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/config_check.hpp"
#include "integration/file_site.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

using namespace std::string_literals;

// One way of reading files, as a set of directives for the location.
struct Mode {
    const char* name;
    const char* directives;
    const char* submit_line;  // a debug line each asynchronous read logs, or ""
    const char* reading;      // a debug line that says how files were read, or ""
    const char* main = "";    // main-context directives (thread_pool)
};

void PrintTo(const Mode& mode, std::ostream* out) {
    *out << mode.name;
}

constexpr char k_submit[] = "native AIO: io_submit fd";
constexpr char k_uring[] = "io_uring: submit fd";
constexpr char k_thread[] = "thread read: fd";

// Whether the kernel (and the seccomp filter we run under) gives us a ring.
bool kernel_has_io_uring() {
    io_uring_params params{};
    const long fd = ::syscall(__NR_io_uring_setup, 2, &params);
    if (fd < 0) {
        return false;
    }
    ::close(static_cast<int>(fd));
    return true;
}

const Mode k_modes[] = {
    {"NativeDirectio", "aio on; directio 512; sendfile off; output_buffers 2 32k;", k_submit,
     "file read: native AIO, 65536-byte buffer, directio"},
    {"NativeDirectio4k", "aio on; directio 4k; directio_alignment 4k; output_buffers 1 6k;",
     k_submit, "file read: native AIO, 8192-byte buffer, directio"},
    {"NativeWithoutDirectio", "aio on; sendfile off; output_buffers 1 64k;", k_submit,
     "file read: native AIO, 65536-byte buffer\n"},
    {"NativeAndSendfile", "aio on; sendfile on; directio 4096;", k_submit,
     "file read: native AIO, 65536-byte buffer, directio"},
    {"NativeOpenFileCache",
     "aio on; directio 512; sendfile on; open_file_cache max=16; open_file_cache_body 0;", k_submit,
     "file read: native AIO, 65536-byte buffer, directio"},
    {"Threads", "aio threads; sendfile off;", k_thread,
     "file read: thread pool, 65536-byte buffer\n"},
    {"ThreadsNamedPoolDirectio", "aio threads=disk; directio 1k; output_buffers 1 16k;", k_thread,
     "file read: thread pool, 16384-byte buffer, directio", "thread_pool disk threads=3;"},
    {"DirectioWithoutAio", "directio 512; sendfile off;", "",
     "file read: sync, 65536-byte buffer, directio"},
    {"Pread", "sendfile off; output_buffers 3 5000;", "", "file read: sync, 15000-byte buffer\n"},
    {"Sendfile", "sendfile on;", "", ""},
    {"IoUring", "aio io_uring; sendfile off; output_buffers 1 64k;", k_uring,
     "file read: io_uring, 65536-byte buffer\n"},
    {"IoUringDirectio", "aio io_uring; directio 512; sendfile off; output_buffers 2 32k;", k_uring,
     "file read: io_uring, 65536-byte buffer, directio"},
    {"IoUringAndSendfileDirectio", "aio io_uring; sendfile on; directio 4096;", k_uring,
     "file read: io_uring, 65536-byte buffer, directio"},
    // As `aio on`: what goes out with sendfile is not read at all.
    {"IoUringAndSendfile", "aio io_uring; sendfile on;", "", ""},
};

bool uses_io_uring(const Mode& mode) {
    return std::string_view(mode.directives).find("aio io_uring") != std::string_view::npos;
}

// The site's server, for the suites below.
// The site's server with the Prometheus page at /metrics beside it.
class AioServer : public SiteServer {
protected:
    void start(const std::string& directives, const std::string& events = "",
               const std::string& main = "") {
        SiteServer::start(
            directives, events, main, "debug",
            "        location = /metrics { stub_status; status_format prometheus; }\n");
    }

    static std::optional<HttpResponse> get(HttpClient& client, const std::string& path,
                                           const std::string& range = "") {
        return get_file(client, path, range);
    }
};

class AioTest : public AioServer, public ::testing::WithParamInterface<Mode> {};

TEST_P(AioTest, ServesEveryFileWholeAndByRangesByteExact) {
    const Mode& mode = GetParam();
    if (uses_io_uring(mode) && !kernel_has_io_uring()) {
        GTEST_SKIP() << "io_uring is not available here";
    }
    start(mode.directives, "", mode.main);
    HttpClient client(port_);
    ASSERT_TRUE(client.ok());
    expect_site_served(*site_, client);
    if (HasFatalFailure()) {
        return;
    }
    const std::string log = server_.error_log();
    if (*mode.reading != '\0') {
        EXPECT_NE(log.find(mode.reading), std::string::npos) << "no \"" << mode.reading << "\"";
    } else {
        EXPECT_EQ(log.find("file read:"), std::string::npos) << "sendfile: nothing is read";
    }
    if (*mode.submit_line != '\0') {
        EXPECT_GT(count_of(log, mode.submit_line), 0u) << "no \"" << mode.submit_line << "\"";
    }
    if (mode.submit_line != k_submit) {
        EXPECT_EQ(count_of(log, "io_submit"), 0u) << "aio on is not set, yet io_submit() ran";
    } else {
        EXPECT_NE(log.find("native AIO: io_setup(32)"), std::string::npos);
    }
    if (mode.submit_line != k_uring) {
        EXPECT_EQ(count_of(log, k_uring), 0u) << "no read went through the ring, yet one did";
    }
    EXPECT_EQ(count_of(log, "io_uring: ring of 32 entries"), uses_io_uring(mode) ? 1u : 0u);
    EXPECT_EQ(log.find("[alert]"), std::string::npos) << log.substr(0, 4000);
    EXPECT_EQ(log.find("[crit]"), std::string::npos);
    EXPECT_EQ(log.find("[warn]"), std::string::npos);
    server_.stop(SIGQUIT);
    server_.expect_no_sanitizer_reports();
}

std::string mode_name(const ::testing::TestParamInfo<Mode>& mode) {
    return mode.param.name;
}

INSTANTIATE_TEST_SUITE_P(Modes, AioTest, ::testing::ValuesIn(k_modes), mode_name);

class AioLoadTest : public AioServer {};

// The kernel interfaces with a queue of worker_aio_requests, under load.
struct QueueMode {
    const char* name;
    const char* directives;
    const char* setup_line;   // followed by worker_aio_requests
    const char* submit_line;  // one per read started
    const char* mode_label;   // in the Prometheus counters
};

void PrintTo(const QueueMode& mode, std::ostream* out) {
    *out << mode.name;
}

const QueueMode k_queue_modes[] = {
    {"Native", "aio on; directio 512; sendfile off;", "native AIO: io_setup(", k_submit, "native"},
    {"IoUring", "aio io_uring; sendfile off;", "io_uring: ring of ", k_uring, "io_uring"},
};

class AioQueueLoadTest : public AioServer, public ::testing::WithParamInterface<QueueMode> {
protected:
    void SetUp() override {
        AioServer::SetUp();
        if (std::string_view(GetParam().name) == "IoUring" && !kernel_has_io_uring()) {
            GTEST_SKIP() << "io_uring is not available here";
        }
    }
};

TEST_P(AioQueueLoadTest, TwoHundredConcurrentRequestsWithFourSlotsAreAllByteExact) {
    const QueueMode& mode = GetParam();
    start(mode.directives + " output_buffers 1 64k;"s, "worker_aio_requests 4;");
    constexpr int k_clients = 200;
    std::vector<HttpClient> clients;
    clients.reserve(k_clients);
    for (int i = 0; i < k_clients; ++i) {
        clients.emplace_back(port_);
        ASSERT_TRUE(clients.back().ok()) << i << ": " << clients.back().error();
    }
    // Every request is sent before any response is read, so that the worker has
    // many reads to start at once.
    const std::string& big = site_->bytes("f1m7");
    const std::string want_big = sha256(big);
    for (int i = 0; i < k_clients; ++i) {
        const std::string range = i % 3 == 0 ? "Range: bytes=777-1048000\r\n" : "";
        ASSERT_TRUE(clients[static_cast<std::size_t>(i)].send(
            "GET /f1m7 HTTP/1.1\r\nHost: localhost\r\n" + range + "\r\n"));
    }
    const std::string want_range = sha256(std::string_view(big).substr(777, 1048000 - 777 + 1));
    int exact = 0;
    for (int i = 0; i < k_clients; ++i) {
        HttpClient& c = clients[static_cast<std::size_t>(i)];
        const auto r = c.read_response(false, 60s);
        ASSERT_TRUE(r) << "client " << i << ": " << c.error();
        const bool ranged = i % 3 == 0;
        EXPECT_EQ(r->status, ranged ? 206 : 200);
        if (sha256(r->body) == (ranged ? want_range : want_big)) {
            ++exact;
        }
    }
    EXPECT_EQ(exact, k_clients);
    const std::string log = server_.error_log();
    EXPECT_NE(log.find(mode.setup_line + "4"s), std::string::npos);
    EXPECT_GT(count_of(log, mode.submit_line), 0u);
    EXPECT_GT(count_of(log, "operations in flight (worker_aio_requests)"), 0u)
        << "200 concurrent reads never found the 4 slots full";
    EXPECT_EQ(log.find("[alert]"), std::string::npos);
    // The counters say the same: reads submitted and completed, and fallbacks.
    HttpClient status(port_);
    const auto page = get(status, "/metrics");
    ASSERT_TRUE(page) << status.error();
    const long long submitted = file_io_counter(page->body, mode.mode_label, "submitted");
    EXPECT_GT(submitted, 0) << page->body;
    EXPECT_EQ(file_io_counter(page->body, mode.mode_label, "completed"), submitted);
    EXPECT_GT(file_io_counter(page->body, mode.mode_label, "fallback"), 0);
    server_.stop(SIGQUIT);
    server_.expect_no_sanitizer_reports();
}

TEST_P(AioQueueLoadTest, ClientsThatGoAwayMidReadLeaveNothingBehindAndReusedSlotsGetExactBytes) {
    const QueueMode& mode = GetParam();
    start(mode.directives + " output_buffers 1 128k;"s, "worker_aio_requests 8;");
    const std::string& big = site_->bytes("f64m");
    for (int round = 0; round < 20; ++round) {
        HttpClient c(port_);
        ASSERT_TRUE(c.ok());
        ASSERT_TRUE(c.send("GET /f64m HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        if (round % 2 == 1) {
            // Take some of the body first, so that the worker is between reads.
            c.read_until_close(std::chrono::milliseconds(20 + round));
        }
        // A reset rather than a FIN: the worker's next write fails at once.
        const linger reset{1, 0};
        ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        c.close();
    }
    // The slots of the clients that left are handed to these.
    for (int i = 0; i < 5; ++i) {
        HttpClient c(port_);
        ASSERT_TRUE(c.ok());
        const auto r = get(c, "/f1m7", i % 2 == 0 ? "" : "100-200000");
        ASSERT_TRUE(r) << c.error();
        const std::string& bytes = site_->bytes("f1m7");
        EXPECT_EQ(sha256(r->body),
                  i % 2 == 0 ? sha256(bytes) : sha256(std::string_view(bytes).substr(100, 199901)));
    }
    HttpClient last(port_);
    const auto whole = get(last, "/f64m");
    ASSERT_TRUE(whole) << last.error();
    EXPECT_EQ(sha256(whole->body), sha256(big));
    const std::string log = server_.error_log();
    EXPECT_GT(count_of(log, mode.submit_line), 0u);
    EXPECT_EQ(log.find("[alert]"), std::string::npos);
    server_.stop(SIGQUIT);
    server_.expect_no_sanitizer_reports();
}

INSTANTIATE_TEST_SUITE_P(Modes, AioQueueLoadTest, ::testing::ValuesIn(k_queue_modes),
                         [](const auto& mode) { return std::string(mode.param.name); });

TEST_F(AioLoadTest, AFullThreadPoolQueueFailsThoseRequestsAloneAndTheWorkerGoesOn) {
    // One thread, one queued task, 4 MiB O_DIRECT reads: most of 40 requests that
    // arrive together find the queue full. multi_accept takes the 40 connections in
    // one turn, so that their requests are read in the same turn too and posted
    // faster than one thread reads: one accept per turn let a slow worker (the
    // sanitizer builds) post so slowly that the thread kept up.
    start("aio threads=tiny; directio 512; output_buffers 1 4m;", "multi_accept on;",
          "thread_pool tiny threads=1 max_queue=1;");
    constexpr int k_clients = 40;
    std::vector<HttpClient> clients;
    clients.reserve(k_clients);
    for (int i = 0; i < k_clients; ++i) {
        clients.emplace_back(port_);
        ASSERT_TRUE(clients.back().ok());
    }
    for (HttpClient& c : clients) {
        ASSERT_TRUE(c.send("GET /f64m HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
    }
    const std::string want = sha256(site_->bytes("f64m"));
    int exact = 0;
    int failed = 0;
    for (HttpClient& c : clients) {
        const auto r = c.read_response(false, 120s);
        if (r && r->status == 200 && sha256(r->body) == want) {
            ++exact;
        } else {
            ++failed;  // closed by the worker: that request's read could not be queued
        }
    }
    EXPECT_GT(failed, 0) << "the queue never overflowed";
    EXPECT_GT(exact, 0);
    EXPECT_EQ(exact + failed, k_clients);
    const std::string log = server_.error_log();
    EXPECT_GT(count_of(log, "thread pool \"tiny\" queue overflow"), 0u);
    // The pool's line says it, once, as in nginx: no [crit] read error after it.
    EXPECT_EQ(count_of(log, "file read failed"), 0u) << log.substr(0, 4000);
    // The worker is still there and serves the next request whole.
    HttpClient after(port_);
    const auto r = get(after, "/f1m7");
    ASSERT_TRUE(r) << after.error();
    EXPECT_EQ(sha256(r->body), sha256(site_->bytes("f1m7")));
    server_.stop(SIGQUIT);
    server_.expect_no_sanitizer_reports();
}

// The worker's system calls seen from outside: strace attached to it, while one
// client fetches /f1m7 whole.
class AioStraceTest : public AioServer {
protected:
    // The calls of `trace` (strace's -e trace=) the worker made for the fetch, or
    // nothing when strace cannot attach here (the test is then skipped).
    std::optional<std::string> trace_fetch(const std::string& trace) {
        const std::vector<pid_t> workers = server_.wait_workers(1);
        if (workers.size() != 1u) {
            ADD_FAILURE() << "no single worker";
            return std::nullopt;
        }
        const pid_t worker = workers.front();
        const std::string out = server_.path("logs/strace.txt");
        ChildProcess strace;
        if (!strace.start("/usr/bin/strace", {"-qq", "-e", "trace=" + trace, "-o", out, "-p",
                                              std::to_string(worker)})) {
            return std::nullopt;
        }
        const auto traced = [&] {
            const std::string status = read_file("/proc/" + std::to_string(worker) + "/status");
            const std::size_t at = status.find("TracerPid:");
            return at != std::string::npos && std::atoi(status.c_str() + at + 10) != 0;
        };
        if (!wait_until(traced, 5s)) {
            skip_reason_ =
                "strace could not attach (ptrace not permitted here): " + strace.stderr_text();
            return std::nullopt;
        }
        HttpClient client(port_);
        const auto r = get(client, "/f1m7");
        EXPECT_TRUE(r) << client.error();
        if (r) {
            EXPECT_EQ(sha256(r->body), sha256(site_->bytes("f1m7")));
        }
        strace.signal(SIGINT);
        EXPECT_TRUE(strace.wait(10s).has_value());
        return read_file(out);
    }

    std::string skip_reason_;
};

// io_submit and io_getevents for the aligned middle of the file, and pread64 only
// for the unaligned tail.
TEST_F(AioStraceTest, NativeAioReadsThroughIoSubmitAndIoGetevents) {
    if (!file_exists("/usr/bin/strace")) {
        GTEST_SKIP() << "no strace (scripts/deps.sh test installs it)";
    }
    start("aio on; directio 512; sendfile off; output_buffers 1 64k;");
    const auto calls = trace_fetch("io_submit,io_getevents,pread64");
    if (!calls) {
        GTEST_SKIP() << skip_reason_;
    }
    // 1 MiB in 64 KiB reads, then the 7-byte tail synchronously.
    EXPECT_GE(count_of(*calls, "io_submit("), 16u) << calls->substr(0, 2000);
    EXPECT_GE(count_of(*calls, "io_getevents("), 1u) << calls->substr(0, 2000);
    EXPECT_EQ(count_of(*calls, "pread64("), 1u) << calls->substr(0, 2000);
    server_.stop(SIGQUIT);
}

// One io_uring_enter per read (submission; completions are taken from the shared
// queue without a call), and no pread64 or io_submit for any byte of the body.
TEST_F(AioStraceTest, IoUringReadsThroughIoUringEnterAlone) {
    if (!file_exists("/usr/bin/strace")) {
        GTEST_SKIP() << "no strace (scripts/deps.sh test installs it)";
    }
    if (!kernel_has_io_uring()) {
        GTEST_SKIP() << "io_uring is not available here";
    }
    start("aio io_uring; sendfile off; output_buffers 1 64k;");
    const auto calls = trace_fetch("io_uring_enter,io_submit,io_getevents,pread64");
    if (!calls) {
        GTEST_SKIP() << skip_reason_;
    }
    // 1 MiB + 7 B in 64 KiB reads: 17 submissions (and at most one more call each
    // to run completions the kernel deferred to this thread).
    const std::size_t enters = count_of(*calls, "io_uring_enter(");
    EXPECT_GE(enters, 17u) << calls->substr(0, 3000);
    EXPECT_LE(enters, 34u) << calls->substr(0, 3000);
    EXPECT_EQ(count_of(*calls, "pread64("), 0u) << calls->substr(0, 3000);
    EXPECT_EQ(count_of(*calls, "io_submit("), 0u) << calls->substr(0, 3000);
    EXPECT_EQ(count_of(*calls, "io_getevents("), 0u) << calls->substr(0, 3000);
    server_.stop(SIGQUIT);
}

// A file system that refuses O_DIRECT (procfs here; tmpfs before Linux 6.6): one
// [warn], then the file is served through the page cache.
TEST(AioDirectioTest, AFileSystemThatRefusesODirectGetsOneWarningAndTheFileIsServed) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(
        "    server {\n        listen 127.0.0.1:" + std::to_string(port) +
        ";\n        location /proc/ { root /; aio on; directio 0; sendfile off; }\n    }\n")));
    ASSERT_TRUE(server.start());
    const std::string want = read_file("/proc/sys/kernel/ostype");
    ASSERT_FALSE(want.empty());
    for (int i = 0; i < 3; ++i) {
        const auto r = fetch(port, http_get("/proc/sys/kernel/ostype"));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
    }
    ASSERT_TRUE(server.wait_for_text("logs/error.log", "fcntl(O_DIRECT)"));
    const std::string log = server.error_log();
    EXPECT_EQ(count_of(log, "[warn]"), 1u) << log;
    EXPECT_NE(log.find("/proc/sys/kernel/ostype\" failed, the file is read without directio "
                       "(22: "),
              std::string::npos)
        << log;
    server.stop(SIGQUIT);
    server.expect_no_sanitizer_reports();
}

struct BadDirective {
    const char* directive;
    const char* message;
};

class AioConfigErrorTest : public ::testing::TestWithParam<BadDirective> {};

TEST_P(AioConfigErrorTest, NamesFileAndLine) {
    TestServer server;
    const std::string http =
        "    server {\n        listen 127.0.0.1:" + std::to_string(free_port()) +
        ";\n        location / {\n            " + GetParam().directive + "\n        }\n    }\n";
    EXPECT_TRUE(config_text_fails(server, TestServer::config(http), GetParam().directive,
                                  GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Directives, AioConfigErrorTest,
    ::testing::Values(
        BadDirective{"aio maybe;", "invalid value \"maybe\" in \"aio\" directive"},
        BadDirective{"aio threads=;", "invalid value \"threads=\" in \"aio\" directive"},
        BadDirective{"directio 5q;", "\"directio\" directive invalid value"},
        BadDirective{"directio_alignment 1000;",
                     "\"directio_alignment\" must be a power of two up to 1m"},
        BadDirective{"output_buffers 0 32k;", "\"output_buffers\" directive invalid value"},
        BadDirective{"output_buffers 2 0;", "\"output_buffers\" directive invalid value"},
        BadDirective{"aio threads=nope;", "unknown thread pool \"nope\""},
        BadDirective{"aio io_uring=yes;", "invalid value \"io_uring=yes\" in \"aio\" directive"},
        BadDirective{"output_buffers 2;",
                     "invalid number of arguments in \"output_buffers\" directive"}),
    [](const auto& p) { return "Case" + std::to_string(p.index); });

TEST(AioConfigTest, WorkerAioRequestsIsAnEventsDirective) {
    TestServer server;
    const std::string text = TestServer::config(
        "    server {\n        listen 127.0.0.1:" + std::to_string(free_port()) +
            ";\n        location / { aio on; directio 4m; directio_alignment 4k; "
            "output_buffers 1 128k; }\n    }\n",
        1, "worker_connections 64; worker_aio_requests 128;");
    ASSERT_TRUE(server.configure(text));
    const RunResult r = server.run_with_conf({"-t"});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
}

}  // namespace
}  // namespace evs::test
