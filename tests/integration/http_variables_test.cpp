// Variables with the real binary: in `root` (per Host), in `alias` of regex locations
// ($1 and named captures), named captures of a regex server name, an alias inherited
// by a nested location with the prefix it replaces (nginx's rule), `return` texts,
// log_format with the request variables and escape=json, and the configuration
// errors for an unknown variable (file:line).
//
// One server (one worker) runs for the suite; the tests only read from it.

#include <gtest/gtest.h>

#include <string>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

class HttpVariablesTest : public SharedServerSuite<HttpVariablesTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        TestServer& s = *server_;
        const std::string listen = "        listen 127.0.0.1:" + std::to_string(port_) + ";\n";
        s.write("html/index.html", "index\n");
        s.write("sites/one.test/site/f.txt", "site one\n");
        s.write("sites/two.test/site/f.txt", "site two\n");
        s.write("data/images/cat.bin", "cat image\n");
        s.write("data/named/abc.txt", "named abc\n");
        s.write("data/alias/top.txt", "alias top\n");
        s.write("data/alias/b/c.txt", "alias nested\n");
        s.write("vh/shop/v.txt", "vhost shop\n");
        const std::string http =
            "    log_format vars '$uri|$args|$is_args|$arg_a|$http_x_test|$cookie_sid|$host|"
            "$server_port|$request_method|$status|$server_protocol|$scheme|$remote_addr';\n"
            "    log_format js escape=json '{\"uri\":\"$uri\",\"x\":\"$http_x_test\"}';\n"
            "    server {\n" +
            listen +
            "        server_name localhost;\n"
            "        root html;\n"
            "        access_log logs/vars.log vars;\n"
            "        access_log logs/json.log js;\n"
            "        location /site/ { root sites/$host; }\n"
            "        location ~ ^/img/(.+)\\.png$ { alias data/images/$1.bin; }\n"
            "        location ~ ^/named/(?<part>[a-z]+)$ { alias data/named/$part.txt; }\n"
            "        location /a/ {\n"
            "            alias data/alias/;\n"
            "            location /a/b/ { }\n"
            "        }\n"
            "        location /ret/ { return 200 \"uri=$uri a=$arg_a ${arg_b}x\"; }\n"
            "        location /go/ { return 302 http://other.test$request_uri; }\n"
            "        location /paths/ {\n"
            "            alias data/;\n"
            "            return 200 \"$document_root|$request_filename\";\n"
            "        }\n"
            "    }\n"
            "    server {\n" +
            listen +
            "        server_name ~^(?<shop>[a-z]+)\\.vh\\.test$;\n"
            "        root vh/$shop;\n"
            "        access_log off;\n"
            "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        ASSERT_TRUE(s.start());
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/index.html") == 200; }, 5s));
    }

    // The body of a 200 response, or "<status N>".
    static std::string body(std::string_view path, std::string_view host = "localhost") {
        const auto r = get(path, host);
        if (!r) {
            return "<no response>";
        }
        return r->status == 200 ? r->body : "<status " + std::to_string(r->status) + ">";
    }

    // The line of a log that contains `marker` (lines are written after the response,
    // so the client may read the response first).
    static std::string log_line(const std::string& name, std::string_view marker) {
        std::string found = "<no line with " + std::string(marker) + ">";
        wait_until(
            [&] {
                for (const std::string& line :
                     split_lines(read_file(server_->prefix() + "logs/" + name))) {
                    if (line.find(marker) != std::string::npos) {
                        found = line;
                        return true;
                    }
                }
                return false;
            },
            5s);
        return found;
    }
};

TEST_F(HttpVariablesTest, RootWithHostServesPerHostTrees) {
    EXPECT_EQ(body("/site/f.txt", "one.test"), "site one\n");
    EXPECT_EQ(body("/site/f.txt", "two.test"), "site two\n");
    EXPECT_EQ(body("/site/f.txt", "three.test"), "<status 404>");
}

TEST_F(HttpVariablesTest, AliasInRegexLocationIsTheWholePathFromCaptures) {
    EXPECT_EQ(body("/img/cat.png"), "cat image\n");
    EXPECT_EQ(body("/img/dog.png"), "<status 404>");
    EXPECT_EQ(body("/named/abc"), "named abc\n");
    EXPECT_EQ(body("/named/xyz"), "<status 404>");
}

TEST_F(HttpVariablesTest, NestedLocationInheritsTheAliasAndItsPrefix) {
    EXPECT_EQ(body("/a/top.txt"), "alias top\n");
    // nginx: /a/b/c.txt in the nested location is data/alias/ + "b/c.txt".
    EXPECT_EQ(body("/a/b/c.txt"), "alias nested\n");
}

TEST_F(HttpVariablesTest, NamedCaptureOfTheServerNameInRoot) {
    EXPECT_EQ(body("/v.txt", "shop.vh.test"), "vhost shop\n");
    EXPECT_EQ(body("/v.txt", "other.vh.test"), "<status 404>");
}

TEST_F(HttpVariablesTest, ReturnTextsExpandVariables) {
    EXPECT_EQ(body("/ret/x?a=1&b=2"), "uri=/ret/x a=1 2x");
    EXPECT_EQ(body("/ret/y"), "uri=/ret/y a= x");
    const auto r = get("/go/p?q=1");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 302);
    EXPECT_EQ(r->header_or("Location"), "http://other.test/go/p?q=1");
}

TEST_F(HttpVariablesTest, DocumentRootAndRequestFilenameFollowTheAlias) {
    const std::string data = server_->prefix() + "data/";
    EXPECT_EQ(body("/paths/x/y.txt"), data + "|" + data + "x/y.txt");
}

TEST_F(HttpVariablesTest, LogFormatsWriteRequestVariablesEscaped) {
    HttpClient c(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(
        c.send("GET /index.html?a=b%20c&z=1 HTTP/1.1\r\nHost: localhost\r\n"
               "X-Test: say \"hi\"\\\r\nCookie: x=1; sid=abc; y=2\r\n"
               "Connection: close\r\n\r\n"));
    const auto r = c.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(log_line("vars.log", "z=1"),
              "/index.html|a=b%20c&z=1|?|b%20c|say \\x22hi\\x22\\x5C|abc|localhost|" +
                  std::to_string(port_) + "|GET|200|HTTP/1.1|http|127.0.0.1");
    EXPECT_EQ(log_line("json.log", "say"),
              "{\"uri\":\"/index.html\",\"x\":\"say \\\"hi\\\"\\\\\"}");

    // Absent values: "-" in the default escaping (an empty $is_args exists: nothing),
    // nothing in JSON.
    ASSERT_EQ(status_of(port_, "/index.html/none"), 404);
    EXPECT_EQ(log_line("vars.log", "/index.html/none"), "/index.html/none|-||-|-|-|localhost|" +
                                                            std::to_string(port_) +
                                                            "|GET|404|HTTP/1.1|http|127.0.0.1");
    EXPECT_EQ(log_line("json.log", "/index.html/none"),
              "{\"uri\":\"/index.html/none\",\"x\":\"\"}");
}

struct BadVariable {
    const char* name;
    const char* lines;    // inside the server block, after listen
    int line;             // of the bad directive, counted from the listen line
    const char* message;  // without " in file:line"
};

const BadVariable k_bad[] = {
    {"UnknownInRoot", "        root /srv/$nosuch;\n", 1, "unknown \"nosuch\" variable"},
    {"UnknownNamedCaptureInAlias",
     "        location ~ ^/(?<known>.*)$ {\n            alias /srv/$unknown;\n        }\n", 2,
     "unknown \"unknown\" variable"},
    {"UnclosedBrace", "        return 200 \"${uri\";\n", 1,
     "the closing bracket in \"uri\" variable is missing"},
    {"UnknownInAccessLogIf", "        access_log logs/a.log combined if=$nope;\n", 1,
     "unknown \"nope\" variable"},
};

TEST(HttpVariablesConfig, UnknownVariablesAreErrorsWithFileAndLine) {
    for (const BadVariable& c : k_bad) {
        SCOPED_TRACE(c.name);
        TestServer server;
        const std::string http =
            "    server {\n        listen 127.0.0.1:" + std::to_string(free_port()) + ";\n" +
            c.lines + "    }\n";
        const std::string text = TestServer::config(http);
        ASSERT_TRUE(server.configure(text));
        // The directive's line: `c.line` lines after the listen line.
        const int line = line_of(text, "listen 127.0.0.1:") + c.line;
        EXPECT_TRUE(config_test_fails(server, emerg_at(c.message, server.conf_path(), line)));
    }
}

}  // namespace
}  // namespace evs::test
