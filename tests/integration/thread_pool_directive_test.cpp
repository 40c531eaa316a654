// thread_pool: each worker starts the configured pools' threads.

#include <dirent.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

// The names (comm) of the process's threads.
std::vector<std::string> thread_names(pid_t pid) {
    std::vector<std::string> names;
    const std::string task = "/proc/" + std::to_string(pid) + "/task";
    DIR* dir = ::opendir(task.c_str());
    if (dir == nullptr) {
        return names;
    }
    while (dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') {
            std::string comm = read_file(task + "/" + entry->d_name + "/comm");
            while (!comm.empty() && comm.back() == '\n') {
                comm.pop_back();
            }
            names.push_back(comm);
        }
    }
    ::closedir(dir);
    return names;
}

std::size_t named(const std::vector<std::string>& names, std::string_view name) {
    return static_cast<std::size_t>(std::count(names.begin(), names.end(), name));
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
    // Counted by name: a sanitizer's runtime may add threads of its own.
    for (pid_t w : workers) {
        std::vector<std::string> names;
        wait_until(
            [&] {
                names = thread_names(w);
                return named(names, "evs/disk") == 3 && named(names, "evs/other") == 2;
            },
            std::chrono::milliseconds(2000));
        EXPECT_EQ(named(names, "evs/disk"), 3u) << "worker " << w;
        EXPECT_EQ(named(names, "evs/other"), 2u) << "worker " << w;
    }
    // The master runs no pools.
    const std::vector<std::string> master = thread_names(server.master());
    EXPECT_EQ(named(master, "evs/disk") + named(master, "evs/other"), 0u);
    server.stop();
}

// `aio io_uring` reads in the implicit pool "default" only where the worker has no
// ring, so a worker whose ring works starts no pool threads for it; `aio threads`
// elsewhere in the configuration does start it. (Where this kernel refuses
// io_uring, the worker warns and must have the pool.)
TEST(ThreadPoolDirectiveTest, TheImplicitDefaultPoolStartsOnlyWhereSomethingWillUseIt) {
    for (const bool threads_too : {false, true}) {
        SCOPED_TRACE(threads_too ? "aio io_uring and aio threads" : "aio io_uring alone");
        TestServer server;
        const std::uint16_t port = free_port();
        const std::string http = "    server {\n        listen 127.0.0.1:" + std::to_string(port) +
                                 ";\n        root html;\n        location / { aio io_uring; }\n" +
                                 (threads_too ? "        location /t/ { aio threads; }\n" : "") +
                                 "    }\n";
        ASSERT_TRUE(server.configure(TestServer::config(http, 1, "worker_connections 64;")));
        ASSERT_TRUE(server.write("html/index.html", "ok\n"));
        ASSERT_TRUE(server.start());
        const std::vector<pid_t> workers = server.wait_workers(1);
        ASSERT_EQ(workers.size(), 1u);
        // A worker that answers has set up its readers and pools.
        ASSERT_EQ(status_of(port, "/"), 200);
        const bool no_ring =
            server.error_log().find("io_uring is not available") != std::string::npos;
        const std::size_t expected = threads_too || no_ring ? 32 : 0;
        std::vector<std::string> names;
        wait_until([&] { return named(thread_names(workers[0]), "evs/default") == expected; },
                   std::chrono::milliseconds(2000));
        names = thread_names(workers[0]);
        EXPECT_EQ(named(names, "evs/default"), expected) << (no_ring ? "no ring" : "ring");
        server.stop();
    }
}

}  // namespace
}  // namespace evs::test
