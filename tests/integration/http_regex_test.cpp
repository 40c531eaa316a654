// Regular expressions with the real binary: `location ~` and `~*` against prefix, exact
// and `^~` locations, a regex nested in a prefix, `server_name ~...` chosen by the Host
// header, and the nginx-style error for a pattern PCRE2 rejects.
//
// One server (one worker) runs for the suite; the tests only read from it.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

class HttpRegexTest : public SharedServerSuite<HttpRegexTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        TestServer& s = *server_;
        const std::string listen = "        listen 127.0.0.1:" + std::to_string(port_) + ";\n";
        s.write("html/a.png", "a png file\n");
        s.write("html/upper.PNG", "upper file\n");
        s.write("html/static/s.png", "static png file\n");
        s.write("html/index.html", "index\n");
        const std::string http = "    server {\n" + listen +
                                 "        server_name localhost;\n"
                                 "        root html;\n"
                                 "        location / { }\n"
                                 "        location = /exact.png { return 200 \"exact\\n\"; }\n"
                                 "        location ^~ /static/ { }\n"
                                 "        location ~ \\.png$ { return 200 \"png\\n\"; }\n"
                                 "        location ~* \\.JPG$ { return 200 \"jpg\\n\"; }\n"
                                 "        location /app/ {\n"
                                 "            return 200 \"app\\n\";\n"
                                 "            location ~ \\.css$ { return 200 \"app css\\n\"; }\n"
                                 "        }\n"
                                 "        location ~ \\.css$ { return 200 \"css\\n\"; }\n"
                                 "        location ~ ^/u/(\\d+)$ { return 200 \"user\\n\"; }\n"
                                 "        location ~ ^/slow/(a+)+$ { return 200 \"slow\\n\"; }\n"
                                 "    }\n"
                                 "    server {\n" +
                                 listen +
                                 "        server_name ~^(?<sub>[a-z]+)\\.regex\\.test$;\n"
                                 "        return 200 \"regex vhost\\n\";\n"
                                 "    }\n"
                                 "    server {\n" +
                                 listen +
                                 "        server_name *.wild.test;\n"
                                 "        return 200 \"wild vhost\\n\";\n"
                                 "    }\n"
                                 "    server {\n" +
                                 listen +
                                 "        server_name ~^www\\. exact.test;\n"
                                 "        return 200 \"www vhost\\n\";\n"
                                 "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        ASSERT_TRUE(s.start());
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/index.html") == 200; }, 5s));
    }

    static std::string body(std::string_view path, std::string_view host = "localhost",
                            int* status = nullptr) {
        std::string why;
        const auto r = fetch(port_, http_get(path, host), &why);
        EXPECT_TRUE(r.has_value()) << "GET " << path << " Host " << host << ": " << why;
        if (!r) {
            return "<no response>";
        }
        if (status != nullptr) {
            *status = r->status;
        }
        return r->body;
    }
};

TEST_F(HttpRegexTest, RegexBeatsPrefixButNotExact) {
    // The file exists, but the regex location answers before the prefix "/" serves it.
    EXPECT_EQ(body("/a.png"), "png\n");
    EXPECT_EQ(body("/deep/dir/x.png"), "png\n");
    EXPECT_EQ(body("/exact.png"), "exact\n");
    EXPECT_EQ(body("/index.html"), "index\n");
}

TEST_F(HttpRegexTest, TildeIsCaseSensitiveTildeStarIsNot) {
    int status = 0;
    // \.png$ does not match ".PNG": the prefix location serves the file.
    EXPECT_EQ(body("/upper.PNG", "localhost", &status), "upper file\n");
    EXPECT_EQ(status, 200);
    EXPECT_EQ(body("/x.jpg"), "jpg\n");
    EXPECT_EQ(body("/x.JPG"), "jpg\n");
    EXPECT_EQ(body("/x.JpG"), "jpg\n");
}

TEST_F(HttpRegexTest, NoRegexPrefixPreventsTheRegexes) {
    const auto r = fetch(port_, http_get("/static/s.png"));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "static png file\n");
    EXPECT_EQ(r->header_or("Content-Type"), "image/png");
}

TEST_F(HttpRegexTest, NestedRegexIsTriedBeforeTheOuterOnes) {
    EXPECT_EQ(body("/app/x.css"), "app css\n");
    EXPECT_EQ(body("/other/x.css"), "css\n");
    EXPECT_EQ(body("/app/x.txt"), "app\n");
    EXPECT_EQ(body("/app/x.png"), "png\n");  // no nested match: the server's regexes
}

TEST_F(HttpRegexTest, MatchesTheDecodedNormalisedPathWithoutArguments) {
    EXPECT_EQ(body("/a%2Epng"), "png\n");
    EXPECT_EQ(body("/dir/../b.png"), "png\n");
    EXPECT_EQ(body("/a.png?x=.css"), "png\n");
    EXPECT_EQ(body("/x.txt?y=.png"), body("/x.txt"));  // the prefix's 404, not "png"
    EXPECT_EQ(body("/u/42"), "user\n");
    EXPECT_EQ(body("/u/%34%32"), "user\n");
    int status = 0;
    body("/u/42x", "localhost", &status);
    EXPECT_EQ(status, 404);
}

TEST_F(HttpRegexTest, ServerNameRegexByHost) {
    EXPECT_EQ(body("/", "abc.regex.test"), "regex vhost\n");
    EXPECT_EQ(body("/", "ABC.Regex.Test"), "regex vhost\n");  // hosts are lowercased
    EXPECT_EQ(body("/", "abc.regex.test:" + std::to_string(port_)), "regex vhost\n");
    EXPECT_EQ(body("/", "www.example.org"), "www vhost\n");
    EXPECT_EQ(body("/", "exact.test"), "www vhost\n");
    // Wildcards come before regexes: "www.wild.test" matches both.
    EXPECT_EQ(body("/", "www.wild.test"), "wild vhost\n");
    EXPECT_EQ(body("/", "a.wild.test"), "wild vhost\n");
    // [a-z]+ takes no dot: no regex matches, the default server answers.
    EXPECT_EQ(body("/index.html", "a.b.regex.test"), "index\n");
    EXPECT_EQ(body("/index.html", "other.test"), "index\n");
}

TEST_F(HttpRegexTest, MatchLimitAnswers500AndLogsAnAlert) {
    EXPECT_EQ(body("/slow/aaaa"), "slow\n");
    const std::string uri = "/slow/" + std::string(40, 'a') + "b";
    int status = 0;
    body(uri, "localhost", &status);
    EXPECT_EQ(status, 500);
    EXPECT_TRUE(server_->wait_for_text(
        "logs/error.log", "pcre2_match() failed: match limit exceeded on \"" + uri + "\"", 3s))
        << server_->read("logs/error.log");
    EXPECT_NE(server_->read("logs/error.log").find("[alert]"), std::string::npos);
    // The worker is fine afterwards.
    EXPECT_EQ(body("/a.png"), "png\n");
}

struct BadRegexCase {
    const char* name;
    const char* server_lines;  // after "listen", each line ending in \n
    const char* message;
    int line;
};

TEST(HttpRegexConfig, BadPatternsAreEmergWithFileAndLine) {
    const BadRegexCase cases[] = {
        {"location", "        location ~ (foo { }\n",
         "pcre2_compile() failed: missing closing parenthesis in \"(foo\" at \"\"", 0},
        {"caseless location", "        root html;\n        location ~* a[b { }\n",
         "pcre2_compile() failed: missing terminating ] for character class in \"a[b\" at \"\"", 1},
        {"server_name", "        server_name x.test ~^(www;\n",
         "pcre2_compile() failed: missing closing parenthesis in \"^(www\" at \"\"", 0},
    };
    for (const BadRegexCase& c : cases) {
        SCOPED_TRACE(c.name);
        TestServer server;
        const std::string http =
            "    server {\n        listen 127.0.0.1:" + std::to_string(free_port()) + ";\n" +
            c.server_lines + "    }\n";
        const std::string text = TestServer::config(http);
        ASSERT_TRUE(server.configure(text));
        // The directive's line: `c.line` lines after the one that follows the listen line.
        const int line = line_of(text, "listen 127.0.0.1:") + 1 + c.line;
        const std::string expected = emerg_at(c.message, server.conf_path(), line);
        EXPECT_TRUE(config_test_fails(server, expected));
        EXPECT_TRUE(config_start_fails(server, expected));
    }
}

}  // namespace
}  // namespace evs::test
