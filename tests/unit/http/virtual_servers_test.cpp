#include "http/virtual_servers.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/arena.hpp"
#include "core/conf_applier.hpp"
#include "core/conf_parser.hpp"

namespace evs::http {
namespace {

namespace conf = core::conf;

// An HttpConfig read from the text of an http block, as the server reads it.
struct Loaded {
    conf::Parser parser{conf::ParseOptions{}};
    HttpConfig http;
    std::vector<std::unique_ptr<ListenGroup>> groups;
    std::optional<conf::Error> error;
    std::string build_error;

    explicit Loaded(const std::string& http_body) {
        error = parser.parse_text("http {\n" + http_body + "\n}\n", "/conf/test.conf");
        if (error) {
            return;
        }
        conf::Applier applier(http_tables());
        for (const conf::Node& node : parser.root().children) {
            if (node.name() == "http") {
                error = apply_http_block(applier, node, http);
            }
        }
        if (!error && (!finish_http_config(http, "/prefix/", &build_error) ||
                       !build_listen_groups(http, &groups, &build_error))) {
            ADD_FAILURE() << build_error;
        }
    }

    ServerConfig& server(std::size_t i = 0) { return *http.servers.at(i); }
};

// Which location answers `uri`: the text of its `return 200 <id>`, "server" for the
// server level, "error" when the lookup failed.
std::string chosen(ServerConfig& server, std::string_view uri) {
    LocationConfig* loc = find_location(server, uri);
    if (loc == nullptr) {
        return "error";
    }
    return loc == &server.location ? "server" : loc->return_text;
}

struct LocationCase {
    const char* name;
    const char* locations;                                  // inside server { }
    std::vector<std::pair<const char*, const char*>> uris;  // uri -> chosen
};

const LocationCase k_location_cases[] = {
    // The example of nginx's documentation for `location`.
    {"NginxDocumentation",
     "location = / { return 200 A; }\n"
     "location / { return 200 B; }\n"
     "location /documents/ { return 200 C; }\n"
     "location ^~ /images/ { return 200 D; }\n"
     "location ~* \\.(gif|jpg|jpeg)$ { return 200 E; }\n",
     {{"/", "A"},
      {"/index.html", "B"},
      {"/documents/document.html", "C"},
      {"/images/1.gif", "D"},
      {"/documents/1.jpg", "E"},
      {"/documents/1.JPG", "E"}}},
    {"FirstRegexInConfigurationOrderWins",
     "location /a/ { return 200 prefix; }\n"
     "location ~ \\.php$ { return 200 php; }\n"
     "location ~ ^/a/ { return 200 a; }\n"
     "location ~ x { return 200 x; }\n",
     {{"/a/x.php", "php"}, {"/a/y", "a"}, {"/b/x", "x"}, {"/b/y", "server"}}},
    {"RegexBeatsTheLongerPrefix",
     "location /very/long/prefix/ { return 200 long; }\n"
     "location ~ \\.png$ { return 200 png; }\n",
     {{"/very/long/prefix/a.png", "png"}, {"/very/long/prefix/a.gif", "long"}}},
    {"CaseSensitiveAndCaseless",
     "location ~ \\.PNG$ { return 200 upper; }\n"
     "location ~* \\.jpg$ { return 200 anycase; }\n"
     "location / { return 200 root; }\n",
     {{"/a.PNG", "upper"}, {"/a.png", "root"}, {"/a.jpg", "anycase"}, {"/a.JpG", "anycase"}}},
    {"ExactWinsOverRegex",
     "location = /x.php { return 200 exact; }\n"
     "location ~ \\.php$ { return 200 php; }\n",
     {{"/x.php", "exact"}, {"/y.php", "php"}, {"/x.php/", "server"}}},
    {"NoRegexPrefixStopsTheRegexes",
     "location ^~ /static/ { return 200 static; }\n"
     "location /static/deeper/ { return 200 deeper; }\n"
     "location ~ \\.css$ { return 200 css; }\n",
     {{"/static/a.css", "static"}, {"/static/deeper/a.css", "css"}, {"/other.css", "css"}}},
    {"NestedRegexIsTriedBeforeTheOuterOnes",
     "location /app/ { return 200 app;\n"
     "    location ~ \\.css$ { return 200 app-css; }\n"
     "}\n"
     "location ~ \\.css$ { return 200 css; }\n"
     "location ~ \\.js$ { return 200 js; }\n",
     {{"/app/x.css", "app-css"},
      {"/app/x.js", "js"},  // the nested regex does not match: the outer ones are tried
      {"/app/x.txt", "app"},
      {"/other/x.css", "css"}}},
    {"NestedPrefixThenItsRegexes",
     "location /a/ { return 200 a;\n"
     "    location /a/b/ { return 200 ab; }\n"
     "    location ~ \\.x$ { return 200 a-x; }\n"
     "}\n",
     {{"/a/b/f.x", "a-x"}, {"/a/b/f.y", "ab"}, {"/a/f.y", "a"}}},
    // nginx's quirk, kept: "^~" on a nested prefix skips only its parent's regexes.
    {"NestedNoRegexSkipsOnlyItsParentsRegexes",
     "location /a/ { return 200 a;\n"
     "    location ^~ /a/b/ { return 200 ab; }\n"
     "    location ~ \\.x$ { return 200 a-x; }\n"
     "}\n"
     "location ~ \\.x$ { return 200 server-x; }\n",
     {{"/a/b/f.x", "server-x"}, {"/a/f.x", "a-x"}, {"/a/b/f.y", "ab"}}},
    {"OuterNoRegexStopsNestedSearchToo",
     "location ^~ /a/ { return 200 a;\n"
     "    location ~ \\.x$ { return 200 a-x; }\n"
     "}\n"
     "location ~ \\.x$ { return 200 server-x; }\n",
     // The nested regex belongs to /a/ itself and is still tried; the server's are not.
     {{"/a/f.x", "a-x"}, {"/a/f.y", "a"}, {"/b/f.x", "server-x"}}},
    {"RegexInsideRegex",
     "location ~ ^/r/ { return 200 r;\n"
     "    location ~ \\.txt$ { return 200 r-txt; }\n"
     "}\n"
     "location ~ \\.txt$ { return 200 txt; }\n",
     {{"/r/a.txt", "r-txt"}, {"/r/a", "r"}, {"/s/a.txt", "txt"}}},
    {"ExactNestedInPrefixStopsRegexes",
     "location /a/ { return 200 a;\n"
     "    location = /a/x.png { return 200 exact; }\n"
     "}\n"
     "location ~ \\.png$ { return 200 png; }\n",
     {{"/a/x.png", "exact"}, {"/a/y.png", "png"}}},
    {"NamedLocationsAreNeverMatched",
     "location @fallback { return 200 named; }\n"
     "location ~ fallback { return 200 regex; }\n",
     {{"/@fallback", "regex"}, {"/x", "server"}}},
};

void PrintTo(const LocationCase& c, std::ostream* os) {
    *os << c.name;
}

class LocationOrderTest : public ::testing::TestWithParam<LocationCase> {};

TEST_P(LocationOrderTest, ChoosesAsNginx) {
    const LocationCase& c = GetParam();
    Loaded l(std::string("server {\nlisten 127.0.0.1:8080;\n") + c.locations + "}\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    for (const auto& [uri, expected] : c.uris) {
        EXPECT_EQ(chosen(l.server(), uri), expected) << "uri " << uri;
    }
}

INSTANTIATE_TEST_SUITE_P(Table, LocationOrderTest, ::testing::ValuesIn(k_location_cases),
                         [](const auto& param) { return std::string(param.param.name); });

TEST(LocationRegex, CapturesAreSavedInTheArena) {
    Loaded l(
        "server { listen 127.0.0.1:8080;\n"
        "  location ~ ^/u/(\\d+)/(?<name>\\w+)$ { return 200 user; }\n"
        "  location ~ \\.txt$ { return 200 txt; }\n"
        "}\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    core::Arena arena;
    Captures captures;
    std::string error;
    LocationConfig* loc = find_location(l.server(), "/u/42/bob", &arena, &captures, &error);
    ASSERT_NE(loc, nullptr) << error;
    EXPECT_EQ(loc->return_text, "user");
    EXPECT_EQ(captures.group(0), "/u/42/bob");
    EXPECT_EQ(captures.group(1), "42");
    EXPECT_EQ(captures.named("name"), "bob");

    // A regex without groups leaves the earlier captures, as nginx does.
    loc = find_location(l.server(), "/a.txt", &arena, &captures, &error);
    ASSERT_NE(loc, nullptr) << error;
    EXPECT_EQ(loc->return_text, "txt");
    EXPECT_EQ(captures.group(1), "42");

    // No regex matched: nothing saved either.
    Captures fresh;
    loc = find_location(l.server(), "/none", &arena, &fresh, &error);
    ASSERT_NE(loc, nullptr);
    EXPECT_TRUE(fresh.empty());
}

TEST(LocationRegex, NestedRegexCapturesReplaceTheOuterOnes) {
    Loaded l(
        "server { listen 127.0.0.1:8080;\n"
        "  location ~ ^/(\\w+)/ { return 200 outer;\n"
        "    location ~ /(\\w+)\\.txt$ { return 200 inner; }\n"
        "    location ~ /nomatch(\\d)$ { return 200 never; }\n"
        "  }\n"
        "}\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    core::Arena arena;
    Captures captures;
    LocationConfig* loc = find_location(l.server(), "/dir/file.txt", &arena, &captures);
    ASSERT_NE(loc, nullptr);
    EXPECT_EQ(loc->return_text, "inner");
    EXPECT_EQ(captures.group(1), "file");
    // The outer regex's groups survive nested attempts that fail.
    loc = find_location(l.server(), "/dir/file.bin", &arena, &captures);
    ASSERT_NE(loc, nullptr);
    EXPECT_EQ(loc->return_text, "outer");
    EXPECT_EQ(captures.group(1), "dir");
}

struct ConfigErrorCase {
    const char* name;
    const char* server_body;
    const char* message;  // "... in /conf/test.conf:N"
};

const ConfigErrorCase k_config_errors[] = {
    {"BadRegexLocation", "location ~ (foo { }\n",
     "pcre2_compile() failed: missing closing parenthesis in \"(foo\" at \"\" in "
     "/conf/test.conf:3"},
    {"BadCaselessRegexLocation", "\nlocation ~* a[b { }\n",
     "pcre2_compile() failed: missing terminating ] for character class in \"a[b\" at \"\" in "
     "/conf/test.conf:4"},
    {"BadRegexServerName", "server_name ok.test ~^(www;\n",
     "pcre2_compile() failed: missing closing parenthesis in \"^(www\" at \"\" in "
     "/conf/test.conf:3"},
    {"EmptyRegexServerName", "server_name ~;\n",
     "empty regex in server name \"~\" in /conf/test.conf:3"},
    {"PrefixInsideRegexIsOutside", "location ~ ^/a { location /a/b { } }\n",
     "location \"/a/b\" is outside location \"^/a\" in /conf/test.conf:3"},
    {"NamedInsideRegex", "location ~ ^/a {\n location @x { } }\n",
     "named location \"@x\" can be on the server level only in /conf/test.conf:4"},
    {"NamedInsidePrefix", "location /a/ {\n location @x { } }\n",
     "named location \"@x\" can be on the server level only in /conf/test.conf:4"},
    {"RegexInsideNamed", "location @x {\n location ~ a { } }\n",
     "location \"a\" cannot be inside the named location \"@x\" in /conf/test.conf:4"},
    {"RegexInsideExact", "location = /a {\n location ~ a { } }\n",
     "location \"a\" cannot be inside the exact location \"/a\" in /conf/test.conf:4"},
    {"UnclosedVariableInAlias", "location ~ ^/img/(.*)$ {\n alias /data/${1;\n}\n",
     "the closing bracket in \"1\" variable is missing in /conf/test.conf:4"},
};

void PrintTo(const ConfigErrorCase& c, std::ostream* os) {
    *os << c.name;
}

class RegexConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(RegexConfigErrorTest, NamesFileAndLine) {
    const ConfigErrorCase& c = GetParam();
    Loaded l(std::string("server {\n") + c.server_body + "}\n");
    ASSERT_TRUE(l.error.has_value());
    EXPECT_EQ(l.error->to_string(), c.message);
}

INSTANTIATE_TEST_SUITE_P(Table, RegexConfigErrorTest, ::testing::ValuesIn(k_config_errors),
                         [](const auto& param) { return std::string(param.param.name); });

TEST(LocationRegex, RegexNestingAndRepeatsAreAllowed) {
    Loaded l(
        "server { listen 127.0.0.1:8080;\n"
        "  location ~ a { return 200 first; location ~ b { return 200 ab; } }\n"
        "  location ~ a { return 200 second; }\n"
        "  location /p/ { location ~ c { return 200 pc; } }\n"
        "}\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    EXPECT_EQ(chosen(l.server(), "/a"), "first");
    EXPECT_EQ(chosen(l.server(), "/ab"), "ab");
    EXPECT_EQ(chosen(l.server(), "/p/c"), "pc");
}

// ---------------------------------------------------------------------------
// Server names

TEST(ServerNames, ExactThenWildcardsThenRegexInOrderThenDefault) {
    Loaded l(
        "server { listen 127.0.0.1:8080; server_name default.test; }\n"
        "server { listen 127.0.0.1:8080; server_name ~^(?<sub>\\w+)\\.regex\\.test$; }\n"
        "server { listen 127.0.0.1:8080; server_name ~\\.regex\\.test$; }\n"
        "server { listen 127.0.0.1:8080; server_name *.example.com; }\n"
        "server { listen 127.0.0.1:8080; server_name www.*; }\n"
        "server { listen 127.0.0.1:8080; server_name exact.example.com ~^exact; }\n"
        "server { listen 127.0.0.1:8080; server_name ~^www\\.; }\n"
        "server { listen 127.0.0.1:8080; server_name ~^API\\.; }\n"
        "server { listen 127.0.0.1:8080; server_name ~^(\\d+)\\.num$; }\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.groups.size(), 1u);
    const AddressServers& a = l.groups[0]->addresses.at(0);
    auto name_of = [&](std::string_view host) {
        ServerConfig* s = find_server(a, host);
        return s == nullptr ? std::string("null") : s->names.front();
    };
    EXPECT_EQ(name_of("exact.example.com"), "exact.example.com");  // exact before all
    EXPECT_EQ(name_of("foo.example.com"), "*.example.com");        // wildcard before regex
    EXPECT_EQ(name_of("www.other.org"), "www.*");                  // trailing before regex
    EXPECT_EQ(name_of("abc.regex.test"), "~^(?<sub>\\w+)\\.regex\\.test$");  // first regex
    EXPECT_EQ(name_of("a.b.regex.test"), "~\\.regex\\.test$");  // the first fails, the second
    EXPECT_EQ(name_of("exactly.test"), "exact.example.com");    // its regex name
    EXPECT_EQ(name_of("api.test"), "~^API\\.");  // an uppercase letter: compiled caseless
    EXPECT_EQ(name_of("none.test"), "default.test");
    EXPECT_EQ(name_of(""), "default.test");

    core::Arena arena;
    Captures captures;
    ASSERT_EQ(find_server(a, "abc.regex.test", &arena, &captures)->names.front(),
              "~^(?<sub>\\w+)\\.regex\\.test$");
    EXPECT_EQ(captures.named("sub"), "abc");
    EXPECT_EQ(captures.group(1), "abc");
    Captures numbered;
    find_server(a, "123.num", &arena, &numbered);
    EXPECT_EQ(numbered.group(1), "123");
    Captures none;
    find_server(a, "foo.example.com", &arena, &none);
    EXPECT_TRUE(none.empty());
}

TEST(ServerNames, LowercasePatternIsCaseSensitive) {
    // nginx compiles caselessly only a pattern with an uppercase letter; hosts arrive
    // lowercased, so (?-i) style differences show only with explicit case in patterns.
    Loaded l(
        "server { listen 127.0.0.1:8080; server_name default.test; }\n"
        "server { listen 127.0.0.1:8080; server_name ~^a\\.test$; }\n");
    ASSERT_FALSE(l.error) << l.error->to_string();
    ASSERT_EQ(l.http.servers.at(1)->name_regexes.size(), 1u);
    EXPECT_FALSE(l.http.servers.at(1)->name_regexes[0]->caseless());
    const AddressServers& a = l.groups[0]->addresses.at(0);
    EXPECT_EQ(find_server(a, "a.test")->names.front(), "~^a\\.test$");
    EXPECT_EQ(find_server(a, "A.test")->names.front(), "default.test");
}

}  // namespace
}  // namespace evs::http
