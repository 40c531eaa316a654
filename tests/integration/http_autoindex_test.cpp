// autoindex seen from a raw socket: nginx's HTML page byte for byte, exact and rounded
// sizes, autoindex_localtime, the XML, JSON and JSONP formats parsed by real parsers
// (python3's xml.etree and json), names with markup characters, spaces, UTF-8, control
// characters and invalid UTF-8, hidden entries left out, dangling and looping
// symbolic links listed as "other" with the link's own size (as nginx), directories
// first, index files winning over listings, 403 without autoindex, HEAD, and the
// inheritance of the settings into a nested location.
//
// One server (one worker) runs for the whole suite on a site generated in a temporary
// prefix, with TZ set so that local time differs from GMT. See server_fixture.hpp.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

using namespace std::string_literals;

constexpr std::time_t k_mtime = 1577934245;  // Thu, 02 Jan 2020 03:04:05 GMT
constexpr char k_http_mtime[] = "Thu, 02 Jan 2020 03:04:05 GMT";
constexpr char k_iso_mtime[] = "2020-01-02T03:04:05Z";

// One entry of html/list/: its name on disk, as XML and JSON must give it back, its
// type and size.
struct Expected {
    std::string name;
    std::string xml_name;   // control characters and invalid UTF-8 as U+FFFD
    std::string json_name;  // invalid UTF-8 as U+FFFD
    std::string type;
    std::int64_t size;
};

const std::string k_long_name = std::string(60, 'L') + ".txt";
const std::string k_unicode = "\xc3\xbcn\xc3\xaf\xe2\x82\xac\xf0\x9f\x98\x80.txt";  // ünï€😀.txt
const std::string k_control = "ctl\x01\x1f\t.txt";
const std::string k_markup = "x<>&\"' y.txt";
constexpr std::int64_t k_big = std::int64_t{5} << 29;  // 2.5 GiB, sparse

std::vector<Expected> expected_entries() {
    std::vector<Expected> list = {
        {"sub", "sub", "sub", "directory", 0},
        {"a.txt", "a.txt", "a.txt", "file", 5},
        {"b c.txt", "b c.txt", "b c.txt", "file", 3},
        {"bad\xff.txt", "bad\xef\xbf\xbd.txt", "bad\xef\xbf\xbd.txt", "file", 1},
        {"big", "big", "big", "file", k_big},
        {k_control, "ctl\xef\xbf\xbd\xef\xbf\xbd\t.txt", k_control, "file", 2},
        {"k12345", "k12345", "k12345", "file", 12345},
        {"link.txt", "link.txt", "link.txt", "file", 5},  // a symbolic link to a.txt
        // Symbolic links that lead nowhere and to themselves: lstat()'s type and size
        // (the length of the target's name).
        {"dangling", "dangling", "dangling", "other", 7},
        {"loop", "loop", "loop", "other", 4},
        {"m5", "m5", "m5", "file", 5 * 1048576 + 600000},
        {k_markup, k_markup, k_markup, "file", 4},
        {k_unicode, k_unicode, k_unicode, "file", 6},
        {k_long_name, k_long_name, k_long_name, "file", 0},
    };
    // Directories first, then byte order, as the server must sort them.
    std::sort(list.begin(), list.end(), [](const Expected& a, const Expected& b) {
        if ((a.type == "directory") != (b.type == "directory")) {
            return a.type == "directory";
        }
        return a.name < b.name;
    });
    return list;
}

std::string hex(std::string_view bytes) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    for (char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        out.push_back(k_digits[c >> 4]);
        out.push_back(k_digits[c & 15]);
    }
    return out;
}

// Every byte but ALPHA, DIGIT and "-._~" as %XX.
std::string percent_encode(std::string_view name) {
    static constexpr char k_digits[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(k_digits[c >> 4]);
            out.push_back(k_digits[c & 15]);
        }
    }
    return out;
}

bool set_mtime(const std::string& path) {
    const timespec times[2] = {{k_mtime, 0}, {k_mtime, 0}};
    return ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0;
}

// Parses `body` with python3 and prints one line per entry: the name's UTF-8 bytes in
// hex, the type, the mtime and the size ("-" when absent); the first line says what
// the document was (the root tag, or the JSONP callback). Empty on a parse error.
constexpr char k_parser[] = R"PY(
import json, re, sys
import xml.etree.ElementTree as ET
mode, path = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
rows = []
if mode == 'xml':
    root = ET.fromstring(data)
    print(root.tag)
    for e in root:
        if set(e.attrib) - {'mtime', 'size'}:
            raise SystemExit('unexpected attributes %r' % e.attrib)
        rows.append((e.text or '', e.tag, e.get('mtime'), e.get('size', '-')))
else:
    text = data.decode('utf-8')
    if mode == 'jsonp':
        m = re.fullmatch(r'([A-Za-z0-9_.]+)\((.*)\);\r\n', text, re.S)
        print(m.group(1))
        text = m.group(2)
    else:
        print('json')
    for e in json.loads(text):
        keys = set(e)
        want = {'name', 'type', 'mtime'} | ({'size'} if e['type'] == 'file' else set())
        if keys != want:
            raise SystemExit('unexpected keys %r' % sorted(keys))
        rows.append((e['name'], e['type'], e['mtime'], str(e.get('size', '-'))))
for name, kind, mtime, size in rows:
    print(name.encode('utf-8').hex(), kind, mtime, size)
)PY";

std::vector<std::string> parse_listing(const TestServer& server, const std::string& mode,
                                       const std::string& body) {
    const std::string path = server.path("logs/listing." + mode);
    if (!write_file(path, body)) {
        return {};
    }
    ChildProcess python;
    if (!python.start("/usr/bin/env", {"python3", "-c", k_parser, mode, path})) {
        return {};
    }
    const std::string out = python.read_all(20s).value_or("");
    const auto status = python.wait(20s);
    EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << "python3 could not parse the " << mode << " listing:\n"
        << python.stderr_text() << "\n"
        << body;
    return split_lines(out);
}

class AutoindexTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // Local time 5 h 30 min ahead of GMT, for autoindex_localtime; the server
        // inherits the environment.
        ::setenv("TZ", "EVS-5:30", 1);
        server_ = new TestServer();
        port_ = free_port();
        TestServer& s = *server_;
        const std::string http =
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        server_name localhost;\n"
            "        root html;\n"
            "        location /list/ { autoindex on; }\n"
            "        location /approx/ { alias html/list/; autoindex on; "
            "autoindex_exact_size off; }\n"
            "        location /xml/ { alias html/list/; autoindex on; autoindex_format xml; }\n"
            "        location /json/ { alias html/list/; autoindex on; autoindex_format json; }\n"
            "        location /jsonp/ { alias html/list/; autoindex on; autoindex_format jsonp; }\n"
            "        location /simple/ { autoindex on; }\n"
            "        location /local/ { alias html/simple/; autoindex on; "
            "autoindex_localtime on; }\n"
            "        location /withindex/ { autoindex on; }\n"
            "        location /outer/ {\n"
            "            autoindex on;\n"
            "            autoindex_format xml;\n"
            "            location /outer/inner/ { }\n"
            "        }\n"
            "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));

        const std::string list = s.path("html/list/");
        for (const Expected& e : expected_entries()) {
            if (e.type == "directory") {
                std::filesystem::create_directories(list + e.name);
            } else if (e.name == "link.txt" || e.type == "other") {
                continue;
            } else if (e.size > 1 << 20) {
                ASSERT_TRUE(write_file(list + e.name, ""));
                std::filesystem::resize_file(list + e.name, static_cast<std::uintmax_t>(e.size));
            } else {
                ASSERT_TRUE(
                    write_file(list + e.name, std::string(static_cast<size_t>(e.size), 'x')));
            }
        }
        ASSERT_TRUE(write_file(list + ".hidden", "secret"));
        ASSERT_EQ(::symlink("a.txt", (list + "link.txt").c_str()), 0);
        ASSERT_EQ(::symlink("nowhere", (list + "dangling").c_str()), 0);
        ASSERT_EQ(::symlink("loop", (list + "loop").c_str()), 0);
        ASSERT_TRUE(write_file(list + "sub/inside.txt", "in"));
        ASSERT_TRUE(write_file(s.path("html/simple/a.txt"), "hello"));
        std::filesystem::create_directories(s.path("html/simple/sub"));
        std::filesystem::create_directories(s.path("html/noauto"));
        ASSERT_TRUE(write_file(s.path("html/noauto/file.txt"), "x"));
        ASSERT_TRUE(write_file(s.path("html/withindex/index.html"), "INDEX PAGE"));
        ASSERT_TRUE(write_file(s.path("html/withindex/other.txt"), "x"));
        ASSERT_TRUE(write_file(s.path("html/outer/inner/deep.txt"), "deep"));
        for (const char* dir : {"html/list/", "html/list/sub/", "html/simple/"}) {
            for (const auto& item : std::filesystem::directory_iterator(s.path(dir))) {
                ASSERT_TRUE(set_mtime(item.path().string())) << item.path();
            }
        }
        ASSERT_TRUE(s.start());
    }

    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
        ::unsetenv("TZ");
    }

    void TearDown() override {
        server_->expect_no_sanitizer_reports();
        if (HasFailure()) {
            std::cerr << server_->error_log();
        }
    }

    static HttpResponse get(std::string_view path, std::string_view method = "GET") {
        std::string why;
        const auto r =
            fetch(port_, http_get(path, "localhost", "Connection: close\r\n", method), &why, 10s);
        EXPECT_TRUE(r.has_value()) << method << " " << path << ": " << why;
        return r.value_or(HttpResponse{});
    }

    static TestServer* server_;
    static std::uint16_t port_;
};

TestServer* AutoindexTest::server_ = nullptr;
std::uint16_t AutoindexTest::port_ = 0;

std::string html_line(std::string_view href, std::string_view text, std::size_t shown,
                      std::string_view time, std::string_view size) {
    std::string line = "<a href=\"";
    line.append(href).append("\">").append(text).append("</a>");
    line.append(shown < 50 ? 50 - shown : 0, ' ');
    line.append(" ").append(time).append(" ").append(size).append("\r\n");
    return line;
}

TEST_F(AutoindexTest, HtmlPageIsNginxsByteForByte) {
    const HttpResponse r = get("/simple/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header_or("Content-Type"), "text/html");
    EXPECT_EQ(r.header_or("Content-Length"), std::to_string(r.body.size()));
    const std::string expected =
        "<html>\r\n<head><title>Index of /simple/</title></head>\r\n<body>\r\n"
        "<h1>Index of /simple/</h1><hr><pre><a href=\"../\">../</a>\r\n" +
        html_line("sub/", "sub/", 4, "02-Jan-2020 03:04", std::string(18, ' ') + "-") +
        html_line("a.txt", "a.txt", 5, "02-Jan-2020 03:04", std::string(18, ' ') + "5") +
        "</pre><hr></body>\r\n</html>\r\n";
    EXPECT_EQ(r.body, expected);
}

TEST_F(AutoindexTest, LocaltimeShiftsHtmlTimes) {
    const HttpResponse r = get("/local/");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("<title>Index of /local/</title>"), std::string::npos);
    EXPECT_NE(r.body.find(
                  html_line("a.txt", "a.txt", 5, "02-Jan-2020 08:34", std::string(18, ' ') + "5")),
              std::string::npos)
        << r.body;
    EXPECT_EQ(r.body.find("03:04"), std::string::npos);
}

TEST_F(AutoindexTest, HtmlListsEveryVisibleEntryEscapedAndSorted) {
    const HttpResponse r = get("/list/");
    ASSERT_EQ(r.status, 200);
    const std::string& body = r.body;
    const std::string exact = "02-Jan-2020 03:04";
    EXPECT_NE(body.find(html_line("a.txt", "a.txt", 5, exact, std::string(18, ' ') + "5")),
              std::string::npos);
    EXPECT_NE(body.find(html_line("b%20c.txt", "b c.txt", 7, exact, std::string(18, ' ') + "3")),
              std::string::npos);
    EXPECT_NE(body.find(html_line("x%3C%3E%26%22%27%20y.txt", "x&lt;&gt;&amp;&quot;' y.txt", 12,
                                  exact, std::string(18, ' ') + "4")),
              std::string::npos)
        << body;
    EXPECT_NE(body.find(html_line("%C3%BCn%C3%AF%E2%82%AC%F0%9F%98%80.txt", k_unicode, 9, exact,
                                  std::string(18, ' ') + "6")),
              std::string::npos)
        << body;
    EXPECT_NE(
        body.find(html_line("ctl%01%1F%09.txt", k_control, 10, exact, std::string(18, ' ') + "2")),
        std::string::npos);
    EXPECT_NE(
        body.find(html_line("bad%FF.txt", "bad\xff.txt", 8, exact, std::string(18, ' ') + "1")),
        std::string::npos);
    // Longer than 50: cut to 47 and "..>", no padding.
    EXPECT_NE(body.find("<a href=\"" + k_long_name + "\">" + std::string(47, 'L') + "..&gt;</a> " +
                        exact + std::string(19, ' ') + "0\r\n"),
              std::string::npos)
        << body;
    EXPECT_NE(body.find(html_line("big", "big", 3, exact, "         2684354560")),
              std::string::npos);
    EXPECT_NE(body.find(html_line("link.txt", "link.txt", 8, exact, std::string(18, ' ') + "5")),
              std::string::npos);
    // Links that lead nowhere are listed with the link's own size, as nginx does.
    EXPECT_NE(body.find(html_line("dangling", "dangling", 8, exact, std::string(18, ' ') + "7")),
              std::string::npos)
        << body;
    EXPECT_NE(body.find(html_line("loop", "loop", 4, exact, std::string(18, ' ') + "4")),
              std::string::npos)
        << body;
    // Hidden files are left out; nothing else is.
    EXPECT_EQ(body.find("hidden"), std::string::npos);
    EXPECT_EQ(count_of(body, "<a href="), expected_entries().size() + 1);
    // The directory comes first, then the files in byte order.
    std::size_t last = body.find("<a href=\"../\">");
    for (const Expected& e : expected_entries()) {
        const std::size_t at = body.find("<a href=\"" + percent_encode(e.name));
        ASSERT_NE(at, std::string::npos) << e.name;
        EXPECT_GT(at, last) << e.name << " is out of order";
        last = at;
    }
}

TEST_F(AutoindexTest, RoundedSizes) {
    const HttpResponse r = get("/approx/");
    ASSERT_EQ(r.status, 200);
    const std::string t = "02-Jan-2020 03:04";
    EXPECT_NE(r.body.find(html_line("sub/", "sub/", 4, t, "      -")), std::string::npos);
    EXPECT_NE(r.body.find(html_line("a.txt", "a.txt", 5, t, "      5")), std::string::npos);
    EXPECT_NE(r.body.find(html_line("k12345", "k12345", 6, t, "    12K")), std::string::npos);
    EXPECT_NE(r.body.find(html_line("m5", "m5", 2, t, "     6M")), std::string::npos);
    EXPECT_NE(r.body.find(html_line("big", "big", 3, t, "     3G")), std::string::npos) << r.body;
}

TEST_F(AutoindexTest, XmlParsesAndMatches) {
    const HttpResponse r = get("/xml/");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header_or("Content-Type"), "text/xml");
    EXPECT_TRUE(r.body.starts_with("<?xml version=\"1.0\"?>\r\n<list>\r\n")) << r.body;
    const auto lines = parse_listing(*server_, "xml", r.body);
    std::vector<std::string> expected = {"list"};
    for (const Expected& e : expected_entries()) {
        expected.push_back(hex(e.xml_name) + " " + e.type + " " + k_iso_mtime + " " +
                           (e.type == "file" ? std::to_string(e.size) : "-"));
    }
    EXPECT_EQ(lines, expected);
}

TEST_F(AutoindexTest, JsonParsesAndMatches) {
    const HttpResponse r = get("/json/");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header_or("Content-Type"), "application/json");
    const auto lines = parse_listing(*server_, "json", r.body);
    std::vector<std::string> expected = {"json"};
    for (const Expected& e : expected_entries()) {
        expected.push_back(hex(e.json_name) + " " + e.type + " " + k_http_mtime + " " +
                           (e.type == "file" ? std::to_string(e.size) : "-"));
    }
    EXPECT_EQ(lines, expected);
}

TEST_F(AutoindexTest, JsonpUsesTheCallbackArgument) {
    const HttpResponse r = get("/jsonp/?x=1&callback=my.cb_2&y=2");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header_or("Content-Type"), "application/javascript");
    EXPECT_TRUE(r.body.starts_with("my.cb_2([\r\n")) << r.body;
    const auto lines = parse_listing(*server_, "jsonp", r.body);
    ASSERT_EQ(lines.size(), expected_entries().size() + 1);
    EXPECT_EQ(lines[0], "my.cb_2");

    // Without the argument, or with an empty one: plain JSON.
    for (const char* path : {"/jsonp/", "/jsonp/?callback="}) {
        const HttpResponse plain = get(path);
        EXPECT_EQ(plain.status, 200) << path;
        EXPECT_EQ(plain.header_or("Content-Type"), "application/json") << path;
        EXPECT_TRUE(plain.body.starts_with("[\r\n{ \"name\":\"sub\"")) << plain.body;
    }

    // A callback that is not a plain name is refused.
    const HttpResponse bad = get("/jsonp/?callback=alert(1)");
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.body.find("alert"), std::string::npos);
    EXPECT_TRUE(server_->wait_for_text("logs/error.log", "client sent invalid callback"));
}

TEST_F(AutoindexTest, SubdirectoryAndEmptyDirectory) {
    const HttpResponse r = get("/json/sub/");
    ASSERT_EQ(r.status, 200);
    const auto lines = parse_listing(*server_, "json", r.body);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1], hex("inside.txt") + " file " + k_http_mtime + " 2");

    std::filesystem::create_directories(server_->path("html/list/sub/empty"));
    const HttpResponse empty = get("/list/sub/empty/");
    EXPECT_EQ(empty.status, 200);
    EXPECT_TRUE(empty.body.ends_with("<a href=\"../\">../</a>\r\n</pre><hr></body>\r\n</html>\r\n"))
        << empty.body;
    const HttpResponse empty_json = get("/json/sub/empty/");
    EXPECT_EQ(empty_json.body, "[\r\n]\r\n");
}

TEST_F(AutoindexTest, WithoutAutoindexIsForbidden) {
    const HttpResponse r = get("/noauto/");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.body.find("file.txt"), std::string::npos);
    EXPECT_TRUE(server_->wait_for_text("logs/error.log", "noauto/\" is forbidden"));
}

TEST_F(AutoindexTest, IndexFileWinsOverListing) {
    const HttpResponse r = get("/withindex/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "INDEX PAGE");
}

TEST_F(AutoindexTest, NestedLocationInheritsSettings) {
    const HttpResponse r = get("/outer/inner/");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header_or("Content-Type"), "text/xml");
    EXPECT_NE(r.body.find(">deep.txt</file>"), std::string::npos) << r.body;
}

TEST_F(AutoindexTest, HeadGetsTheHeadersOnly) {
    const HttpResponse full = get("/list/");
    HttpClient c(port_);
    ASSERT_TRUE(c.send(http_get("/list/", "localhost", "", "HEAD")));
    const auto head = c.read_response(true);
    ASSERT_TRUE(head) << c.error();
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->header_or("Content-Length"), std::to_string(full.body.size()));
    EXPECT_TRUE(head->body.empty());
    // The connection is still usable: nothing of a body was sent.
    ASSERT_TRUE(c.send(http_get("/simple/")));
    const auto next = c.read_response();
    ASSERT_TRUE(next) << c.error();
    EXPECT_EQ(next->status, 200);
    EXPECT_TRUE(next->body.starts_with("<html>")) << next->body;
}

TEST_F(AutoindexTest, OtherCasesKeepTheirStatus) {
    EXPECT_EQ(get("/list/", "POST").status, 405);
    EXPECT_EQ(get("/list/missing/").status, 404);
    const HttpResponse r = get("/list/sub");
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.header_or("Location").ends_with("/list/sub/"), true);
    // A file in a listed directory is served as a file.
    const HttpResponse file = get("/list/b%20c.txt");
    EXPECT_EQ(file.status, 200);
    EXPECT_EQ(file.body, "xxx");
}

}  // namespace
}  // namespace evs::test
