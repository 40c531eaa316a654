// add_header, expires, charset and charset_types with the real binary: nginx's
// statuses (safe statuses, `always`), the inheritance rule (a block with any
// add_header drops the enclosing block's list, the other directives inherit one by
// one), empty values, variables, replacing ETag and Last-Modified, every form of
// expires, and the configuration errors with file:line.
//
// One server (one worker) runs for the suite; the tests only read from it.

#include <gtest/gtest.h>
#include <utime.h>

#include <ctime>
#include <string>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

std::time_t parse_date(const std::string& text) {
    tm t{};
    const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &t);
    return end != nullptr && *end == '\0' ? timegm(&t) : -1;
}

// The header lines of a response head, in order, without the status line.
std::vector<std::string> header_names(const HttpResponse& r) {
    std::vector<std::string> names;
    for (const auto& [name, value] : r.headers) {
        names.push_back(name);
    }
    return names;
}

class HttpHeadersTest : public SharedServerSuite<HttpHeadersTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        TestServer& s = *server_;
        const std::string listen = "        listen 127.0.0.1:" + std::to_string(port_) + ";\n";
        for (const char* dir : {"", "inherit/", "own/", "empty/", "var/", "exp/", "cs/",
                                "cs/types/", "cs/all/", "cs/src/", "tags/", "two/"}) {
            s.write(std::string("html/") + dir + "a.html", "<p>a</p>\n");
            s.write(std::string("html/") + dir + "a.txt", "a\n");
            s.write(std::string("html/") + dir + "a.json", "{}\n");
            s.write(std::string("html/") + dir + "a.png", "png\n");
        }
        // Files with a known mtime for `expires modified`.
        s.write("html/exp/recent.txt", "recent\n");
        s.write("html/exp/old.txt", "old\n");
        const std::time_t now = std::time(nullptr);
        utimbuf recent{now - 100, now - 100};
        utimbuf old{now - 7200, now - 7200};
        ::utime(s.path("html/exp/recent.txt").c_str(), &recent);
        ::utime(s.path("html/exp/old.txt").c_str(), &old);
        const std::string http =
            "    add_header X-Http http;\n"
            "    expires 2h;\n"
            "    server {\n" +
            listen +
            "        server_name localhost;\n"
            "        root html;\n"
            "        expires off;\n"
            "        add_header X-Server srv;\n"
            "        add_header X-Always yes always;\n"
            "        location /inherit/ { }\n"
            "        location /own/ { add_header X-Own own; }\n"
            "        location /empty/ { add_header X-Empty \"\"; add_header X-Kept kept; }\n"
            "        location /var/ { add_header X-Uri $uri; add_header X-Arg \"a=$arg_a\" "
            "always; add_header X-Nothing $arg_none; }\n"
            "        location /exp/max/ { alias html/exp/; expires max; }\n"
            "        location /exp/epoch/ { alias html/exp/; expires epoch; }\n"
            "        location /exp/hour/ { alias html/exp/; expires 1h; }\n"
            "        location /exp/zero/ { alias html/exp/; expires 0; }\n"
            "        location /exp/neg/ { alias html/exp/; expires -1; }\n"
            "        location /exp/mod/ { alias html/exp/; expires modified 1h; }\n"
            "        location /exp/daily/ { alias html/exp/; expires @15h30m; }\n"
            "        location = /ret404 { return 404; }\n"
            "        location = /ret302 { return 302 /elsewhere; }\n"
            "        location = /ret500 { return 500; }\n"
            "        location /cs/ {\n"
            "            charset utf-8;\n"
            "            location /cs/types/ { charset_types application/json; }\n"
            "            location /cs/all/ { charset koi8-r; charset_types *; }\n"
            "            location /cs/src/ { source_charset UTF-8; }\n"
            "        }\n"
            "        location /tags/ { add_header ETag '\"mine\"'; add_header Last-Modified \"\"; "
            "}\n"
            "    }\n"
            "    server {\n" +
            listen +
            "        server_name two.test;\n"
            "        root html;\n"
            "        location /two/ { }\n"
            "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        ASSERT_TRUE(s.start());
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/a.txt") == 200; }, 5s));
    }
};

TEST_F(HttpHeadersTest, ServerListIsInheritedByLocationsWithoutAddHeader) {
    const auto r = get("/inherit/a.txt");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header_or("X-Server"), "srv");
    EXPECT_EQ(r->header_or("X-Always"), "yes");
    // The server has its own add_header: the http level's is dropped.
    EXPECT_FALSE(r->header("X-Http"));
}

TEST_F(HttpHeadersTest, AnAddHeaderInALocationDropsTheWholeParentList) {
    const auto r = get("/own/a.txt");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header_or("X-Own"), "own");
    EXPECT_FALSE(r->header("X-Server"));
    EXPECT_FALSE(r->header("X-Always"));
}

TEST_F(HttpHeadersTest, HttpLevelListReachesAServerWithoutAddHeader) {
    const auto r = get("/two/a.txt", "two.test");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header_or("X-Http"), "http");
    EXPECT_FALSE(r->header("X-Server"));
    // expires 2h at the http level is inherited by this server (not by the first).
    EXPECT_EQ(r->header_or("Cache-Control"), "max-age=7200");
    const auto first = get("/inherit/a.txt");
    ASSERT_TRUE(first);
    EXPECT_FALSE(first->header("Expires"));
}

TEST_F(HttpHeadersTest, EmptyValueAddsNothing) {
    const auto r = get("/empty/a.txt");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->header("X-Empty"));
    EXPECT_EQ(r->header_or("X-Kept"), "kept");
}

TEST_F(HttpHeadersTest, OnlySafeStatusesGetHeadersWithoutAlways) {
    const auto missing = get("/inherit/none.txt");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_FALSE(missing->header("X-Server"));
    EXPECT_EQ(missing->header_or("X-Always"), "yes");

    const auto ret404 = get("/ret404");
    ASSERT_TRUE(ret404);
    EXPECT_EQ(ret404->status, 404);
    EXPECT_FALSE(ret404->header("X-Server"));
    EXPECT_EQ(ret404->header_or("X-Always"), "yes");

    const auto ret500 = get("/ret500");
    ASSERT_TRUE(ret500);
    EXPECT_EQ(ret500->status, 500);
    EXPECT_FALSE(ret500->header("X-Server"));
    EXPECT_EQ(ret500->header_or("X-Always"), "yes");

    const auto ret302 = get("/ret302");
    ASSERT_TRUE(ret302);
    EXPECT_EQ(ret302->status, 302);
    EXPECT_EQ(ret302->header_or("X-Server"), "srv");

    // The 301 of a directory without its slash is a safe status too.
    const auto dir = get("/inherit");
    ASSERT_TRUE(dir);
    EXPECT_EQ(dir->status, 301);
    EXPECT_EQ(dir->header_or("X-Server"), "srv");
}

TEST_F(HttpHeadersTest, NotModifiedAndPartialContentGetHeaders) {
    const auto full = get("/inherit/a.txt");
    ASSERT_TRUE(full);
    const auto r = fetch(port_, http_get("/inherit/a.txt", "localhost",
                                         "If-None-Match: " + full->header_or("ETag") + "\r\n"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 304);
    EXPECT_EQ(r->header_or("X-Server"), "srv");
    const auto part = fetch(port_, http_get("/inherit/a.txt", "localhost", "Range: bytes=0-0\r\n"));
    ASSERT_TRUE(part);
    EXPECT_EQ(part->status, 206);
    EXPECT_EQ(part->header_or("X-Server"), "srv");
}

TEST_F(HttpHeadersTest, AddedHeadersComeAfterETagAndBeforeAcceptRangesInOrder) {
    const auto r = get("/inherit/a.txt");
    ASSERT_TRUE(r);
    const auto names = header_names(*r);
    const auto at = [&](const char* name) {
        return std::find(names.begin(), names.end(), name) - names.begin();
    };
    EXPECT_LT(at("ETag"), at("X-Server"));
    EXPECT_LT(at("X-Server"), at("X-Always"));
    EXPECT_LT(at("X-Always"), at("Accept-Ranges"));
    EXPECT_LT(at("Accept-Ranges"), static_cast<long>(names.size()));
}

TEST_F(HttpHeadersTest, ValuesWithVariablesAreEvaluatedPerRequest) {
    const auto r = get("/var/a.txt?a=7");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header_or("X-Uri"), "/var/a.txt");
    EXPECT_EQ(r->header_or("X-Arg"), "a=7");
    EXPECT_FALSE(r->header("X-Nothing"));  // evaluates to "": not added
    const auto missing = get("/var/none?a=8");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_FALSE(missing->header("X-Uri"));
    EXPECT_EQ(missing->header_or("X-Arg"), "a=8");
}

TEST_F(HttpHeadersTest, AddHeaderReplacesETagAndRemovesLastModified) {
    const auto r = get("/tags/a.txt");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header_or("ETag"), "\"mine\"");
    EXPECT_EQ(count_of(r->head, "ETag:"), 1u);
    EXPECT_FALSE(r->header("Last-Modified"));
}

TEST_F(HttpHeadersTest, ExpiresMaxAndEpochAreNginxsFixedValues) {
    const auto max = get("/exp/max/a.txt");
    ASSERT_TRUE(max);
    EXPECT_EQ(max->header_or("Expires"), "Thu, 31 Dec 2037 23:55:55 GMT");
    EXPECT_EQ(max->header_or("Cache-Control"), "max-age=315360000");
    const auto epoch = get("/exp/epoch/a.txt");
    ASSERT_TRUE(epoch);
    EXPECT_EQ(epoch->header_or("Expires"), "Thu, 01 Jan 1970 00:00:01 GMT");
    EXPECT_EQ(epoch->header_or("Cache-Control"), "no-cache");
}

TEST_F(HttpHeadersTest, ExpiresTimeIsRelativeToNow) {
    const auto r = get("/exp/hour/a.txt");
    ASSERT_TRUE(r);
    const std::time_t date = parse_date(r->header_or("Date"));
    ASSERT_GT(date, 0);
    EXPECT_EQ(parse_date(r->header_or("Expires")), date + 3600);
    EXPECT_EQ(r->header_or("Cache-Control"), "max-age=3600");
    const auto zero = get("/exp/zero/a.txt");
    ASSERT_TRUE(zero);
    EXPECT_EQ(parse_date(zero->header_or("Expires")), parse_date(zero->header_or("Date")));
    EXPECT_EQ(zero->header_or("Cache-Control"), "max-age=0");
}

TEST_F(HttpHeadersTest, NegativeExpiresIsNoCache) {
    const auto r = get("/exp/neg/a.txt");
    ASSERT_TRUE(r);
    EXPECT_EQ(parse_date(r->header_or("Expires")), parse_date(r->header_or("Date")) - 1);
    EXPECT_EQ(r->header_or("Cache-Control"), "no-cache");
}

TEST_F(HttpHeadersTest, ExpiresModifiedCountsFromTheFilesMtime) {
    const auto r = get("/exp/mod/recent.txt");
    ASSERT_TRUE(r);
    const std::time_t mtime = parse_date(r->header_or("Last-Modified"));
    const std::time_t date = parse_date(r->header_or("Date"));
    const std::time_t expires = parse_date(r->header_or("Expires"));
    EXPECT_EQ(expires, mtime + 3600);
    EXPECT_EQ(r->header_or("Cache-Control"), "max-age=" + std::to_string(expires - date));
    // Modified two hours ago plus one hour: already expired.
    const auto old = get("/exp/mod/old.txt");
    ASSERT_TRUE(old);
    EXPECT_EQ(parse_date(old->header_or("Expires")),
              parse_date(old->header_or("Last-Modified")) + 3600);
    EXPECT_EQ(old->header_or("Cache-Control"), "no-cache");
}

TEST_F(HttpHeadersTest, ExpiresAtTimeOfDayIsTheNextOccurrence) {
    const auto r = get("/exp/daily/a.txt");
    ASSERT_TRUE(r);
    const std::time_t date = parse_date(r->header_or("Date"));
    const std::time_t expires = parse_date(r->header_or("Expires"));
    // The next 15:30 local time (the server inherits this process's time zone).
    tm local{};
    localtime_r(&date, &local);
    local.tm_hour = 15;
    local.tm_min = 30;
    local.tm_sec = 0;
    local.tm_isdst = -1;
    std::time_t want = std::mktime(&local);
    if (want <= date) {
        local.tm_mday++;
        local.tm_isdst = -1;
        want = std::mktime(&local);
    }
    EXPECT_EQ(expires, want);
    EXPECT_EQ(r->header_or("Cache-Control"), "max-age=" + std::to_string(want - date));
}

TEST_F(HttpHeadersTest, ExpiresOnlyForSafeStatuses) {
    const auto missing = get("/exp/max/none.txt");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_FALSE(missing->header("Expires"));
    EXPECT_FALSE(missing->header("Cache-Control"));
    const auto full = get("/exp/hour/a.txt");
    ASSERT_TRUE(full);
    const auto not_modified =
        fetch(port_, http_get("/exp/hour/a.txt", "localhost",
                              "If-Modified-Since: " + full->header_or("Last-Modified") + "\r\n"));
    ASSERT_TRUE(not_modified);
    EXPECT_EQ(not_modified->status, 304);
    EXPECT_EQ(not_modified->header_or("Cache-Control"), "max-age=3600");
}

TEST_F(HttpHeadersTest, CharsetIsAddedToTheDefaultTypes) {
    const auto html = get("/cs/a.html");
    ASSERT_TRUE(html);
    EXPECT_EQ(html->header_or("Content-Type"), "text/html; charset=utf-8");
    const auto txt = get("/cs/a.txt");
    ASSERT_TRUE(txt);
    EXPECT_EQ(txt->header_or("Content-Type"), "text/plain; charset=utf-8");
    const auto json = get("/cs/a.json");
    ASSERT_TRUE(json);
    EXPECT_EQ(json->header_or("Content-Type"), "application/json");
    // nginx's error pages are text/html: they get the charset too.
    const auto missing = get("/cs/none.html");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(missing->header_or("Content-Type"), "text/html; charset=utf-8");
    // Without charset nothing changes.
    const auto plain = get("/inherit/a.txt");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->header_or("Content-Type"), "text/plain");
}

TEST_F(HttpHeadersTest, CharsetTypesReplaceTheListButKeepTextHtml) {
    const auto json = get("/cs/types/a.json");
    ASSERT_TRUE(json);
    EXPECT_EQ(json->header_or("Content-Type"), "application/json; charset=utf-8");
    const auto txt = get("/cs/types/a.txt");
    ASSERT_TRUE(txt);
    EXPECT_EQ(txt->header_or("Content-Type"), "text/plain");
    const auto html = get("/cs/types/a.html");
    ASSERT_TRUE(html);
    EXPECT_EQ(html->header_or("Content-Type"), "text/html; charset=utf-8");
    const auto png = get("/cs/all/a.png");
    ASSERT_TRUE(png);
    EXPECT_EQ(png->header_or("Content-Type"), "image/png; charset=koi8-r");
    const auto same = get("/cs/src/a.txt");
    ASSERT_TRUE(same);
    EXPECT_EQ(same->header_or("Content-Type"), "text/plain; charset=utf-8");
}

// Configurations that must fail with nginx's message and the file:line.
TEST(HttpHeadersConfigTest, BadDirectivesNameFileAndLine) {
    struct Case {
        const char* directives;
        const char* message;
    };
    const Case cases[] = {
        {"add_header X-A b never;", "invalid parameter \"never\""},
        {"add_header X-A $no_such_variable;", "unknown \"no_such_variable\" variable"},
        {"expires soon;", "\"expires\" directive invalid value"},
        {"expires modified @1h;", "daily time cannot be used with \"modified\" parameter"},
        {"expires @25h;", "daily time value must be less than 24 hours"},
        {"expires later 1h;", "\"expires\" directive invalid value"},
        {"charset utf-8; source_charset koi8-r;",
         "no \"charset_map\" between the charsets \"koi8-r\" and \"utf-8\" (evserve does not "
         "recode)"},
    };
    for (const Case& c : cases) {
        TestServer s;
        const std::string http = std::string("    server {\n        listen 127.0.0.1:") +
                                 std::to_string(free_port()) + ";\n        location / { " +
                                 c.directives + " }\n    }\n";
        EXPECT_TRUE(config_text_fails(s, TestServer::config(http), c.directives, c.message))
            << c.directives;
    }
}

}  // namespace
}  // namespace evs::test
