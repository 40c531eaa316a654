// try_files, named locations, `internal` and the internal redirect limit with the
// real binary: a found file served in the same location, a directory tested with a
// trailing slash (and nginx's 301 for it without the slash), =code, a fallback URI whose
// own arguments replace the request's, a named fallback, an internal location answering
// 404 to clients but serving redirects, the cycle that ends with 500 and nginx's log
// line, try_files through the open file cache, a server-level try_files that nested
// locations do not inherit, and the configuration errors.
//
// One server (one worker) runs for the suite; the tests only read from it.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

class HttpTryFilesTest : public SharedServerSuite<HttpTryFilesTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        TestServer& s = *server_;
        s.write("html/index.html", "top index\n");
        s.write("html/tf/a.txt", "file a\n");
        s.write("html/tf/d/index.html", "dir index\n");
        s.write("html/named/real.txt", "real file\n");
        s.write("html/secret/s.txt", "secret\n");
        s.write("html/cached/c.txt", "cached file\n");
        s.write("html/dironly/sub/index.html", "sub index\n");
        s.write("html/dironly/file.txt", "a file, not a directory\n");
        const std::string http =
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        server_name localhost;\n"
            "        root html;\n"
            // Only for requests no location matches (nginx does not inherit it).
            "        try_files $uri /show?server=1;\n"
            "        location = /show { return 200 \"uri=$uri args=$args\"; }\n"
            "        location /tf/ { try_files $uri $uri/ =404; }\n"
            "        location /fb/ { try_files $uri /show?from=$uri; }\n"
            "        location /keep/ { try_files $uri /show$is_args$args; }\n"
            "        location /noargs/ { try_files $uri /show; }\n"
            "        location /named/ { try_files $uri @back; }\n"
            "        location @back { return 200 \"named uri=$uri args=$args\"; }\n"
            "        location /nowhere/ { try_files $uri @missing; }\n"
            "        location /secret/ { internal; }\n"
            "        location /via/ { try_files /nonexistent /secret/s.txt; }\n"
            "        location /loop { try_files /nonexistent /loop; }\n"
            "        location /dironly/ { try_files $uri/ =403; }\n"
            "        location /teapot/ { try_files $uri =418; }\n"
            "        location /cached/ {\n"
            "            open_file_cache max=16;\n"
            "            open_file_cache_errors on;\n"
            "            try_files $uri =404;\n"
            "        }\n"
            "        location /plain/ { }\n"
            "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        ASSERT_TRUE(s.start());
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/index.html") == 200; }, 5s));
    }

    // The body of a 200 response, or "<status N>".
    static std::string body(std::string_view path) {
        const auto r = get(path);
        if (!r) {
            return "<no response>";
        }
        return r->status == 200 ? r->body : "<status " + std::to_string(r->status) + ">";
    }
};

TEST_F(HttpTryFilesTest, FoundFileIsServedInTheSameLocation) {
    EXPECT_EQ(body("/tf/a.txt"), "file a\n");
    const auto r = get("/tf/a.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->header_or("Content-Type"), "text/plain");
    EXPECT_FALSE(r->header("Location").has_value());
}

TEST_F(HttpTryFilesTest, TrailingSlashTestsForADirectory) {
    // "/tf/d/": $uri is a directory, not a file; "$uri/" finds it and the index serves.
    EXPECT_EQ(body("/tf/d/"), "dir index\n");
    // "/tf/d": the directory matches "$uri/" under the URI "/tf/d", which the static
    // handler answers with nginx's 301 to the slashed URI.
    const auto r = get("/tf/d?x=1");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 301);
    EXPECT_EQ(r->header_or("Location"), "/tf/d/?x=1");
    // Only a directory passes a trailing-slash test: a file does not.
    EXPECT_EQ(body("/dironly/sub"), "<status 301>");
    // "/dironly/sub/" passes, but its index file comes back through an internal
    // redirect, and try_files runs again for "/dironly/sub/index.html": a file, so
    // 403 (as nginx: index and try_files are separate phases).
    EXPECT_EQ(body("/dironly/sub/"), "<status 403>");
    EXPECT_EQ(body("/dironly/file.txt"), "<status 403>");
}

TEST_F(HttpTryFilesTest, EqualsCodeEndsTheRequestWithThatCode) {
    const auto r = get("/tf/missing.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 404);
    EXPECT_NE(r->body.find("<title>404 Not Found</title>"), std::string::npos) << r->body;
    EXPECT_EQ(body("/teapot/nothing"), "<status 418>");
}

TEST_F(HttpTryFilesTest, FallbackUriArgumentsReplaceTheRequests) {
    EXPECT_EQ(body("/fb/none?q=1"), "uri=/show args=from=/fb/none");
    EXPECT_EQ(body("/keep/none?q=1&r=2"), "uri=/show args=q=1&r=2");
    // Without "?" in the fallback the request's arguments are dropped (nginx).
    EXPECT_EQ(body("/noargs/none?q=1"), "uri=/show args=");
    // A file that exists is served whatever the arguments.
    EXPECT_EQ(body("/tf/a.txt?q=1"), "file a\n");
}

TEST_F(HttpTryFilesTest, NamedLocationFallback) {
    EXPECT_EQ(body("/named/none?k=v"), "named uri=/named/none args=k=v");
    EXPECT_EQ(body("/named/real.txt"), "real file\n");
    // A named location that does not exist: 500 and nginx's log line.
    EXPECT_EQ(body("/nowhere/x"), "<status 500>");
    EXPECT_TRUE(
        server_->wait_for_text("logs/error.log", "could not find named location \"@missing\""));
}

TEST_F(HttpTryFilesTest, InternalLocationIs404ForClientsButServesRedirects) {
    EXPECT_EQ(body("/secret/s.txt"), "<status 404>");
    EXPECT_EQ(body("/via/anything"), "secret\n");
}

TEST_F(HttpTryFilesTest, RedirectCycleEndsWith500AndTheLogLine) {
    const auto r = get("/loop");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 500);
    EXPECT_NE(r->body.find("500 Internal Server Error"), std::string::npos);
    const std::string message =
        "rewrite or internal redirection cycle while internally redirecting to \"/loop\"";
    ASSERT_TRUE(server_->wait_for_text("logs/error.log", message));
    for (const std::string& line : split_lines(server_->error_log())) {
        if (line.find(message) != std::string::npos) {
            EXPECT_NE(line.find("[error]"), std::string::npos) << line;
            EXPECT_NE(line.find("request: \"GET /loop HTTP/1.1\""), std::string::npos) << line;
        }
    }
    // The server is fine afterwards.
    EXPECT_EQ(body("/tf/a.txt"), "file a\n");
}

TEST_F(HttpTryFilesTest, WorksThroughTheOpenFileCache) {
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(body("/cached/c.txt"), "cached file\n");
        EXPECT_EQ(body("/cached/none.txt"), "<status 404>");
    }
}

TEST_F(HttpTryFilesTest, ServerLevelTryFilesIsNotInheritedByLocations) {
    // No location matches "/other/x": the server's own try_files applies.
    EXPECT_EQ(body("/other/x?y=1"), "uri=/show args=server=1");
    EXPECT_EQ(body("/index.html"), "top index\n");
    // "/plain/" is a location of its own, without try_files.
    EXPECT_EQ(body("/plain/x"), "<status 404>");
}

TEST_F(HttpTryFilesTest, HeadOfAFoundFileHasItsLength) {
    HttpClient c(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(http_get("/tf/a.txt", "localhost", "", "HEAD")));
    const auto r = c.read_response(true);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header_or("Content-Length"), "7");
}

struct BadTryFiles {
    const char* name;
    const char* line;
    const char* message;
};

const BadTryFiles k_bad[] = {
    {"UnknownVariable", "        try_files $nosuch =404;\n", "unknown \"nosuch\" variable"},
    {"BadCode", "        try_files $uri =abc;\n", "invalid code \"=abc\""},
    {"OneArgument", "        try_files $uri;\n",
     "invalid number of arguments in \"try_files\" directive"},
    {"InternalWithArgument", "        location /x/ { internal on; }\n",
     "invalid number of arguments in \"internal\" directive"},
    {"UnknownNamedCapture", "        try_files $uri /x?$nope;\n", "unknown \"nope\" variable"},
};

TEST(HttpTryFilesConfig, ErrorsNameFileAndLine) {
    for (const BadTryFiles& c : k_bad) {
        SCOPED_TRACE(c.name);
        TestServer server;
        const std::string http =
            "    server {\n        listen 127.0.0.1:" + std::to_string(free_port()) + ";\n" +
            c.line + "    }\n";
        EXPECT_TRUE(config_text_fails(server, TestServer::config(http), c.line, c.message));
    }
}

}  // namespace
}  // namespace evs::test
