// error_page, recursive_error_pages, nginx's built-in error bodies and server_tokens,
// with the real binary: a page answered with the error's status, "=code" and "=" (the
// target's own status), a URL (302, or =301), a named location, a POST redirected as
// GET, recursion off (the built-in page) and on (followed again, bounded by the
// redirect limit), the inheritance rule (a block with any error_page replaces the
// enclosing list), the signature without the version under server_tokens off, the
// configuration errors, and the access-log lines of requests that never finished
// their head (408 after client_header_timeout, 400 for a bad request line or a client
// that broke off; nothing for a connection that sent nothing).

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

class HttpErrorPageTest : public SharedServerSuite<HttpErrorPageTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        quiet_port_ = free_port();
        TestServer& s = *server_;
        s.write("html/index.html", "index\n");
        s.write("html/errors/404.html", "custom 404 page\n");
        s.write("html/errors/405.html", "custom 405 page\n");
        s.write("html/errors/gone.html", "gone page\n");
        s.write("html/post/file.txt", "post target\n");
        s.write("html/errors/494.html", "custom 494 page\n");
        s.write("html/errors/413.html", "custom 413 page\n");
        const std::string http =
            "    error_page 405 /index.html;\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        server_name localhost;\n"
            "        root html;\n"
            "        error_page 404 /errors/404.html;\n"
            "        error_page 494 /errors/494.html;\n"
            "        location /errors/ { internal; }\n"
            "        location = /show { return 200 \"uri=$uri args=$args method=$request_method\"; "
            "}\n"
            "        location /inherit/ { }\n"
            "        location /own/ { error_page 403 /errors/404.html; }\n"
            "        location /eq/ { error_page 404 = /show?from=eq; }\n"
            "        location /code/ { error_page 404 =200 /errors/404.html; }\n"
            "        location /url/ { error_page 404 http://example.test/nf$request_uri; }\n"
            "        location /url301/ { error_page 404 =301 http://example.test/moved; }\n"
            "        location /at/ { error_page 404 @nf; }\n"
            "        location @nf { return 200 \"named $request_method $uri\"; }\n"
            "        location /post/ { error_page 405 /errors/405.html; }\n"
            "        location /norec/ { error_page 404 /gone/x; }\n"
            "        location /rec/ { recursive_error_pages on; error_page 404 /gone/x; }\n"
            "        location /gone/ { error_page 404 /errors/gone.html; }\n"
            "        location /cycle/ {\n"
            "            recursive_error_pages on;\n"
            "            error_page 404 /cycle/y;\n"
            "            error_page 500 /show;\n"
            "        }\n"
            "        location /ret/ { return 404; }\n"
            "        location /fail500/ { error_page 500 /show; try_files /none @nothere; }\n"
            "        location /drop/ { error_page 444 /errors/404.html; return 444; }\n"
            "        location /small/ {\n"
            "            client_max_body_size 10;\n"
            "            error_page 413 /errors/413.html;\n"
            "        }\n"
            "        location /teapot/ { error_page 418 =200 /show; return 418; }\n"
            "    }\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(quiet_port_) +
            ";\n"
            "        server_name quiet;\n"
            "        root html;\n"
            "        server_tokens off;\n"
            "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        ASSERT_TRUE(s.start());
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/index.html") == 200; }, 5s));
    }

    static std::optional<HttpResponse> request(std::string_view text, std::uint16_t port = 0) {
        std::string why;
        auto r = fetch(port != 0 ? port : port_, text, &why);
        EXPECT_TRUE(r.has_value()) << why;
        return r;
    }

    static inline std::uint16_t quiet_port_ = 0;
};

TEST_F(HttpErrorPageTest, UriPageKeepsTheErrorStatus) {
    const auto r = get("/inherit/missing");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body, "custom 404 page\n");
    EXPECT_EQ(r->header_or("Content-Type"), "text/html");
    EXPECT_FALSE(r->header("Last-Modified").has_value());
    // The page's location is internal: clients cannot ask for it themselves.
    const auto direct = get("/errors/404.html");
    ASSERT_TRUE(direct.has_value());
    EXPECT_EQ(direct->status, 404);
    EXPECT_EQ(direct->body, "custom 404 page\n");  // its own 404 goes to the same page
}

TEST_F(HttpErrorPageTest, ALevelWithAnyErrorPageReplacesTheEnclosingList) {
    const auto r = get("/own/missing");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 404);
    EXPECT_NE(r->body.find("<title>404 Not Found</title>"), std::string::npos) << r->body;
}

TEST_F(HttpErrorPageTest, EqualsTakesTheTargetsStatusAndArguments) {
    const auto r = get("/eq/missing?q=1");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "uri=/show args=from=eq method=GET");
}

TEST_F(HttpErrorPageTest, EqualsCodeSetsTheStatus) {
    const auto r = get("/code/missing");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "custom 404 page\n");
    // A `return` code has error pages too.
    const auto t = get("/teapot/x");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->status, 200);
    EXPECT_EQ(t->body, "uri=/show args= method=GET");
}

TEST_F(HttpErrorPageTest, UrlIsARedirect) {
    const auto r = get("/url/missing?a=b");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 302);
    EXPECT_EQ(r->header_or("Location"), "http://example.test/nf/url/missing?a=b");
    EXPECT_NE(r->body.find("<title>302 Moved Temporarily</title>"), std::string::npos);
    const auto p = get("/url301/missing");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->status, 301);
    EXPECT_EQ(p->header_or("Location"), "http://example.test/moved");
}

TEST_F(HttpErrorPageTest, NamedLocationKeepsTheMethod) {
    const auto r = get("/at/missing");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 404);  // no "=": the error's status
    EXPECT_EQ(r->body, "named GET /at/missing");
    const auto d = request("DELETE /at/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->status, 405);  // the static handler refuses DELETE; no page for 405 here
}

TEST_F(HttpErrorPageTest, PostIsRedirectedAsGet) {
    const auto r = request(
        "POST /post/file.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
        "Connection: close\r\n\r\nhello");
    ASSERT_TRUE(r.has_value());
    // The static handler answers POST with 405; the page is then fetched with GET.
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->body, "custom 405 page\n");
    // HEAD stays HEAD: the error status and no body.
    HttpClient c(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send("HEAD /inherit/missing HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    const auto h = c.read_response(true);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->status, 404);
    EXPECT_EQ(h->header_or("Content-Length"), "16");
}

TEST_F(HttpErrorPageTest, RecursionOffGivesTheBuiltInPage) {
    // /norec/missing -> /gone/x, whose own 404 would go to gone.html: not followed.
    const auto r = get("/norec/missing");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 404);
    EXPECT_NE(r->body.find("<center><h1>404 Not Found</h1></center>"), std::string::npos)
        << r->body;
}

TEST_F(HttpErrorPageTest, RecursionOnFollowsAgainAndIsBounded) {
    const auto r = get("/rec/missing");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body, "gone page\n");
    // An error page that errs into itself: the redirect limit ends it with 500, and
    // no error_page (not even the location's 500) applies once the limit is reached.
    const auto c = get("/cycle/missing");
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->status, 500);
    EXPECT_NE(c->body.find("500 Internal Server Error"), std::string::npos) << c->body;
    EXPECT_TRUE(server_->wait_for_text(
        "logs/error.log",
        "rewrite or internal redirection cycle while internally redirecting to \"/cycle/y\""));
}

TEST_F(HttpErrorPageTest, HttpLevelListIsInheritedByAServerWithout) {
    const std::string post =
        "POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    // The quiet server has no error_page: the http level's 405 page applies.
    const auto quiet = request(post, quiet_port_);
    ASSERT_TRUE(quiet.has_value());
    EXPECT_EQ(quiet->status, 405);
    EXPECT_EQ(quiet->body, "index\n");
    // The first server has its own list: the built-in page.
    const auto own = request(post);
    ASSERT_TRUE(own.has_value());
    EXPECT_EQ(own->status, 405);
    EXPECT_NE(own->body.find("<title>405 Not Allowed</title>"), std::string::npos) << own->body;
}

TEST_F(HttpErrorPageTest, HeaderTooLargeMatches494AndIsAnswered400) {
    const std::string big(9000, 'x');
    HttpClient c(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(
        c.send("GET /index.html HTTP/1.1\r\nHost: localhost\r\nX-Big: " + big + "\r\n\r\n"));
    const auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->body, "custom 494 page\n");
    EXPECT_EQ(r->header_or("Connection"), "close");
}

TEST_F(HttpErrorPageTest, TooLargeBodyGetsItsPageAndNoKeepalive) {
    HttpClient c(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send("POST /small/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n"));
    const auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->body, "custom 413 page\n");
    EXPECT_EQ(r->header_or("Connection"), "close");
}

TEST_F(HttpErrorPageTest, ServerErrorPageEndsKeepalive) {
    const auto r = get("/fail500/x");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 500);
    EXPECT_EQ(r->body, "uri=/show args= method=GET");
    EXPECT_EQ(r->header_or("Connection"), "close");  // nginx: no keepalive after a 500
    // A 404 page keeps the connection.
    const auto k = get("/inherit/missing");
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->header_or("Connection"), "keep-alive");
}

TEST_F(HttpErrorPageTest, Status444ClosesWithoutAnErrorPage) {
    HttpClient c(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(http_get("/drop/x")));
    std::string extra;
    ASSERT_TRUE(c.wait_closed(5s, &extra));
    EXPECT_EQ(extra, "");
}

TEST_F(HttpErrorPageTest, ReturnCodesGoThroughErrorPages) {
    const auto r = get("/ret/x");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body, "custom 404 page\n");
}

TEST_F(HttpErrorPageTest, ServerTokensOffRemovesTheVersion) {
    const auto on = get("/own/nothing-here");  // a location without a 404 page
    ASSERT_TRUE(on.has_value());
    EXPECT_TRUE(on->header_or("Server").starts_with("evserve/")) << on->header_or("Server");

    const auto off = request("GET /nothing-here HTTP/1.1\r\nHost: quiet\r\n\r\n", quiet_port_);
    ASSERT_TRUE(off.has_value());
    EXPECT_EQ(off->status, 404);
    EXPECT_EQ(off->header_or("Server"), "evserve");
    EXPECT_EQ(off->body,
              "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
              "<center><h1>404 Not Found</h1></center>\r\n<hr><center>evserve</center>\r\n"
              "</body>\r\n</html>\r\n");
    // A request that fails before any location is chosen uses the server's setting.
    const auto bad = request("GET /x HTTP/1.1\r\nHost: quiet\r\nHost: again\r\n\r\n", quiet_port_);
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->status, 400);
    EXPECT_EQ(bad->header_or("Server"), "evserve");
    EXPECT_NE(bad->body.find("<hr><center>evserve</center>"), std::string::npos) << bad->body;

    // With tokens on, the body names the version, as the header does.
    const std::string version = on->header_or("Server");
    EXPECT_NE(on->body.find("<hr><center>" + version + "</center>"), std::string::npos);
}

struct BadErrorPage {
    const char* name;
    const char* line;
    const char* message;
};

const BadErrorPage k_bad[] = {
    {"StatusTooLow", "        error_page 200 /x;\n", "value \"200\" must be between 300 and 599"},
    {"StatusTooHigh", "        error_page 600 /x;\n", "value \"600\" must be between 300 and 599"},
    {"Status499", "        error_page 499 /x;\n", "invalid value \"499\""},
    {"NotANumber", "        error_page 40x /x;\n", "invalid value \"40x\""},
    {"OnlyResponse", "        error_page =200 /x;\n", "invalid value \"=200\""},
    {"BadResponse", "        error_page 404 =abc /x;\n", "invalid value \"=abc\""},
    {"UnknownVariable", "        error_page 404 /x?$nosuch;\n", "unknown \"nosuch\" variable"},
    {"OneArgument", "        error_page 404;\n",
     "invalid number of arguments in \"error_page\" directive"},
    {"RecursiveNotAFlag", "        recursive_error_pages yes;\n",
     "invalid value \"yes\" in \"recursive_error_pages\" directive, it must be \"on\" or "
     "\"off\""},
};

TEST(HttpErrorPageConfig, ErrorsNameFileAndLine) {
    for (const BadErrorPage& c : k_bad) {
        SCOPED_TRACE(c.name);
        TestServer server;
        const std::string http =
            "    server {\n        listen 127.0.0.1:" + std::to_string(free_port()) + ";\n" +
            c.line + "    }\n";
        EXPECT_TRUE(config_text_fails(server, TestServer::config(http), c.line, c.message));
    }
}

// The access log of requests that never finished their head, as nginx writes it.
class HttpUnfinishedRequestLogTest : public SharedServerSuite<HttpUnfinishedRequestLogTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        TestServer& s = *server_;
        s.write("html/index.html", "index\n");
        const std::string http =
            "    log_format short '\"$request\" $status $body_bytes_sent';\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        client_header_timeout 300ms;\n"
            "        access_log logs/short.log short;\n"
            "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        ASSERT_TRUE(s.start());
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/index.html") == 200; }, 5s));
    }

    static std::string log() { return server_->read("logs/short.log"); }
};

TEST_F(HttpUnfinishedRequestLogTest, HeaderTimeoutAfterAPartialHeadIsLogged408) {
    HttpClient c(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send("GET /slow HTTP/1.1\r\nHost: localhost\r\n"));
    std::string extra;
    ASSERT_TRUE(c.wait_closed(5s, &extra));
    EXPECT_EQ(extra, "");  // nginx sends nothing for a 408 while reading the head
    EXPECT_TRUE(server_->wait_for_text("logs/short.log", "\"GET /slow HTTP/1.1\" 408 0\n"))
        << log();
}

TEST_F(HttpUnfinishedRequestLogTest, ConnectionThatSentNothingIsNotLogged) {
    // Lines are written after their responses: settle the log first.
    ASSERT_EQ(status_of(port_, "/index.html?marker-before"), 200);
    ASSERT_TRUE(server_->wait_for_text("logs/short.log", "marker-before"));
    const std::size_t before = split_lines(log()).size();
    HttpClient c(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.wait_closed(5s));
    // A request that finishes after it lands in the log after it: nothing in between.
    ASSERT_EQ(status_of(port_, "/index.html?marker-nothing"), 200);
    ASSERT_TRUE(server_->wait_for_text("logs/short.log", "marker-nothing"));
    const std::vector<std::string> lines = split_lines(log());
    ASSERT_EQ(lines.size(), before + 1) << log();
    EXPECT_EQ(lines.back(), "\"GET /index.html?marker-nothing HTTP/1.1\" 200 6");
}

TEST_F(HttpUnfinishedRequestLogTest, BadRequestLineIsLogged400) {
    HttpClient c(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send("GET /a b c\r\n\r\n"));
    const auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(server_->wait_for_text("logs/short.log", "\"GET /a b c\" 400 ")) << log();
}

TEST_F(HttpUnfinishedRequestLogTest, ClientBreakingOffItsHeadIsLogged400) {
    {
        HttpClient c(port_);
        ASSERT_TRUE(c.ok());
        ASSERT_TRUE(c.send("GET /broken HTTP/1.1\r\nHost: loc"));
        // Let the server read the part before the close arrives.
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(server_->wait_for_text("logs/short.log", "\"GET /broken HTTP/1.1\" 400 0\n"))
        << log();
    {
        HttpClient c(port_);
        ASSERT_TRUE(c.ok());
        ASSERT_TRUE(c.send("GET /half-a-li"));
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(server_->wait_for_text("logs/short.log", "\"GET /half-a-li\" 400 0\n")) << log();
}

}  // namespace
}  // namespace evs::test
