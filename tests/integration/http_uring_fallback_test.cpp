// aio io_uring on a kernel that refuses io_uring: the server is started through
// evs_no_io_uring (tests/launchers), whose seccomp filter makes io_uring_setup fail
// with ENOSYS in the master and its workers, as a kernel without io_uring or a
// container's profile would. Each worker says so once, with a [warn], and reads the
// files of those locations in the thread pool "default" (which exists although no
// thread_pool directive declares it): bytes exact, reads counted under threads, none
// under io_uring.

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

constexpr char k_launcher[] = EVS_BINARY_DIR "/tests/evs_no_io_uring";

std::string random_bytes(std::size_t size) {
    std::mt19937_64 random(size);
    std::string bytes(size, '\0');
    for (char& b : bytes) {
        b = static_cast<char>(random());
    }
    return bytes;
}

TEST(UringFallbackTest, WithoutIoUringEachWorkerWarnsOnceAndReadsInTheDefaultThreadPool) {
    TestServer server;
    server.set_launcher(k_launcher);
    const std::string bytes = random_bytes(1024 * 1024 + 7);
    ASSERT_TRUE(server.write("html/big", bytes));
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(
        "worker_processes 2;\nerror_log logs/error.log debug;\npid logs/evserve.pid;\n"
        "events { worker_connections 256; }\n"
        "http {\n    access_log off;\n    server {\n        listen 127.0.0.1:" +
        std::to_string(port) + ";\n        root " + server.path("html") +
        ";\n        location / { aio io_uring; sendfile off; output_buffers 1 64k; }\n"
        "        location = /metrics { stub_status; status_format prometheus; }\n    }\n}\n"));
    ASSERT_TRUE(server.start());
    ASSERT_EQ(server.wait_workers(2).size(), 2u);
    ASSERT_TRUE(server.wait_for_text("logs/error.log", "falls back to threads", 5s, 2))
        << server.error_log();

    for (int i = 0; i < 6; ++i) {
        const auto whole = fetch(port, http_get("/big"));
        ASSERT_TRUE(whole);
        EXPECT_EQ(whole->status, 200);
        EXPECT_TRUE(whole->body == bytes) << "request " << i << ": the body differs";
    }
    const auto part =
        fetch(port, "GET /big HTTP/1.1\r\nHost: localhost\r\nRange: bytes=70000-200000\r\n\r\n");
    ASSERT_TRUE(part);
    EXPECT_EQ(part->status, 206);
    EXPECT_TRUE(part->body == bytes.substr(70000, 130001)) << "the range differs";

    const std::string log = server.error_log();
    EXPECT_EQ(count_of(log, "[warn]"), 2u) << "one per worker\n" << log.substr(0, 4000);
    EXPECT_EQ(count_of(log, "[warn] "), count_of(log,
                                                 "io_uring is not available "
                                                 "(io_uring_queue_init(32) failed: 38: "
                                                 "Function not implemented), aio io_uring "
                                                 "falls back to threads"))
        << log.substr(0, 4000);
    EXPECT_GT(count_of(log, "file read: thread pool, 65536-byte buffer"), 0u);
    EXPECT_GT(count_of(log, "thread read: fd"), 0u);
    EXPECT_EQ(count_of(log, "io_uring: submit fd"), 0u);
    EXPECT_EQ(count_of(log, "io_uring: ring of"), 0u);
    EXPECT_EQ(log.find("[alert]"), std::string::npos);
    EXPECT_EQ(log.find("[crit]"), std::string::npos);

    // The counters of the whole server: the reads went to the pool.
    const auto metrics = fetch(port, http_get("/metrics"));
    ASSERT_TRUE(metrics);
    const std::string& page = metrics->body;
    const long long submitted = file_io_counter(page, "threads", "submitted");
    EXPECT_GE(submitted, 6 * 17) << page;
    EXPECT_EQ(file_io_counter(page, "threads", "completed"), submitted) << page;
    EXPECT_EQ(file_io_counter(page, "io_uring", "submitted"), 0) << page;
    EXPECT_EQ(file_io_counter(page, "io_uring", "fallback"), 0) << page;
    server.stop(SIGQUIT);
    server.expect_no_sanitizer_reports();
}

// The launcher only takes io_uring away: the same server, started directly, has its
// ring where the kernel gives one (so the test above does not pass by accident).
TEST(UringFallbackTest, WithoutTheLauncherTheWorkerHasItsRing) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(
        "worker_processes 1;\nerror_log logs/error.log debug;\npid logs/evserve.pid;\n"
        "events { worker_connections 64; }\nhttp {\n    access_log off;\n    server {\n"
        "        listen 127.0.0.1:" +
        std::to_string(port) + ";\n        location / { aio io_uring; }\n    }\n}\n"));
    ASSERT_TRUE(server.start());
    ASSERT_TRUE(server.wait_for_text("logs/error.log", "io_uring", 5s)) << server.error_log();
    const std::string log = server.error_log();
    if (log.find("io_uring is not available") != std::string::npos) {
        server.stop(SIGQUIT);
        GTEST_SKIP() << "this kernel refuses io_uring by itself";
    }
    EXPECT_EQ(count_of(log, "io_uring: ring of 32 entries"), 1u) << log.substr(0, 4000);
    EXPECT_EQ(log.find("[warn]"), std::string::npos) << log.substr(0, 4000);
    server.stop(SIGQUIT);
    server.expect_no_sanitizer_reports();
}

}  // namespace
}  // namespace evs::test
