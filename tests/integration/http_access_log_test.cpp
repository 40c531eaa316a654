// access_log's buffer=, flush= and if= against the real binary: buffered lines stay
// in the worker until the buffer fills, flush= passes, the logs are reopened or the
// worker exits, and always reach the file whole; if= drops a request whose condition
// is empty or "0".

#include <signal.h>

#include <algorithm>
#include <string>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

std::string logged_site(std::uint16_t port, std::string_view access_log) {
    return "    server {\n        listen 127.0.0.1:" + std::to_string(port) +
           ";\n        server_name localhost;\n        root html;\n        " +
           std::string(access_log) + "\n    }\n";
}

std::size_t lines_with(const std::string& text, std::string_view needle) {
    return count_of(text, needle);
}

// Every line of the log is a whole combined line (nothing torn by a partial write).
void expect_whole_lines(const std::string& log) {
    std::size_t start = 0;
    while (start < log.size()) {
        const std::size_t end = log.find('\n', start);
        ASSERT_NE(end, std::string::npos) << "the log ends with a partial line: " << log;
        const std::string line = log.substr(start, end - start);
        EXPECT_TRUE(line.starts_with("127.0.0.1 - - [")) << line;
        // combined: ... "GET /... HTTP/1.1" 200 6 "-" "-" (no User-Agent) or "<agent>".
        EXPECT_NE(line.find(" HTTP/1.1\" 200 6 \"-\" \""), std::string::npos) << line;
        EXPECT_TRUE(line.ends_with("\"")) << line;
        start = end + 1;
    }
}

class AccessLogTest : public ::testing::Test {
protected:
    void start(std::string_view access_log) {
        port_ = free_port();
        ASSERT_TRUE(server_.configure(TestServer::config(logged_site(port_, access_log))));
        ASSERT_TRUE(server_.write("html/index.html", "hello\n"));
        ASSERT_TRUE(server_.start());
        ASSERT_EQ(server_.wait_workers(1).size(), 1u);
    }
    int get(std::string_view path, std::string_view extra = "") {
        const auto r = fetch(port_, http_get(path, "localhost", extra), nullptr, 3s);
        return r ? r->status : -1;
    }

    TestServer server_;
    std::uint16_t port_ = 0;
};

// flush=: the line waits in the buffer, then reaches the file once flush= has passed.
TEST_F(AccessLogTest, FlushWritesTheBufferAfterItsTime) {
    start("access_log logs/access.log combined buffer=64k flush=1s;");
    ASSERT_EQ(get("/", "User-Agent: first\r\n"), 200);
    // Right after the response the line is still in the worker's buffer.
    EXPECT_EQ(server_.read("logs/access.log").find("first"), std::string::npos)
        << "buffer= wrote the line at once";
    EXPECT_TRUE(server_.wait_for_text("logs/access.log", "\"first\"", 5s))
        << "flush=1s did not write the buffered line";
    server_.stop(SIGQUIT);
    expect_whole_lines(server_.read("logs/access.log"));
}

// Without flush=, buffered lines are written when the worker exits (QUIT and TERM).
TEST_F(AccessLogTest, ExitWritesTheBuffer) {
    start("access_log logs/access.log combined buffer=64k;");
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(get("/?n=" + std::to_string(i)), 200);
    }
    EXPECT_EQ(server_.read("logs/access.log"), "") << "lines left the 64k buffer early";
    server_.stop(SIGQUIT);
    const std::string log = server_.read("logs/access.log");
    EXPECT_EQ(lines_with(log, "GET /?n="), 20u) << log;
    expect_whole_lines(log);
}

TEST_F(AccessLogTest, TermWritesTheBufferToo) {
    start("access_log logs/access.log combined buffer=64k;");
    ASSERT_EQ(get("/", "User-Agent: before-term\r\n"), 200);
    server_.stop(SIGTERM);
    EXPECT_EQ(lines_with(server_.read("logs/access.log"), "before-term"), 1u);
}

// A full buffer goes out whole before the next line is added: with a 1k buffer and
// lines of ~100 bytes, most lines are in the file before the worker exits, and the
// file only ever holds whole lines.
TEST_F(AccessLogTest, FullBufferIsWrittenWholeLines) {
    start("access_log logs/access.log combined buffer=1k;");
    for (int i = 0; i < 60; ++i) {
        ASSERT_EQ(get("/?n=" + std::to_string(i)), 200);
    }
    const std::string before_exit = server_.read("logs/access.log");
    const std::size_t written = lines_with(before_exit, "GET /?n=");
    EXPECT_GE(written, 40u) << "a full 1k buffer was not written";
    EXPECT_LT(written, 60u) << "the last lines should still be buffered";
    expect_whole_lines(before_exit);
    server_.stop(SIGQUIT);
    const std::string log = server_.read("logs/access.log");
    EXPECT_EQ(lines_with(log, "GET /?n="), 60u);
    expect_whole_lines(log);
}

// USR1: what was buffered belongs to the file being left; the new file gets the rest.
TEST_F(AccessLogTest, ReopenWritesTheBufferToTheOldFile) {
    start("access_log logs/access.log combined buffer=64k;");
    ASSERT_EQ(get("/", "User-Agent: before-usr1\r\n"), 200);
    ASSERT_EQ(::rename(server_.path("logs/access.log").c_str(),
                       server_.path("logs/access.log.1").c_str()),
              0);
    ASSERT_TRUE(server_.signal(SIGUSR1));
    EXPECT_TRUE(server_.wait_for_text("logs/access.log.1", "before-usr1", 5s))
        << "the buffered line did not go to the renamed file at USR1";
    ASSERT_TRUE(wait_until([&] { return file_exists(server_.path("logs/access.log")); }, 3s));
    ASSERT_EQ(get("/", "User-Agent: after-usr1\r\n"), 200);
    server_.stop(SIGQUIT);
    EXPECT_EQ(lines_with(server_.read("logs/access.log"), "after-usr1"), 1u);
    EXPECT_EQ(lines_with(server_.read("logs/access.log"), "before-usr1"), 0u);
    EXPECT_EQ(lines_with(server_.read("logs/access.log.1"), "after-usr1"), 0u);
}

// if=: an empty or "0" condition skips the line; anything else logs it.
TEST_F(AccessLogTest, IfSkipsEmptyAndZero) {
    start("access_log logs/access.log combined if=$arg_log;");
    ASSERT_EQ(get("/?log=1&tag=one"), 200);
    ASSERT_EQ(get("/?log=0&tag=zero"), 200);
    ASSERT_EQ(get("/?tag=none"), 200);
    ASSERT_EQ(get("/?LOG=yes&tag=upper"), 200);  // $arg_ names are case-insensitive
    ASSERT_EQ(get("/?log=&tag=empty"), 200);
    ASSERT_TRUE(server_.wait_for_text("logs/access.log", "tag=upper"));
    server_.stop(SIGQUIT);
    const std::string log = server_.read("logs/access.log");
    EXPECT_EQ(lines_with(log, "tag=one"), 1u) << log;
    EXPECT_EQ(lines_with(log, "tag=upper"), 1u) << log;
    EXPECT_EQ(lines_with(log, "tag=zero"), 0u) << log;
    EXPECT_EQ(lines_with(log, "tag=none"), 0u) << log;
    EXPECT_EQ(lines_with(log, "tag=empty"), 0u) << log;
}

TEST_F(AccessLogTest, IfWithAHeader) {
    start("access_log logs/access.log combined if=$http_x_log;");
    ASSERT_EQ(get("/?tag=with", "X-Log: yes\r\n"), 200);
    ASSERT_EQ(get("/?tag=without"), 200);
    ASSERT_TRUE(server_.wait_for_text("logs/access.log", "tag=with"));
    server_.stop(SIGQUIT);
    EXPECT_EQ(lines_with(server_.read("logs/access.log"), "tag=without"), 0u);
}

struct BadAccessLog {
    const char* directive;
    const char* message;
};

TEST(AccessLogConfig, BadParametersNameTheFileAndLine) {
    const BadAccessLog cases[] = {
        {"access_log logs/a.log combined buffer=0;", "invalid buffer size \"0\""},
        {"access_log logs/a.log combined buffer=big;", "invalid buffer size \"big\""},
        {"access_log logs/a.log combined flush=never;", "invalid flush time \"never\""},
        {"access_log logs/a.log combined gzip;",
         "the \"gzip\" parameter is not supported by evserve"},
        {"access_log logs/a.log combined if=;", "invalid parameter \"if=\""},
        {"access_log logs/a.log combined bogus=1;", "invalid parameter \"bogus=1\""},
    };
    for (const BadAccessLog& c : cases) {
        SCOPED_TRACE(c.directive);
        TestServer server;
        EXPECT_TRUE(config_text_fails(server,
                                      TestServer::config(logged_site(free_port(), c.directive)),
                                      c.directive, c.message));
    }
}

}  // namespace
}  // namespace evs::test
