// The open file cache seen from a client: files changed, replaced by rename,
// deleted or renamed while cached are served fresh at once (inotify); with
// open_file_cache_events off a cached 404 lasts until open_file_cache_valid; `max`
// bounds the descriptors a worker keeps; a response sending from a cached file
// survives the file's replacement. And the write path: small cached files go out in
// one writev(), tcp_nopush corks a file that takes more than one pass,
// postpone_output holds a short head for the sendfile() that follows, and
// sendfile_max_chunk bounds each sendfile() (checked with strace where it can run).
//
// One server (one worker) per suite; tests use distinct file names.

#include <dirent.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

std::size_t open_fd_count(pid_t pid) {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        ++n;
    }
    return n;
}

std::string pattern_text(std::size_t size, char seed) {
    std::string text(size, ' ');
    for (std::size_t i = 0; i < size; ++i) {
        text[i] = static_cast<char>('a' + (i * 31 + static_cast<std::size_t>(seed)) % 26);
    }
    return text;
}

class HttpFileCacheTest : public SharedServerSuite<HttpFileCacheTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        const std::string http =
            "    default_type application/octet-stream;\n"
            "    access_log off;\n"
            "    sendfile on;\n"
            "    tcp_nopush on;\n"
            "    open_file_cache max=8 inactive=60s;\n"
            "    open_file_cache_errors on;\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        root html;\n"
            "        location /noevents/ {\n"
            "            open_file_cache_events off;\n"
            "            open_file_cache_valid 1s;\n"
            "        }\n"
            "        location /plain/ {\n"
            "            tcp_nopush off;\n"
            "            postpone_output 0;\n"
            "        }\n"
            "        location /chunk/ {\n"
            "            sendfile_max_chunk 64k;\n"
            "        }\n"
            "        location /nocache/ {\n"
            "            open_file_cache off;\n"
            "        }\n"
            "    }\n";
        TestServer& s = *server_;
        bool ok = s.configure(TestServer::config(http, 1, "worker_connections 256;",
                                                 "error_log logs/debug.log debug;")) &&
                  s.write("html/index.html", "index\n") &&
                  // Exists from the start: the test watches a file appear in it.
                  s.write("html/noevents/other.txt", "other\n") && s.start();
        if (ok) {
            ok = s.wait_workers(1).size() == 1;
        }
        if (!ok) {
            delete server_;
            server_ = nullptr;
        }
    }

    void SetUp() override { ASSERT_NE(server_, nullptr) << "the server did not start"; }

    static pid_t worker() {
        const auto w = server_->workers();
        return w.empty() ? -1 : w.front();
    }

    static std::optional<HttpResponse> get(HttpClient& c, const std::string& path,
                                           const std::string& extra = "") {
        if (!c.send(http_get(path, "localhost", extra))) {
            return std::nullopt;
        }
        return c.read_response();
    }

    static std::string body_of(const std::string& path) {
        HttpClient c(port_);
        const auto r = get(c, path);
        return r && r->status == 200 ? r->body
                                     : "<status " + std::to_string(r ? r->status : 0) + ">";
    }
};

TEST_F(HttpFileCacheTest, ModifiedFileIsServedFreshAtOnce) {
    HttpClient c(port_);
    for (int i = 0; i < 20; ++i) {
        const std::string content = "version " + std::to_string(i) + "\n";
        ASSERT_TRUE(server_->write("html/mod.txt", content));
        const auto r = get(c, "/mod.txt");
        ASSERT_TRUE(r.has_value());
        ASSERT_EQ(r->status, 200);
        ASSERT_EQ(r->body, content) << "stale after write number " << i;
    }
}

// More changes than one turn reads (8 x 8 KiB of inotify events): the rest is read in
// the following turns, without a new change to wake the worker, and none is lost.
TEST_F(HttpFileCacheTest, AFloodOfChangesIsReadInTurnsAndNoneIsLost) {
    ASSERT_TRUE(server_->write("html/flood/target.txt", "before\n"));
    ASSERT_EQ(body_of("/flood/target.txt"), "before\n");
    // The worker is stopped meanwhile, so that the whole flood waits in the queue.
    const pid_t w = worker();
    ASSERT_GT(w, 0);
    ASSERT_EQ(::kill(w, SIGSTOP), 0);
    bool written = true;
    for (int i = 0; i < 1000 && written; ++i) {
        written = server_->write("html/flood/file-with-a-longer-name-" + std::to_string(i), "x");
    }
    // Last in the queue; nothing changes after it.
    written = written && server_->write("html/flood/target.txt", "after\n");
    ASSERT_EQ(::kill(w, SIGCONT), 0);
    ASSERT_TRUE(written);
    EXPECT_TRUE(wait_until([] { return body_of("/flood/target.txt") == "after\n"; }, 5s))
        << body_of("/flood/target.txt");
}

TEST_F(HttpFileCacheTest, ReplaceByRenameIsServedFreshAtOnce) {
    HttpClient c(port_);
    for (int i = 0; i < 20; ++i) {
        // Same size every time: only the content tells the versions apart.
        const std::string content = "deploy " + std::to_string(i % 10) + "\n";
        ASSERT_TRUE(server_->write("html/app.js.tmp", content));
        ASSERT_EQ(::rename(server_->path("html/app.js.tmp").c_str(),
                           server_->path("html/app.js").c_str()),
                  0);
        const auto r = get(c, "/app.js");
        ASSERT_TRUE(r.has_value());
        ASSERT_EQ(r->body, content) << "stale after mv number " << i;
    }
}

TEST_F(HttpFileCacheTest, DeletedAndRenamedFilesAreSeenAtOnce) {
    HttpClient c(port_);
    ASSERT_TRUE(server_->write("html/del.txt", "to be deleted\n"));
    auto r = get(c, "/del.txt");
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200);
    ASSERT_EQ(::unlink(server_->path("html/del.txt").c_str()), 0);
    r = get(c, "/del.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 404);

    ASSERT_TRUE(server_->write("html/before.txt", "moving\n"));
    r = get(c, "/before.txt");
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200);
    r = get(c, "/after.txt");  // a cached 404 (open_file_cache_errors on)
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 404);
    ASSERT_EQ(
        ::rename(server_->path("html/before.txt").c_str(), server_->path("html/after.txt").c_str()),
        0);
    r = get(c, "/before.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 404);
    r = get(c, "/after.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "moving\n");
}

TEST_F(HttpFileCacheTest, WithoutEventsCachedErrorLastsUntilValid) {
    HttpClient c(port_);
    auto r = get(c, "/noevents/late.txt");
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 404);
    const auto created = Clock::now();
    ASSERT_TRUE(server_->write("html/noevents/late.txt", "late\n"));
    r = get(c, "/noevents/late.txt");
    ASSERT_TRUE(r.has_value());
    if (seconds_since(created) < 0.9) {
        EXPECT_EQ(r->status, 404) << "the 404 was not cached";
    }
    // open_file_cache_valid 1s: after it the file is looked up again.
    int status = 0;
    EXPECT_TRUE(wait_until(
        [&] {
            const auto again = get(c, "/noevents/late.txt");
            status = again ? again->status : 0;
            return status == 200;
        },
        5s, 100ms));
    EXPECT_GE(seconds_since(created), 0.9) << "served before open_file_cache_valid";
}

// The index module's directory probe meets a link that loops while the index file's
// earlier "not found" is still cached: 403, as nginx answers for ELOOP (it was a 404).
// After open_file_cache_valid the index file's own lookup says ELOOP: 403 as well.
TEST_F(HttpFileCacheTest, DirectoryThatBecameALoopingLinkIsForbidden) {
    HttpClient c(port_);
    auto r = get(c, "/noevents/loopy/index.html");  // caches ENOENT for the index file
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 404);
    ASSERT_EQ(::symlink("loopy", server_->path("html/noevents/loopy").c_str()), 0)
        << std::strerror(errno);
    r = get(c, "/noevents/loopy/");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 403);
    EXPECT_TRUE(wait_until(
        [&] { return server_->error_log().find("/loopy/\" failed (40:") != std::string::npos; },
        5s))
        << server_->error_log();
}

TEST_F(HttpFileCacheTest, CachedSmallFileHasTheSameResponseAsUncached) {
    const std::string content = pattern_text(4096, 'k');
    ASSERT_TRUE(server_->write("html/same.txt", content));
    ASSERT_TRUE(server_->write("html/nocache/same.txt", content));
    const timeval times[2] = {{1577934245, 0}, {1577934245, 0}};  // 2020-01-02 03:04:05
    ASSERT_EQ(::utimes(server_->path("html/same.txt").c_str(), times), 0);
    ASSERT_EQ(::utimes(server_->path("html/nocache/same.txt").c_str(), times), 0);
    HttpClient c(port_);
    std::optional<HttpResponse> cached;
    for (int i = 0; i < 3; ++i) {
        cached = get(c, "/same.txt");
        ASSERT_TRUE(cached.has_value());
        ASSERT_EQ(cached->status, 200);
        ASSERT_EQ(cached->body, content);
    }
    const auto plain = get(c, "/nocache/same.txt");
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(cached->header_or("Content-Length"), "4096");
    EXPECT_EQ(cached->header_or("Content-Type"), plain->header_or("Content-Type"));
    // Formatted once by the cache, the same as per request without it.
    EXPECT_EQ(cached->header_or("ETag"), "\"5e0d5da5-1000\"");
    EXPECT_EQ(cached->header_or("ETag"), plain->header_or("ETag"));
    EXPECT_EQ(cached->header_or("Last-Modified"), "Thu, 02 Jan 2020 03:04:05 GMT");
    EXPECT_EQ(cached->header_or("Last-Modified"), plain->header_or("Last-Modified"));

    // A range of a file served from memory.
    auto part = get(c, "/same.txt", "Range: bytes=100-199\r\n");
    ASSERT_TRUE(part.has_value());
    EXPECT_EQ(part->status, 206);
    EXPECT_EQ(part->body, content.substr(100, 100));
    // HEAD: the head only.
    ASSERT_TRUE(c.send(http_get("/same.txt", "localhost", "", "HEAD")));
    const auto head = c.read_response(true);
    ASSERT_TRUE(head.has_value());
    EXPECT_EQ(head->status, 200);
    EXPECT_TRUE(head->body.empty());
    // Conditional: 304 from the cached metadata.
    part = get(c, "/same.txt", "If-None-Match: " + cached->header_or("ETag") + "\r\n");
    ASSERT_TRUE(part.has_value());
    EXPECT_EQ(part->status, 304);
    // The index file and a directory without its slash go through the cache too.
    EXPECT_EQ(body_of("/"), "index\n");
    ASSERT_TRUE(server_->write("html/adir/x.txt", "x"));
    const auto dir = get(c, "/adir");
    ASSERT_TRUE(dir.has_value());
    EXPECT_EQ(dir->status, 301);
}

TEST_F(HttpFileCacheTest, MaxBoundsTheDescriptorsAndNoneLeak) {
    const pid_t w = worker();
    ASSERT_GT(w, 0);
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(server_->write("html/many/f" + std::to_string(i) + ".txt",
                                   "file " + std::to_string(i) + "\n"));
    }
    // Settle: the cache may already hold files of earlier tests.
    ASSERT_EQ(body_of("/many/f0.txt"), "file 0\n");
    const std::size_t before = open_fd_count(w);
    ASSERT_GT(before, 0u);
    {
        HttpClient c(port_);
        for (int round = 0; round < 3; ++round) {
            for (int i = 0; i < 20; ++i) {
                const auto r = get(c, "/many/f" + std::to_string(i) + ".txt");
                ASSERT_TRUE(r.has_value());
                ASSERT_EQ(r->body, "file " + std::to_string(i) + "\n");
            }
        }
    }
    // Deleting the cached files closes their descriptors; the connection is gone.
    for (int i = 0; i < 20; ++i) {
        ::unlink(server_->path("html/many/f" + std::to_string(i) + ".txt").c_str());
    }
    std::size_t after = 0;
    EXPECT_TRUE(wait_until(
        [&] {
            after = open_fd_count(w);
            return after + 1 <= before;  // f0 (cached before) is gone too
        },
        3s))
        << "before " << before << ", after " << after;
    // max=8: whatever else the cache holds, never more than 8 files and the inotify fd.
    ASSERT_TRUE(server_->write("html/many/g.txt", "g"));
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(server_->write("html/many/h" + std::to_string(i) + ".txt", "h"));
        ASSERT_EQ(body_of("/many/h" + std::to_string(i) + ".txt"), "h");
    }
    EXPECT_TRUE(wait_until([&] { return open_fd_count(w) <= before + 8; }, 3s))
        << open_fd_count(w) << " descriptors, " << before << " before";
}

TEST_F(HttpFileCacheTest, ResponseInFlightSurvivesReplacement) {
    const std::string old_content = pattern_text(8 << 20, 'o');
    ASSERT_TRUE(server_->write("html/big.bin", old_content));
    ASSERT_EQ(body_of("/big.bin").size(), old_content.size());  // now cached
    HttpClient c(port_, 10s);
    ASSERT_TRUE(c.send(http_get("/big.bin")));
    // Let the server fill the socket, then replace and delete the file under it.
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(server_->write("html/big.bin.new", "new\n"));
    ASSERT_EQ(
        ::rename(server_->path("html/big.bin.new").c_str(), server_->path("html/big.bin").c_str()),
        0);
    const auto r = c.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), old_content.size());
    EXPECT_TRUE(r->body == old_content) << "the response in flight changed";
    EXPECT_EQ(body_of("/big.bin"), "new\n");
}

// The system calls of the worker while it serves `paths`, from strace; nullopt
// when strace cannot run here (not installed, ptrace not permitted).
std::optional<std::string> trace_worker(pid_t worker, std::uint16_t port,
                                        const std::vector<std::string>& paths,
                                        bool slow_reader = false) {
    if (::access("/usr/bin/strace", X_OK) != 0) {
        return std::nullopt;
    }
    char name[] = "/tmp/evs-strace-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) {
        return std::nullopt;
    }
    ::close(fd);
    ChildProcess strace;
    if (!strace.start(
            "/usr/bin/strace",
            {"-q", "-p", std::to_string(worker), "-e",
             "trace=writev,sendmsg,sendfile,setsockopt,openat,newfstatat,fstat", "-o", name})) {
        return std::nullopt;
    }
    // strace is attached once the worker shows a tracer.
    const bool attached = wait_until(
        [&] {
            const std::string status = read_file("/proc/" + std::to_string(worker) + "/status");
            const auto pos = status.find("TracerPid:");
            return pos != std::string::npos && std::atoi(status.c_str() + pos + 10) != 0;
        },
        3s);
    if (!attached) {
        ::unlink(name);
        return std::nullopt;
    }
    for (const std::string& path : paths) {
        HttpClient c(port, 10s);
        if (!c.send(http_get(path))) {
            ADD_FAILURE() << "send " << path;
            continue;
        }
        if (slow_reader) {
            std::this_thread::sleep_for(200ms);  // the socket fills: EAGAIN
        }
        const auto r = c.read_response();
        EXPECT_TRUE(r.has_value() && r->status == 200) << path;
    }
    std::this_thread::sleep_for(100ms);
    strace.signal(SIGINT);
    strace.wait(3s);
    std::string text = read_file(name);
    ::unlink(name);
    return text;
}

// The strace lines of `call` that contain every one of `needles`.
std::size_t count_calls(const std::string& text, const std::string& call,
                        std::initializer_list<std::string_view> needles = {}) {
    std::size_t n = 0;
    for (const std::string& line : split_lines(text)) {
        if (!line.starts_with(call + "(")) {
            continue;
        }
        bool all = true;
        for (std::string_view needle : needles) {
            all = all && line.find(needle) != std::string::npos;
        }
        n += all ? 1 : 0;
    }
    return n;
}

TEST_F(HttpFileCacheTest, SmallCachedFileGoesOutInOneWritev) {
    ASSERT_TRUE(server_->write("html/tiny.txt", "13 bytes here"));
    ASSERT_EQ(body_of("/tiny.txt"), "13 bytes here");  // cached now
    const auto trace = trace_worker(worker(), port_, {"/tiny.txt", "/tiny.txt"});
    if (!trace) {
        GTEST_SKIP() << "strace cannot trace the worker here";
    }
    EXPECT_EQ(count_calls(*trace, "writev", {"13 bytes here"}), 2u) << *trace;
    EXPECT_EQ(count_calls(*trace, "sendfile"), 0u) << *trace;
    EXPECT_EQ(count_calls(*trace, "openat"), 0u) << *trace;
    EXPECT_EQ(count_calls(*trace, "newfstatat") + count_calls(*trace, "fstat"), 0u) << *trace;
}

TEST_F(HttpFileCacheTest, TcpNopushAndPostponeOutputHoldTheHeadForSendfile) {
    ASSERT_TRUE(server_->write("html/mid.bin", pattern_text(100000, 'm')));
    ASSERT_TRUE(server_->write("html/plain/mid.bin", pattern_text(100000, 'p')));
    const auto trace = trace_worker(worker(), port_, {"/mid.bin", "/plain/mid.bin"});
    if (!trace) {
        GTEST_SKIP() << "strace cannot trace the worker here";
    }
    // tcp_nopush on: the head waits (MSG_MORE) for the file's first bytes.
    EXPECT_EQ(count_calls(*trace, "sendmsg", {"HTTP/1.1 200", "MSG_MORE"}), 1u) << *trace;
    // tcp_nopush off, postpone_output 0: the head is pushed on its own.
    EXPECT_EQ(count_calls(*trace, "writev", {"HTTP/1.1 200"}), 1u) << *trace;
    EXPECT_GE(count_calls(*trace, "sendfile"), 2u) << *trace;
}

TEST_F(HttpFileCacheTest, TcpNopushCorksAFileThatTakesMoreThanOnePass) {
    ASSERT_TRUE(server_->write("html/large.bin", pattern_text(16 << 20, 'l')));
    ASSERT_TRUE(server_->write("html/plain/large.bin", pattern_text(16 << 20, 'q')));
    const auto trace = trace_worker(worker(), port_, {"/large.bin"}, true);
    if (!trace) {
        GTEST_SKIP() << "strace cannot trace the worker here";
    }
    EXPECT_EQ(count_calls(*trace, "setsockopt", {"TCP_CORK, [1]"}), 1u) << *trace;
    EXPECT_EQ(count_calls(*trace, "setsockopt", {"TCP_CORK, [0]"}), 1u) << *trace;
    EXPECT_TRUE(server_->read("logs/debug.log").find("TCP_CORK set") != std::string::npos);

    const auto plain = trace_worker(worker(), port_, {"/plain/large.bin"}, true);
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(count_calls(*plain, "setsockopt", {"TCP_CORK"}), 0u) << "tcp_nopush off";
}

TEST_F(HttpFileCacheTest, SendfileMaxChunkBoundsEachCall) {
    const std::string content = pattern_text(1 << 20, 'c');
    ASSERT_TRUE(server_->write("html/chunk/one.bin", content));
    ASSERT_EQ(body_of("/chunk/one.bin"), content);
    const auto trace = trace_worker(worker(), port_, {"/chunk/one.bin"});
    if (!trace) {
        GTEST_SKIP() << "strace cannot trace the worker here";
    }
    // 1 MiB in calls of at most 64 KiB.
    EXPECT_GE(count_calls(*trace, "sendfile", {", 65536)"}), 16u) << *trace;
    for (const std::string& line : split_lines(*trace)) {
        if (!line.starts_with("sendfile(")) {
            continue;
        }
        // sendfile(5, 7, [0] => [65536], 65536) = 65536: the last argument.
        const auto close = line.rfind(") = ");
        const auto comma = line.rfind(", ", close);
        ASSERT_TRUE(close != std::string::npos && comma != std::string::npos) << line;
        EXPECT_LE(std::stoull(line.substr(comma + 2, close - comma - 2)), 65536u) << line;
    }
}

}  // namespace
}  // namespace evs::test

namespace evs::test {
namespace {

TEST(OpenFileCacheDirectives, BadArgumentsNameTheFileAndLine) {
    const std::pair<std::string, std::string> cases[] = {
        {"open_file_cache inactive=20s;", "\"open_file_cache\" must have the \"max\" parameter"},
        {"open_file_cache max=0;", "invalid \"open_file_cache\" parameter \"max=0\""},
        {"open_file_cache max=10 lru;", "invalid \"open_file_cache\" parameter \"lru\""},
        {"open_file_cache max=10 inactive=soon;",
         "invalid \"open_file_cache\" parameter \"inactive=soon\""},
        {"open_file_cache_valid never;", "\"open_file_cache_valid\" directive invalid value"},
        {"open_file_cache_errors maybe;",
         "invalid value \"maybe\" in \"open_file_cache_errors\" directive, it must be \"on\" "
         "or \"off\""},
    };
    for (const auto& [directive, message] : cases) {
        TestServer s;
        EXPECT_TRUE(
            config_text_fails(s, TestServer::config("    " + directive + "\n"), directive, message))
            << directive;
    }
    TestServer ok;
    ASSERT_TRUE(ok.configure(TestServer::config(
        "    open_file_cache max=10 inactive=5s;\n    open_file_cache_min_uses 2;\n"
        "    open_file_cache_body 0;\n    open_file_cache_events off;\n"
        "    server { location / { open_file_cache off; } }\n")));
    EXPECT_EQ(ok.run_with_conf({"-t"}).exit_code(), 0);
}

}  // namespace
}  // namespace evs::test
