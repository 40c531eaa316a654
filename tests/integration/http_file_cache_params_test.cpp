// open_file_cache parameters with nginx's meaning, seen in the worker's descriptors
// (/proc/<worker>/fd) with inotify off (open_file_cache_events off), so that only
// nginx's rules apply:
//   - open_file_cache_min_uses 2: a file's descriptor stays open only from its second
//     use within `inactive`;
//   - inactive=1s: an entry not used for that long is dropped by a later lookup and its
//     descriptor closed;
//   - open_file_cache_errors off (the default): a 404 is not cached, so a file created
//     after it is served at once even though entries are trusted for 60 s.
// (max, valid, errors on and the inotify behaviour are in http_file_cache_test.cpp.)
//
// One server (one worker) runs for the suite; tests use distinct file names.

#include <gtest/gtest.h>

#include <string>

#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

// How many of the process's descriptors are open on `path`.
std::size_t fds_on(pid_t pid, const std::string& path) {
    std::size_t n = 0;
    std::error_code ec;
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::error_code link_ec;
        if (std::filesystem::read_symlink(it->path(), link_ec).string() == path) {
            ++n;
        }
    }
    return n;
}

class HttpFileCacheParamsTest : public SharedServerSuite<HttpFileCacheParamsTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        TestServer& s = *server_;
        s.write("html/index.html", "index\n");
        s.write("html/uses.txt", "uses\n");
        s.write("html/idle.txt", "idle\n");
        s.write("html/other.txt", "other\n");
        const std::string http =
            "    open_file_cache max=10 inactive=1s;\n"
            "    open_file_cache_min_uses 2;\n"
            "    open_file_cache_valid 60s;\n"
            "    open_file_cache_events off;\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        server_name localhost;\n"
            "        root html;\n"
            "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        ASSERT_TRUE(s.start());
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/index.html") == 200; }, 5s));
        const auto w = s.wait_workers(1);
        ASSERT_EQ(w.size(), 1u);
        worker_ = w.front();
    }

    static std::string body(std::string_view path) {
        const auto r = get(path);
        return r ? (r->status == 200 ? r->body : "<status " + std::to_string(r->status) + ">")
                 : "<none>";
    }

    static inline pid_t worker_ = -1;
};

TEST_F(HttpFileCacheParamsTest, MinUsesKeepsTheDescriptorFromTheSecondUse) {
    const std::string path = server_->path("html/uses.txt");
    ASSERT_EQ(body("/uses.txt"), "uses\n");
    // The first use closes its descriptor with the request.
    EXPECT_TRUE(wait_until([&] { return fds_on(worker_, path) == 0; }, 2s));
    ASSERT_EQ(body("/uses.txt"), "uses\n");
    // From the second, the cache keeps it.
    EXPECT_TRUE(wait_until([&] { return fds_on(worker_, path) == 1; }, 2s))
        << fds_on(worker_, path);
    ASSERT_EQ(body("/uses.txt"), "uses\n");
    EXPECT_EQ(fds_on(worker_, path), 1u);
}

TEST_F(HttpFileCacheParamsTest, InactiveEntriesAreDroppedByLaterLookups) {
    const std::string path = server_->path("html/idle.txt");
    ASSERT_EQ(body("/idle.txt"), "idle\n");
    ASSERT_EQ(body("/idle.txt"), "idle\n");
    ASSERT_TRUE(wait_until([&] { return fds_on(worker_, path) == 1; }, 2s));
    std::this_thread::sleep_for(1500ms);  // past inactive=1s
    // Each lookup drops expired entries from the least recently used end.
    for (int i = 0; i < 12 && fds_on(worker_, path) != 0; ++i) {
        ASSERT_EQ(body("/other.txt"), "other\n");
    }
    EXPECT_EQ(fds_on(worker_, path), 0u);
}

TEST_F(HttpFileCacheParamsTest, ErrorsAreNotCachedByDefault) {
    EXPECT_EQ(body("/late.txt"), "<status 404>");
    EXPECT_EQ(body("/late.txt"), "<status 404>");
    ASSERT_TRUE(server_->write("html/late.txt", "late\n"));
    // No inotify and valid 60s: only an uncached error lets the new file through.
    EXPECT_EQ(body("/late.txt"), "late\n");
}

}  // namespace
}  // namespace evs::test
