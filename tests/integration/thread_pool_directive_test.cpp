// thread_pool: each worker starts the configured pools' threads.

#include <dirent.h>

#include <gtest/gtest.h>

#include <string>

#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

std::size_t thread_count(pid_t pid) {
    std::size_t n = 0;
    DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
    if (dir == nullptr) {
        return 0;
    }
    while (dirent* entry = ::readdir(dir)) {
        n += entry->d_name[0] != '.' ? 1 : 0;
    }
    ::closedir(dir);
    return n;
}

TEST(ThreadPoolDirectiveTest, EachWorkerRunsTheConfiguredPools) {
    TestServer server;
    const std::uint16_t port = free_port();
    const std::string http = "    server {\n        listen 127.0.0.1:" + std::to_string(port) +
                             ";\n        root html;\n    }\n";
    ASSERT_TRUE(server.configure(TestServer::config(
        http, 2, "worker_connections 64;",
        "thread_pool disk threads=3;\nthread_pool other threads=2 max_queue=10;")));
    ASSERT_TRUE(server.write("html/index.html", "ok\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> workers = server.wait_workers(2);
    ASSERT_EQ(workers.size(), 2u);
    for (pid_t w : workers) {
        // The loop's thread and 3 + 2 pool threads.
        std::size_t n = 0;
        wait_until(
            [&] {
                n = thread_count(w);
                return n == 6;
            },
            std::chrono::milliseconds(2000));
        EXPECT_EQ(n, 6u) << "worker " << w;
    }
    EXPECT_EQ(thread_count(server.master()), 1u);  // the master runs no pools
    server.stop();
}

}  // namespace
}  // namespace evs::test
