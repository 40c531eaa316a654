// sendfile() in the thread pool (`aio threads[=pool]` with `sendfile on`, issue #6),
// against the real binary on 127.0.0.1.
//
// Files of 0 B to 64 MiB are served whole, by single ranges and as multipart bodies
// and compared by SHA-256, with and without sendfile_max_chunk (0 is no limit),
// tcp_nopush and limit_rate; HEAD and pipelined keepalive requests too. strace proves
// that sendfile() runs in a pool thread and never in the worker's main thread. 200
// concurrent requests against a pool with a tiny queue: some fail ("queue overflow"),
// the others are byte-exact and the worker goes on. Clients that reset in the middle
// of transfers, and reloads, graceful and fast stops during transfers, leave nothing
// behind (sanitizer builds) and no byte reaches a client it was not meant for.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/child_process.hpp"
#include "integration/file_site.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

constexpr char k_task_line[] = "thread sendfile: ";

// One way of sending files: the location's directives, and the main context's.
struct Mode {
    const char* name;
    const char* directives;
    bool threads;  // sendfile() runs in the pool
    const char* main = "";
};

void PrintTo(const Mode& mode, std::ostream* out) {
    *out << mode.name;
}

const Mode k_modes[] = {
    {"Threads", "aio threads; sendfile on;", true},
    {"ThreadsNamedPoolSmallChunksNopush",
     "aio threads=send; sendfile on; sendfile_max_chunk 64k; tcp_nopush on;", true,
     "thread_pool send threads=2 max_queue=64;"},
    {"ThreadsNoChunkLimit", "aio threads; sendfile on; sendfile_max_chunk 0;", true},
    {"ThreadsLimitRate", "aio threads; sendfile on; limit_rate 400m; limit_rate_after 1m;", true},
    {"LoopNoChunkLimit", "sendfile on; sendfile_max_chunk 0;", false},
};

class ThreadSendfileTest : public SiteServerTest<Mode> {
protected:
    void start(const std::string& directives, const std::string& main = "",
               const std::string& level = "debug") {
        SiteServerTest<Mode>::start(
            directives, "", main, level,
            "        location = /metrics { stub_status; status_format prometheus; }\n");
    }

    // A counter of the Prometheus page: evserve_file_io_operations_total for threads.
    long long threads_counter(const std::string& result) {
        const auto r = fetch(port_, http_get("/metrics"));
        if (!r) {
            return -1;
        }
        const std::string key =
            "evserve_file_io_operations_total{mode=\"threads\",result=\"" + result + "\"} ";
        const std::size_t at = r->body.find(key);
        return at == std::string::npos ? -1 : std::atoll(r->body.c_str() + at + key.size());
    }
};

TEST_P(ThreadSendfileTest, ServesEveryFileWholeAndByRangesByteExact) {
    const Mode& mode = GetParam();
    start(mode.directives, mode.main);
    HttpClient client(port_);
    ASSERT_TRUE(client.ok());
    expect_site_served(*site_, client);

    // HEAD: the head alone, with the file's length.
    ASSERT_TRUE(client.send("HEAD /f1m7 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    const auto head = client.read_response(true, 10s);
    ASSERT_TRUE(head) << client.error();
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->header_or("content-length"), std::to_string(1024 * 1024 + 7));
    EXPECT_TRUE(head->body.empty());

    // Pipelined: three requests in one packet, answered in order on one connection.
    ASSERT_TRUE(
        client.send("GET /f1m7 HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    "GET /f4095 HTTP/1.1\r\nHost: localhost\r\nRange: bytes=100-199,-5\r\n\r\n"
                    "GET /f4096 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    const auto first = client.read_response(false, 60s);
    const auto second = client.read_response(false, 60s);
    const auto third = client.read_response(false, 60s);
    ASSERT_TRUE(first && second && third) << client.error();
    EXPECT_EQ(sha256(first->body), sha256(site_->bytes("f1m7")));
    const auto parts = multipart(second->body);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].second, site_->bytes("f4095").substr(100, 100));
    EXPECT_EQ(parts[1].second, site_->bytes("f4095").substr(4090));
    EXPECT_EQ(third->body, site_->bytes("f4096"));
    EXPECT_EQ(client.read_until_close(100ms), "") << "bytes after the last response";

    const std::string log = server_.error_log();
    if (mode.threads) {
        EXPECT_GT(count_of(log, k_task_line), 0u) << "no sendfile task in the pool";
        const long long submitted = threads_counter("submitted");
        EXPECT_GT(submitted, 0) << "the threads counters count the sendfile tasks";
        EXPECT_EQ(threads_counter("completed"), submitted);
    } else {
        EXPECT_EQ(count_of(log, k_task_line), 0u);
    }
    EXPECT_EQ(log.find("file read:"), std::string::npos) << "sendfile: nothing is read";
    expect_clean_stop("[error]");
}

INSTANTIATE_TEST_SUITE_P(Modes, ThreadSendfileTest, ::testing::ValuesIn(k_modes),
                         site_param_name<Mode>);

class ThreadSendfileLoadTest : public ThreadSendfileTest {};

TEST_F(ThreadSendfileLoadTest, TwoHundredConcurrentRequestsOverflowATinyQueueAndTheRestAreExact) {
    start("aio threads=tiny; sendfile on; sendfile_max_chunk 256k;",
          "thread_pool tiny threads=1 max_queue=2;", "info");
    const std::vector<pid_t> workers = server_.wait_workers(1);
    ASSERT_EQ(workers.size(), 1u);
    constexpr int k_clients = 200;
    std::vector<HttpClient> clients;
    clients.reserve(k_clients);
    for (int i = 0; i < k_clients; ++i) {
        clients.emplace_back(port_);
        ASSERT_TRUE(clients.back().ok()) << i << ": " << clients.back().error();
    }
    for (int i = 0; i < k_clients; ++i) {
        const std::string range = i % 4 == 0 ? "Range: bytes=777-1048000\r\n" : "";
        ASSERT_TRUE(clients[static_cast<std::size_t>(i)].send(
            "GET /f1m7 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + range + "\r\n"));
    }
    const std::string& big = site_->bytes("f1m7");
    const std::string want_big = sha256(big);
    const std::string want_range = sha256(std::string_view(big).substr(777, 1048000 - 777 + 1));
    int exact = 0;
    int failed = 0;
    for (int i = 0; i < k_clients; ++i) {
        HttpClient& c = clients[static_cast<std::size_t>(i)];
        const auto r = c.read_response(false, 60s);
        const bool ranged = i % 4 == 0;
        if (r && r->status == (ranged ? 206 : 200) &&
            sha256(r->body) == (ranged ? want_range : want_big)) {
            ++exact;
        } else {
            ++failed;  // closed by the worker: its task could not be queued
        }
    }
    EXPECT_GT(failed, 0) << "the queue never overflowed";
    EXPECT_GT(exact, 0);
    const std::string log = server_.error_log();
    EXPECT_GT(count_of(log, "thread pool \"tiny\" queue overflow"), 0u);
    EXPECT_LE(count_of(log, "queue overflow"), static_cast<std::size_t>(failed))
        << "an overflow fails its own request and no other";
    // The pool's line says it, once, as in nginx: no "sendfile() failed (11: ...)" after it.
    EXPECT_EQ(count_of(log, "sendfile() failed"), 0u) << log.substr(0, 4000);
    EXPECT_EQ(log.find("[alert]"), std::string::npos) << log.substr(0, 4000);
    // The same worker serves the next request whole.
    HttpClient after(port_);
    const auto r = get_file(after, "/f1m7");
    ASSERT_TRUE(r) << after.error();
    EXPECT_EQ(sha256(r->body), want_big);
    EXPECT_EQ(server_.workers(), workers) << "the worker was replaced";
    server_.stop(SIGQUIT);
    server_.expect_no_sanitizer_reports();
}

// tcp_nopush with files sent by the pool: a file that goes in one task is never
// corked (the task in flight is not a second pass: that cost two setsockopt() per
// response); one that takes several 64 KiB tasks is corked once and uncorked once.
TEST_F(ThreadSendfileLoadTest, TcpNopushCorksOnlyFilesThatTakeMoreThanOneTask) {
    start("aio threads; sendfile on; tcp_nopush on; sendfile_max_chunk 64k;");
    HttpClient client(port_);
    for (int i = 0; i < 3; ++i) {
        const auto r = get_file(client, "/f4096");
        ASSERT_TRUE(r) << client.error();
        EXPECT_EQ(r->body, site_->bytes("f4096"));
    }
    // The client has the bytes when the thread has sent them, a moment before the
    // worker takes the task's result (and logs it).
    std::string log;
    EXPECT_TRUE(wait_until(
        [&] {
            log = server_.error_log();
            return count_of(log, "thread sendfile: 4096 of 4096 bytes") == 3;
        },
        5s))
        << log;
    EXPECT_EQ(count_of(log, "TCP_CORK set"), 0u) << log;
    const auto big = get_file(client, "/f1m7");
    ASSERT_TRUE(big) << client.error();
    EXPECT_EQ(sha256(big->body), sha256(site_->bytes("f1m7")));
    EXPECT_TRUE(wait_until(
        [&] {
            log = server_.error_log();
            return count_of(log, "TCP_CORK cleared") >= 1;
        },
        5s));
    EXPECT_GE(count_of(log, "thread sendfile: 65536 of 65536 bytes"), 2u);
    EXPECT_EQ(count_of(log, "TCP_CORK set"), 1u) << log;
    EXPECT_EQ(count_of(log, "TCP_CORK cleared"), 1u) << log;
    expect_clean_stop("[error]");
}

// strace attached to every thread of the worker: each sendfile() is made by a thread
// of the pool ("evs/default"), none by the worker's main thread, which writes the
// head (writev, or sendmsg with MSG_MORE).
TEST_F(ThreadSendfileLoadTest, StraceSeesSendfileOnlyInPoolThreads) {
    if (!file_exists("/usr/bin/strace")) {
        GTEST_SKIP() << "no strace (scripts/deps.sh test installs it)";
    }
    start("aio threads; sendfile on; sendfile_max_chunk 128k;", "", "info");
    const std::vector<pid_t> workers = server_.wait_workers(1);
    ASSERT_EQ(workers.size(), 1u);
    const pid_t worker = workers.front();
    // The pool's 32 threads exist once the worker runs.
    ASSERT_TRUE(wait_until(
        [&] {
            const std::string status = read_file("/proc/" + std::to_string(worker) + "/status");
            const std::size_t at = status.find("Threads:");
            return at != std::string::npos && std::atoi(status.c_str() + at + 8) >= 33;
        },
        5s));
    const std::string out = server_.path("logs/strace.txt");
    ChildProcess strace;
    ASSERT_TRUE(strace.start("/usr/bin/strace", {"-qq", "-f", "-e", "trace=sendfile,writev,sendmsg",
                                                 "-o", out, "-p", std::to_string(worker)}));
    if (!wait_until([&] { return is_traced(worker); }, 5s)) {
        GTEST_SKIP() << "strace could not attach (ptrace not permitted here): "
                     << strace.stderr_text();
    }
    // strace attaches to the threads one by one: give it a moment for all 33.
    std::this_thread::sleep_for(300ms);
    HttpClient client(port_);
    const auto r = get_file(client, "/f1m7");
    ASSERT_TRUE(r) << client.error();
    EXPECT_EQ(sha256(r->body), sha256(site_->bytes("f1m7")));
    strace.signal(SIGINT);
    ASSERT_TRUE(strace.wait(10s).has_value());
    const std::string calls = read_file(out);
    int in_pool = 0;
    int in_main = 0;
    int head_writes_in_main = 0;
    for (const std::string& line : split_lines(calls)) {
        const long tid = std::atol(line.c_str());
        const bool sendfile = line.find("sendfile(") != std::string::npos;
        if ((line.find("writev(") != std::string::npos ||
             line.find("sendmsg(") != std::string::npos) &&
            tid == worker) {
            ++head_writes_in_main;
        }
        if (!sendfile || line.find("resumed>") != std::string::npos) {
            continue;
        }
        if (tid == worker) {
            ++in_main;
            continue;
        }
        ++in_pool;
        EXPECT_EQ(
            read_file("/proc/" + std::to_string(worker) + "/task/" + std::to_string(tid) + "/comm"),
            "evs/default\n")
            << line;
    }
    // 1 MiB + 7 B in 128 KiB chunks: at least 9 calls, all of them in the pool.
    EXPECT_GE(in_pool, 9) << calls.substr(0, 3000);
    EXPECT_EQ(in_main, 0) << calls.substr(0, 3000);
    EXPECT_GE(head_writes_in_main, 1) << "the head is written by the loop";
    server_.stop(SIGQUIT);
}

// Clients reset while their transfers wait for the single pool thread: the tasks
// still in the queue then send through their own descriptors, the connections
// that reuse the slots (and the descriptor numbers) get their own bytes and nothing
// else.
TEST_F(ThreadSendfileLoadTest, ClientsThatResetMidTransferLeaveNothingBehind) {
    // 64 KiB per task: filling ten send buffers takes hundreds of tasks of the one
    // thread, so the resets below land while tasks are queued.
    start("aio threads=one; sendfile on; sendfile_max_chunk 64k;", "thread_pool one threads=1;",
          "debug");
    const std::string& big = site_->bytes("f64m");
    for (int round = 0; round < 4; ++round) {
        std::vector<HttpClient> leaving;
        leaving.reserve(10);
        for (int i = 0; i < 10; ++i) {
            leaving.emplace_back(port_);
            ASSERT_TRUE(leaving.back().ok());
            ASSERT_TRUE(leaving.back().send("GET /f64m HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        }
        // The first byte of every answer: each request has been read and its
        // transfer started (a worker slower than the clients, as under a sanitizer,
        // would otherwise see the resets before the requests).
        for (HttpClient& c : leaving) {
            pollfd p{c.fd(), POLLIN, 0};
            char byte = 0;
            ASSERT_TRUE(::poll(&p, 1, 10000) == 1 && ::recv(c.fd(), &byte, 1, MSG_PEEK) == 1)
                << "no answer within 10 s";
        }
        if (round % 2 == 1) {
            // Take some of the bodies first, so that the worker is between tasks.
            for (HttpClient& c : leaving) {
                c.read_until_close(std::chrono::milliseconds(5 + round));
            }
        }
        // A reset rather than a FIN: the next sendfile() fails at once.
        for (HttpClient& c : leaving) {
            reset_connection(c);
        }
        // The slots and descriptor numbers of the clients that left go to these.
        expect_fresh_clients_exact(port_, *site_, 3);
    }
    HttpClient last(port_);
    const auto whole = get_file(last, "/f64m", "1000000-9999999");
    ASSERT_TRUE(whole) << last.error();
    EXPECT_EQ(sha256(whole->body), sha256(std::string_view(big).substr(1000000, 9000000)));
    const std::string log = server_.error_log();
    EXPECT_GT(count_of(log, "sendfile() failed"), 0u) << "no task saw a reset";
    EXPECT_EQ(log.find("[alert]"), std::string::npos) << log.substr(0, 4000);
    EXPECT_EQ(log.find("[crit]"), std::string::npos);
    server_.stop(SIGQUIT);
    server_.expect_no_sanitizer_reports();
}

// Sends `count` requests for `path` on their own connections, none read yet.
std::vector<HttpClient> start_transfers(std::uint16_t port, int count, const std::string& path) {
    std::vector<HttpClient> clients;
    clients.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        clients.emplace_back(port);
        if (clients.back().ok()) {
            clients.back().send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
        }
    }
    return clients;
}

// A reload and then a graceful stop while large transfers are in progress: the old
// worker finishes every one of them byte-exact before it exits.
TEST_F(ThreadSendfileLoadTest, ReloadAndGracefulStopFinishTheTransfersInFlight) {
    start("aio threads=two; sendfile on; sendfile_max_chunk 1m;", "thread_pool two threads=2;",
          "info");
    const std::vector<pid_t> before = server_.wait_workers(1);
    ASSERT_EQ(before.size(), 1u);
    const std::string want = sha256(site_->bytes("f64m"));
    {
        std::vector<HttpClient> clients = start_transfers(port_, 2, "/f64m");
        std::this_thread::sleep_for(200ms);  // the sockets fill, the transfers wait
        ASSERT_TRUE(server_.signal(SIGHUP));
        const auto after =
            server_.wait_workers(2, 10s, [&](const std::vector<pid_t>& w) { return w != before; });
        EXPECT_TRUE(process_alive(before.front())) << "the old worker left its transfers";
        for (HttpClient& c : clients) {
            const auto r = c.read_response(false, 120s);
            ASSERT_TRUE(r) << c.error();
            EXPECT_EQ(sha256(r->body), want);
        }
        // The old worker closes the kept-alive connections and exits.
        EXPECT_TRUE(wait_until([&] { return !process_alive(before.front()); }, 10s));
    }
    {
        std::vector<HttpClient> clients = start_transfers(port_, 2, "/f64m");
        std::this_thread::sleep_for(200ms);
        ASSERT_TRUE(server_.signal(SIGQUIT));
        for (HttpClient& c : clients) {
            const auto r = c.read_response(false, 120s);
            ASSERT_TRUE(r) << c.error();
            EXPECT_EQ(sha256(r->body), want);
        }
        const auto status = server_.wait_exit(20s);
        ASSERT_TRUE(status.has_value());
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    }
    const std::string log = server_.error_log();
    EXPECT_EQ(log.find("[alert]"), std::string::npos) << log.substr(0, 4000);
    EXPECT_EQ(log.find("[crit]"), std::string::npos);
    server_.expect_no_sanitizer_reports();
}

// A fast stop (TERM) in the middle of transfers: the pool's threads are joined before
// the worker exits; nothing crashes or leaks (sanitizer builds), the master exits 0.
TEST_F(ThreadSendfileLoadTest, AFastStopDuringTransfersExitsCleanly) {
    start("aio threads; sendfile on; sendfile_max_chunk 256k;", "", "info");
    std::vector<HttpClient> clients = start_transfers(port_, 8, "/f64m");
    for (HttpClient& c : clients) {
        c.read_until_close(10ms);  // the transfers are under way
    }
    server_.stop(SIGTERM, 20s);
    for (HttpClient& c : clients) {
        c.read_until_close(2s);  // and cut short: the connection ends
    }
    EXPECT_EQ(server_.error_log().find("[alert]"), std::string::npos) << server_.error_log();
    server_.expect_no_sanitizer_reports();
}

}  // namespace
}  // namespace evs::test
