// evserve's HTTP behaviour seen from a raw socket: static files and their headers,
// nginx's error pages and status codes, path traversal attempts, pipelining, request
// bodies, conditional and range requests, keepalive limits, virtual servers, return,
// the combined access log, and a 1 GiB sparse file.
//
// One server (one worker) runs for the whole suite on a site generated in a temporary
// prefix; the tests only read from it. See server_fixture.hpp.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/server_fixture.hpp"
#include "integration/text_checks.hpp"

namespace evs::test {
namespace {

using namespace std::string_literals;

constexpr std::time_t k_mtime = 1577934245;  // Thu, 02 Jan 2020 03:04:05 GMT
constexpr char k_mtime_text[] = "Thu, 02 Jan 2020 03:04:05 GMT";
constexpr std::int64_t k_gib = std::int64_t{1} << 30;
constexpr char k_a_txt[] = "hello, world\n";

std::string range_content() {
    std::string text(1000, ' ');
    for (std::size_t i = 0; i < text.size(); ++i) {
        text[i] = static_cast<char>('!' + (i * 7 + i / 13) % 90);
    }
    return text;
}

std::string nginx_page(std::string_view title, std::string_view server) {
    std::string page = "<html>\r\n<head><title>";
    page.append(title).append("</title></head>\r\n<body>\r\n<center><h1>");
    page.append(title).append("</h1></center>\r\n<hr><center>");
    page.append(server).append("</center>\r\n</body>\r\n</html>\r\n");
    return page;
}

class HttpTest : public SharedServerSuite<HttpTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        keepalive_port_ = free_port();
        secret_ =
            "TOP-SECRET-" + std::to_string(::getpid()) + "-" + std::to_string(::time(nullptr));
        TestServer& s = *server_;
        const std::string p = std::to_string(port_);
        const std::string http =
            "    default_type application/octet-stream;\n"
            "    access_log logs/access.log combined;\n"
            "    sendfile on;\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            p +
            ";\n"
            "        server_name localhost;\n"
            "        root html;\n"
            "        location / {\n"
            "            index index.html;\n"
            "        }\n"
            "        location = /ret200 {\n"
            "            return 200 \"text\";\n"
            "        }\n"
            "        location /redir {\n"
            "            return 301 http://x/;\n"
            "        }\n"
            "        location /nosendfile/ {\n"
            "            root nsf;\n"
            "            sendfile off;\n"
            "        }\n"
            "    }\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            p +
            ";\n"
            "        server_name exact.test;\n"
            "        root vhosts/exact;\n"
            "    }\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            p +
            ";\n"
            "        server_name *.wild.test;\n"
            "        root vhosts/wild;\n"
            "    }\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            p +
            " default_server;\n"
            "        server_name default.test;\n"
            "        root vhosts/default;\n"
            "    }\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(keepalive_port_) +
            ";\n"
            "        server_name localhost;\n"
            "        root html;\n"
            "        keepalive_requests 3;\n"
            "        keepalive_timeout 1;\n"
            "    }\n";
        bool ok = s.configure(TestServer::config(http)) &&
                  s.write("html/index.html", "<html>index</html>\n") &&
                  s.write("html/a.txt", k_a_txt) && s.write("html/range.bin", range_content()) &&
                  s.write("html/sub/index.html", "sub index\n") &&
                  s.write("html/sub/page.txt", "sub page\n") &&
                  s.write("html/noindex/x.txt", "x\n") && s.write("secret.txt", secret_) &&
                  s.write("vhosts/exact/index.html", "exact vhost\n") &&
                  s.write("vhosts/wild/index.html", "wild vhost\n") &&
                  s.write("vhosts/default/index.html", "default vhost\n");
        for (int i = 0; ok && i < 100; ++i) {
            ok =
                s.write("html/p/" + std::to_string(i) + ".txt", "file " + std::to_string(i) + "\n");
        }
        const timeval times[2] = {{k_mtime, 0}, {k_mtime, 0}};
        ok = ok && ::utimes(s.path("html/a.txt").c_str(), times) == 0;
        for (const char* big : {"html/big.bin", "nsf/nosendfile/big.bin"}) {
            std::filesystem::create_directories(std::filesystem::path(s.path(big)).parent_path());
            const int fd = ::open(s.path(big).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
            ok = ok && fd >= 0 && ::ftruncate(fd, k_gib) == 0;
            if (fd >= 0) {
                ::close(fd);
            }
        }
        ASSERT_TRUE(ok) << "cannot build the site";
        ASSERT_TRUE(s.start());
    }

    static inline std::uint16_t keepalive_port_ = 0;
    static inline std::string secret_;
};

TEST_F(HttpTest, GetFileHasNginxHeaders) {
    const auto r = get("/a.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r->body, k_a_txt);
    const std::string server = r->header_or("Server");
    EXPECT_TRUE(server.starts_with("evserve/") && is_version(std::string_view(server).substr(8)))
        << server;
    EXPECT_TRUE(is_http_date(r->header_or("Date"))) << r->header_or("Date");
    EXPECT_EQ(r->header_or("Content-Type"), "text/plain");
    EXPECT_EQ(r->header_or("Content-Length"), std::to_string(std::strlen(k_a_txt)));
    EXPECT_EQ(r->header_or("Last-Modified"), k_mtime_text);
    char etag[64];
    std::snprintf(etag, sizeof(etag), "\"%llx-%zx\"", static_cast<unsigned long long>(k_mtime),
                  std::strlen(k_a_txt));
    EXPECT_EQ(r->header_or("ETag"), etag);
    EXPECT_EQ(r->header_or("Accept-Ranges"), "bytes");
    EXPECT_EQ(r->header_or("Connection"), "keep-alive");
    // nginx's order: Server, Date, Content-Type, Content-Length, Last-Modified, Connection,
    // ETag, Accept-Ranges.
    std::vector<std::string> names;
    for (const auto& [name, value] : r->headers) {
        names.push_back(name);
    }
    EXPECT_EQ(names,
              (std::vector<std::string>{"Server", "Date", "Content-Type", "Content-Length",
                                        "Last-Modified", "Connection", "ETag", "Accept-Ranges"}));

    const auto html = get("/index.html");
    ASSERT_TRUE(html.has_value());
    EXPECT_EQ(html->header_or("Content-Type"), "text/html");
    const auto bin = get("/range.bin");
    ASSERT_TRUE(bin.has_value());
    EXPECT_EQ(bin->header_or("Content-Type"), "application/octet-stream");
}

TEST_F(HttpTest, HeadHasTheHeadersAndNoBody) {
    HttpClient c(port_);
    ASSERT_TRUE(c.send(http_get("/a.txt", "localhost", "", "HEAD")));
    const auto head = c.read_response(true);
    ASSERT_TRUE(head.has_value()) << c.error();
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->header_or("Content-Length"), std::to_string(std::strlen(k_a_txt)));
    EXPECT_EQ(head->header_or("Content-Type"), "text/plain");
    EXPECT_EQ(head->header_or("Last-Modified"), k_mtime_text);
    EXPECT_TRUE(head->header("ETag").has_value());
    // No body bytes: the next response on the connection starts right away.
    ASSERT_TRUE(c.send(http_get("/p/7.txt")));
    const auto next = c.read_response();
    ASSERT_TRUE(next.has_value()) << c.error();
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, "file 7\n");
    EXPECT_EQ(c.pending(), "");
}

TEST_F(HttpTest, NotFoundHasNginxPage) {
    const auto r = get("/no/such/file.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status_line, "HTTP/1.1 404 Not Found");
    EXPECT_EQ(r->header_or("Content-Type"), "text/html");
    EXPECT_EQ(r->body, nginx_page("404 Not Found", r->header_or("Server")));
    EXPECT_EQ(r->header_or("Content-Length"), std::to_string(r->body.size()));
    EXPECT_EQ(r->header_or("Connection"), "keep-alive");
    EXPECT_NE(
        server_->error_log().find("/no/such/file.txt\" failed (2: No such file or directory)"),
        std::string::npos);
}

TEST_F(HttpTest, DirectoryWithoutSlashIsRedirected) {
    const auto r = get("/sub");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status_line, "HTTP/1.1 301 Moved Permanently");
    // nginx sends an absolute URL (absolute_redirect on); a relative one is valid too.
    const std::string location = r->header_or("Location");
    EXPECT_TRUE(location == "/sub/" ||
                location == "http://localhost:" + std::to_string(port_) + "/sub/")
        << location;
    EXPECT_EQ(r->body, nginx_page("301 Moved Permanently", r->header_or("Server")));

    const auto args = get("/sub?x=1");
    ASSERT_TRUE(args.has_value());
    EXPECT_EQ(args->status, 301);
    EXPECT_TRUE(args->header_or("Location").ends_with("/sub/?x=1")) << args->header_or("Location");
}

TEST_F(HttpTest, IndexFileServesTheRoot) {
    const auto r = get("/");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "<html>index</html>\n");
    EXPECT_EQ(r->header_or("Content-Type"), "text/html");
    const auto sub = get("/sub/");
    ASSERT_TRUE(sub.has_value());
    EXPECT_EQ(sub->body, "sub index\n");
}

TEST_F(HttpTest, DirectoryWithoutIndexIsForbidden) {
    const auto r = get("/noindex/");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status_line, "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(r->body, nginx_page("403 Forbidden", r->header_or("Server")));
    EXPECT_NE(server_->error_log().find("directory index of \"" + server_->path("html/noindex/") +
                                        "\" is forbidden"),
              std::string::npos);
}

TEST_F(HttpTest, PostToFileIsNotAllowed) {
    HttpClient c(port_);
    ASSERT_TRUE(c.send(http_get("/a.txt", "localhost", "Content-Length: 0\r\n", "POST")));
    const auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status_line, "HTTP/1.1 405 Not Allowed");
    EXPECT_EQ(r->body, nginx_page("405 Not Allowed", r->header_or("Server")));
    // The connection stays usable, as in nginx.
    ASSERT_TRUE(c.send(http_get("/a.txt")));
    const auto next = c.read_response();
    ASSERT_TRUE(next.has_value()) << c.error();
    EXPECT_EQ(next->status, 200);
}

// A bad request: nginx's 400 page, Connection: close, and the connection is closed.
void expect_rejected(std::uint16_t port, std::string_view request, int status,
                     std::string_view title) {
    HttpClient c(port);
    ASSERT_TRUE(c.send(request));
    const auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, status) << r->head;
    EXPECT_EQ(r->body, nginx_page(title, r->header_or("Server")));
    EXPECT_EQ(r->header_or("Connection"), "close");
    EXPECT_TRUE(c.wait_closed(3s)) << "the connection stayed open after " << status;
}

TEST_F(HttpTest, GarbageIsBadRequest) {
    expect_rejected(port_, "GARBAGE\r\n\r\n", 400, "400 Bad Request");
    expect_rejected(port_, "GET / HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n", 400,
                    "400 Bad Request");
    expect_rejected(port_, "GET nothing HTTP/1.1\r\nHost: localhost\r\n\r\n", 400,
                    "400 Bad Request");
}

TEST_F(HttpTest, Http2VersionIsNotSupported) {
    expect_rejected(port_, "GET / HTTP/2.0\r\nHost: localhost\r\n\r\n", 505,
                    "505 HTTP Version Not Supported");
}

TEST_F(HttpTest, LongUriIsRejected) {
    const std::string uri = "/" + std::string(10 * 1024, 'u');
    expect_rejected(port_, http_get(uri), 414, "414 Request-URI Too Large");
}

TEST_F(HttpTest, LongHeaderIsRejected) {
    const std::string header = "X-Long: " + std::string(10 * 1024, 'h') + "\r\n";
    expect_rejected(port_, http_get("/a.txt", "localhost", header), 400,
                    "400 Request Header Or Cookie Too Large");
}

// Attempts to leave the root: none may return the file outside html/ (or the
// configuration). Each gets a response (or a closed connection), never the secret.
TEST_F(HttpTest, PathTraversalNeverEscapesTheRoot) {
    const std::vector<std::string> targets = {
        "/../secret.txt",
        "/../../secret.txt",
        "/./../secret.txt",
        "/sub/../../secret.txt",
        "/sub/./../../secret.txt",
        "//../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/%252e%252e/secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/%c0%ae%c0%ae%c0%afsecret.txt",
        "/%e0%80%ae%e0%80%ae/secret.txt",
        "/..%00/secret.txt",
        "/secret.txt%00",
        "/../secret.txt%00.html",
        "/sub/..%00/../secret.txt",
        "/nosendfile/../secret.txt",
        "/nosendfile/..%2fsecret.txt",
        "/../conf/test.conf",
        "/%2e%2e/conf/test.conf",
        "http://localhost/../secret.txt",
        "http://localhost/%2e%2e/secret.txt",
        "/.../secret.txt",
        "/..;/secret.txt",
        "/sub/..;/../secret.txt",
    };
    std::vector<std::string> raw;
    for (const std::string& t : targets) {
        raw.push_back("GET " + t + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    }
    // A NUL byte, raw, in the request line.
    raw.push_back("GET /..\0/secret.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"s);
    raw.push_back("GET /../secret.txt\0 HTTP/1.1\r\nHost: localhost\r\n\r\n"s);
    // HTTP/1.0 and 0.9 forms.
    raw.push_back("GET /../secret.txt HTTP/1.0\r\n\r\n");
    raw.push_back("GET /../secret.txt\r\n");

    const std::string conf_marker = "worker_processes";
    for (const std::string& request : raw) {
        HttpClient c(port_);
        ASSERT_TRUE(c.ok());
        ASSERT_TRUE(c.send(request));
        const std::string got = c.read_until_close(5s);
        EXPECT_TRUE(got.starts_with("HTTP/1.1 4") || got.starts_with("<html>"))
            << "no error response for: " << request << "\n"
            << got.substr(0, got.find("\r\n\r\n"));
        EXPECT_EQ(got.find(secret_), std::string::npos) << "the secret was served for: " << request;
        EXPECT_EQ(got.find(conf_marker), std::string::npos)
            << "the configuration was served for: " << request;
        EXPECT_TRUE(c.peer_closed()) << "no end of stream within 5 s for: " << request;
    }
    // The server is still fine.
    const auto r = get("/a.txt");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
}

TEST_F(HttpTest, HundredPipelinedRequestsInOneWrite) {
    std::string all;
    for (int i = 0; i < 100; ++i) {
        all += http_get("/p/" + std::to_string(i) + ".txt");
    }
    HttpClient c(port_);
    ASSERT_TRUE(c.send(all));
    for (int i = 0; i < 100; ++i) {
        const auto r = c.read_response();
        ASSERT_TRUE(r.has_value()) << "response " << i << ": " << c.error();
        EXPECT_EQ(r->status, 200) << "response " << i;
        EXPECT_EQ(r->body, "file " + std::to_string(i) + "\n") << "response " << i;
        EXPECT_EQ(r->header_or("Connection"), "keep-alive") << "response " << i;
    }
    EXPECT_EQ(c.pending(), "");
    // Still alive afterwards.
    ASSERT_TRUE(c.send(http_get("/a.txt")));
    const auto last = c.read_response();
    ASSERT_TRUE(last.has_value()) << c.error();
    EXPECT_EQ(last->body, k_a_txt);
}

// A request with a body, then a pipelined GET, all in one write (or the body later):
// the body is discarded and the GET answered on the same connection.
struct BodyCase {
    const char* name;
    std::string head;
    std::string body;
    int status;
    bool body_later;  // the body (and the next request) arrive 200 ms after the head
};

void PrintTo(const BodyCase& c, std::ostream* os) {
    *os << c.name;
}

class HttpBodyTest : public HttpTest, public ::testing::WithParamInterface<BodyCase> {};

TEST_P(HttpBodyTest, BodyIsDiscardedAndTheNextRequestAnswered) {
    const BodyCase& b = GetParam();
    HttpClient c(port_);
    const std::string next = http_get("/p/42.txt");
    if (b.body_later) {
        ASSERT_TRUE(c.send(b.head));
        std::this_thread::sleep_for(200ms);
        ASSERT_TRUE(c.send(b.body + next));
    } else {
        ASSERT_TRUE(c.send(b.head + b.body + next));
    }
    const auto first = c.read_response();
    ASSERT_TRUE(first.has_value()) << c.error();
    EXPECT_EQ(first->status, b.status);
    EXPECT_EQ(first->header_or("Connection"), "keep-alive");
    const auto second = c.read_response();
    ASSERT_TRUE(second.has_value()) << "the request after the body got no response: " << c.error();
    EXPECT_EQ(second->status, 200);
    EXPECT_EQ(second->body, "file 42\n");
}

std::string post_head(std::string_view method, std::string_view header) {
    return std::string(method) + " /a.txt HTTP/1.1\r\nHost: localhost\r\n" + std::string(header) +
           "\r\n";
}

const std::string k_chunked_body = "5\r\nhello\r\n6; ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n";

INSTANTIATE_TEST_SUITE_P(
    Bodies, HttpBodyTest,
    ::testing::Values(
        BodyCase{"PostContentLength", post_head("POST", "Content-Length: 10\r\n"), "0123456789",
                 405, false},
        BodyCase{"GetContentLength", post_head("GET", "Content-Length: 10\r\n"), "0123456789", 200,
                 false},
        BodyCase{"PostChunked", post_head("POST", "Transfer-Encoding: chunked\r\n"), k_chunked_body,
                 405, false},
        BodyCase{"GetChunked", post_head("GET", "Transfer-Encoding: chunked\r\n"), k_chunked_body,
                 200, false},
        BodyCase{"PostLargeContentLength", post_head("POST", "Content-Length: 100000\r\n"),
                 std::string(100000, 'b'), 405, false},
        BodyCase{"PostContentLengthLater", post_head("POST", "Content-Length: 10\r\n"),
                 "0123456789", 405, true},
        BodyCase{"PostChunkedLater", post_head("POST", "Transfer-Encoding: chunked\r\n"),
                 k_chunked_body, 405, true}),
    [](const auto& p) { return std::string(p.param.name); });

TEST_F(HttpTest, ConditionalRequests) {
    const auto full = get("/a.txt");
    ASSERT_TRUE(full.has_value());
    const std::string etag = full->header_or("ETag");
    const std::string modified = full->header_or("Last-Modified");
    ASSERT_FALSE(etag.empty());

    const auto none_match = get("/a.txt", "localhost", "If-None-Match: " + etag + "\r\n");
    ASSERT_TRUE(none_match.has_value());
    EXPECT_EQ(none_match->status_line, "HTTP/1.1 304 Not Modified");
    EXPECT_EQ(none_match->body, "");
    EXPECT_EQ(none_match->header_or("ETag"), etag);
    EXPECT_FALSE(none_match->header("Content-Length").has_value());

    const auto none_match_list =
        get("/a.txt", "localhost", "If-None-Match: \"other\", W/" + etag + "\r\n");
    ASSERT_TRUE(none_match_list.has_value());
    EXPECT_EQ(none_match_list->status, 304);

    const auto other_tag = get("/a.txt", "localhost", "If-None-Match: \"other\"\r\n");
    ASSERT_TRUE(other_tag.has_value());
    EXPECT_EQ(other_tag->status, 200);
    EXPECT_EQ(other_tag->body, k_a_txt);

    const auto since = get("/a.txt", "localhost", "If-Modified-Since: " + modified + "\r\n");
    ASSERT_TRUE(since.has_value());
    EXPECT_EQ(since->status, 304);
    EXPECT_EQ(since->body, "");

    // if_modified_since exact: another date, even a later one, is not a match.
    const auto later =
        get("/a.txt", "localhost", "If-Modified-Since: Fri, 03 Jan 2020 03:04:05 GMT\r\n");
    ASSERT_TRUE(later.has_value());
    EXPECT_EQ(later->status, 200);

    const auto mismatch = get("/a.txt", "localhost", "If-Match: \"nope\"\r\n");
    ASSERT_TRUE(mismatch.has_value());
    EXPECT_EQ(mismatch->status_line, "HTTP/1.1 412 Precondition Failed");
    EXPECT_EQ(mismatch->body, nginx_page("412 Precondition Failed", mismatch->header_or("Server")));

    const auto match = get("/a.txt", "localhost", "If-Match: " + etag + "\r\n");
    ASSERT_TRUE(match.has_value());
    EXPECT_EQ(match->status, 200);

    const auto unmodified =
        get("/a.txt", "localhost", "If-Unmodified-Since: Wed, 01 Jan 2020 00:00:00 GMT\r\n");
    ASSERT_TRUE(unmodified.has_value());
    EXPECT_EQ(unmodified->status, 412);
}

TEST_F(HttpTest, SingleRanges) {
    const std::string content = range_content();
    struct Case {
        const char* range;
        std::size_t first;
        std::size_t last;
    };
    for (const Case& c : {Case{"bytes=0-99", 0, 99}, Case{"bytes=-100", 900, 999},
                          Case{"bytes=900-", 900, 999}, Case{"bytes=500-500", 500, 500},
                          Case{"bytes=990-5000", 990, 999}, Case{"bytes=-5000", 0, 999}}) {
        const auto r = get("/range.bin", "localhost", std::string("Range: ") + c.range + "\r\n");
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->status_line, "HTTP/1.1 206 Partial Content") << c.range;
        EXPECT_EQ(r->header_or("Content-Range"),
                  "bytes " + std::to_string(c.first) + "-" + std::to_string(c.last) + "/1000")
            << c.range;
        EXPECT_EQ(r->header_or("Content-Length"), std::to_string(c.last - c.first + 1)) << c.range;
        EXPECT_EQ(r->body, content.substr(c.first, c.last - c.first + 1)) << c.range;
    }
    for (const char* range : {"bytes=1000-", "bytes=5000-6000"}) {
        const auto r = get("/range.bin", "localhost", std::string("Range: ") + range + "\r\n");
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->status_line, "HTTP/1.1 416 Requested Range Not Satisfiable") << range;
        EXPECT_EQ(r->header_or("Content-Range"), "bytes */1000") << range;
        EXPECT_EQ(r->body,
                  nginx_page("416 Requested Range Not Satisfiable", r->header_or("Server")));
    }
    // If-Range with another validator: the whole file.
    const auto if_range =
        get("/range.bin", "localhost", "Range: bytes=0-9\r\nIf-Range: \"stale\"\r\n");
    ASSERT_TRUE(if_range.has_value());
    EXPECT_EQ(if_range->status, 200);
    EXPECT_EQ(if_range->body, content);
    // An unparsable range is ignored.
    const auto junk = get("/range.bin", "localhost", "Range: pages=1-2\r\n");
    ASSERT_TRUE(junk.has_value());
    EXPECT_EQ(junk->status, 200);
    EXPECT_EQ(junk->body.size(), 1000u);
}

TEST_F(HttpTest, KeepaliveRequestsClosesAfterTheLimit) {
    HttpClient c(keepalive_port_);
    for (int i = 1; i <= 3; ++i) {
        ASSERT_TRUE(c.send(http_get("/a.txt"))) << "request " << i << ": " << c.error();
        const auto r = c.read_response();
        ASSERT_TRUE(r.has_value()) << "request " << i << ": " << c.error();
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->header_or("Connection"), i < 3 ? "keep-alive" : "close") << "request " << i;
    }
    EXPECT_TRUE(c.wait_closed(2s)) << "open after the third response";
}

TEST_F(HttpTest, KeepaliveTimeoutClosesAnIdleConnection) {
    HttpClient c(keepalive_port_);
    ASSERT_TRUE(c.send(http_get("/a.txt")));
    const auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->header_or("Connection"), "keep-alive");
    const auto start = Clock::now();
    std::string extra;
    EXPECT_TRUE(c.wait_closed(5s, &extra)) << "still open 5 s after keepalive_timeout 1";
    const double idle = seconds_since(start);
    EXPECT_GE(idle, 0.7);
    EXPECT_LE(idle, 2.5);
    EXPECT_EQ(extra, "");
}

TEST_F(HttpTest, VirtualServersByHost) {
    struct Case {
        const char* host;
        const char* body;
    };
    const std::string with_port = "exact.test:" + std::to_string(port_);
    for (const Case& c :
         {Case{"localhost", "<html>index</html>\n"}, Case{"exact.test", "exact vhost\n"},
          Case{"EXACT.Test", "exact vhost\n"}, Case{with_port.c_str(), "exact vhost\n"},
          Case{"exact.test.", "exact vhost\n"}, Case{"a.wild.test", "wild vhost\n"},
          Case{"deep.a.wild.test", "wild vhost\n"}, Case{"wild.test", "default vhost\n"},
          Case{"other.test", "default vhost\n"}, Case{"default.test", "default vhost\n"}}) {
        const auto r = get("/", c.host);
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->body, c.body) << "Host: " << c.host;
    }
    // No Host at all (HTTP/1.0): the default server.
    const auto r = fetch(port_, "GET / HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, "default vhost\n");
    EXPECT_EQ(r->header_or("Connection"), "close");
    // HTTP/1.1 without Host is a bad request.
    const auto no_host = fetch(port_, "GET / HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(no_host.has_value());
    EXPECT_EQ(no_host->status, 400);
}

TEST_F(HttpTest, ReturnTextAndRedirect) {
    const auto text = get("/ret200");
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(text->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(text->body, "text");
    EXPECT_EQ(text->header_or("Content-Length"), "4");
    EXPECT_EQ(text->header_or("Content-Type"), "application/octet-stream");

    const auto redirect = get("/redir/anything");
    ASSERT_TRUE(redirect.has_value());
    EXPECT_EQ(redirect->status_line, "HTTP/1.1 301 Moved Permanently");
    EXPECT_EQ(redirect->header_or("Location"), "http://x/");
    EXPECT_EQ(redirect->body, nginx_page("301 Moved Permanently", redirect->header_or("Server")));
}

TEST_F(HttpTest, AccessLogIsNginxCombined) {
    const std::string agent = "combined-test/" + std::to_string(::getpid());
    const auto r = get("/a.txt?q=1&r=%20", "localhost",
                       "Referer: http://ref.example/page\r\nUser-Agent: " + agent + "\r\n");
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200);
    const std::string agent_404 = "combined-404/" + std::to_string(::getpid());
    const auto missing =
        get("/missing", "localhost", "User-Agent: " + agent_404 + " \"quoted\"\r\n");
    ASSERT_TRUE(missing.has_value());
    const std::size_t missing_length = missing->body.size();
    ASSERT_TRUE(server_->wait_for_text("logs/access.log", agent_404, 3s));

    std::string line;
    std::string line_404;
    for (const std::string& l : split_lines(server_->read("logs/access.log"))) {
        if (l.find(agent) != std::string::npos) {
            line = l;
        }
        if (l.find(agent_404) != std::string::npos) {
            line_404 = l;
        }
    }
    constexpr std::string_view k_remote = "127.0.0.1 - - ";
    ASSERT_TRUE(line.starts_with(k_remote)) << line;
    const std::size_t after_time = line.find("] ");
    ASSERT_NE(after_time, std::string::npos) << line;
    EXPECT_TRUE(is_log_time(line.substr(k_remote.size(), after_time + 1 - k_remote.size())))
        << line;
    EXPECT_EQ(
        line.substr(after_time + 2),
        "\"GET /a.txt?q=1&r=%20 HTTP/1.1\" 200 13 \"http://ref.example/page\" \"" + agent + "\"");
    // The time is now (within a minute).
    std::tm when{};
    const char* end = strptime(line.c_str() + line.find('[') + 1, "%d/%b/%Y:%H:%M:%S %z", &when);
    ASSERT_NE(end, nullptr) << line;
    const std::time_t logged = timegm(&when) - when.tm_gmtoff;
    EXPECT_LT(std::abs(static_cast<long long>(logged - ::time(nullptr))), 60) << line;

    ASSERT_NE(line_404.find("] "), std::string::npos) << line_404;
    EXPECT_EQ(line_404.substr(line_404.find("] ") + 2),
              "\"GET /missing HTTP/1.1\" 404 " + std::to_string(missing_length) + " \"-\" \"" +
                  agent_404 + " \\x22quoted\\x22\"");
}

// `alias` replaces the location's prefix; traversal through it stays inside the alias.
TEST(AliasTest, AliasServesAndDoesNotEscape) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(
        server.configure(TestServer::config("    server {\n"
                                            "        listen 127.0.0.1:" +
                                            std::to_string(port) +
                                            ";\n"
                                            "        root html;\n"
                                            "        location /al/ {\n"
                                            "            alias html/sub/;\n"
                                            "        }\n"
                                            "    }\n")));
    ASSERT_TRUE(server.write("html/sub/page.txt", "sub page\n"));
    ASSERT_TRUE(server.write("html/sub/index.html", "sub index\n"));
    ASSERT_TRUE(server.write("html/private.txt", "PRIVATE-OUTSIDE-ALIAS\n"));
    ASSERT_TRUE(server.write("secret.txt", "TOP-SECRET-ALIAS\n"));
    ASSERT_TRUE(server.start());

    auto page = fetch(port, http_get("/al/page.txt"));
    ASSERT_TRUE(page.has_value());
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->body, "sub page\n");
    auto index = fetch(port, http_get("/al/"));
    ASSERT_TRUE(index.has_value());
    EXPECT_EQ(index->body, "sub index\n");
    for (const char* target :
         {"/al/../private.txt", "/al/..%2fprivate.txt", "/al/%2e%2e/private.txt",
          "/al/../../secret.txt", "/al/..%2f..%2fsecret.txt", "/al/%2e%2e/%2e%2e/secret.txt",
          "/al/%c0%ae%c0%ae/private.txt"}) {
        HttpClient c(port);
        ASSERT_TRUE(c.send(std::string("GET ") + target +
                           " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
        const std::string got = c.read_until_close(5s);
        EXPECT_EQ(got.find("TOP-SECRET-ALIAS"), std::string::npos) << target;
        // "/al/../private.txt" is "/private.txt" once normalised: served from the root,
        // which is allowed; through the alias it would be html/sub/../private.txt.
        EXPECT_TRUE(got.starts_with("HTTP/1.1 ")) << target;
    }
    server.stop();
}

// Checks that every byte of a body is zero, counting them.
struct ZeroCheck {
    std::uint64_t nonzero_at = UINT64_MAX;
    std::uint64_t seen = 0;
    bool operator()(const char* data, std::size_t size) {
        static const std::vector<char> zeros(256 * 1024, 0);
        for (std::size_t done = 0; done < size;) {
            const std::size_t n = std::min(size - done, zeros.size());
            if (std::memcmp(data + done, zeros.data(), n) != 0 && nonzero_at == UINT64_MAX) {
                for (std::size_t k = 0; k < n; ++k) {
                    if (data[done + k] != 0) {
                        nonzero_at = seen + done + k;
                        break;
                    }
                }
            }
            done += n;
        }
        seen += size;
        return true;
    }
};

class SparseFileTest : public HttpTest, public ::testing::WithParamInterface<const char*> {};

// A 1 GiB file of zeros (sparse): whole, then by range, on one keepalive connection;
// with sendfile and with pread+writev.
TEST_P(SparseFileTest, GigabyteWholeAndByRange) {
    const std::string path = std::string(GetParam()) + "big.bin";
    HttpClient c(port_);
    const auto start = Clock::now();
    ASSERT_TRUE(c.send(http_get(path)));
    ZeroCheck check;
    const auto whole =
        c.read_response(false, 120s, [&](const char* d, std::size_t n) { return check(d, n); });
    const double took = seconds_since(start);
    ASSERT_TRUE(whole.has_value()) << c.error() << " after " << check.seen << " bytes";
    EXPECT_EQ(whole->status, 200);
    EXPECT_EQ(whole->header_or("Content-Length"), std::to_string(k_gib));
    EXPECT_EQ(whole->body_bytes, static_cast<std::uint64_t>(k_gib));
    EXPECT_EQ(check.nonzero_at, UINT64_MAX) << "a nonzero byte at " << check.nonzero_at;
    std::printf("[   INFO   ] %s: 1 GiB in %.2f s\n", path.c_str(), took);

    const std::int64_t first = k_gib - 1000;
    ASSERT_TRUE(
        c.send(http_get(path, "localhost", "Range: bytes=" + std::to_string(first) + "-\r\n")));
    const auto tail = c.read_response(false, 10s);
    ASSERT_TRUE(tail.has_value()) << c.error();
    EXPECT_EQ(tail->status, 206);
    EXPECT_EQ(tail->header_or("Content-Range"), "bytes " + std::to_string(first) + "-" +
                                                    std::to_string(k_gib - 1) + "/" +
                                                    std::to_string(k_gib));
    EXPECT_EQ(tail->body, std::string(1000, '\0'));

    ASSERT_TRUE(c.send(http_get(path, "localhost", "Range: bytes=536870912-547356671\r\n")));
    ZeroCheck middle_check;
    const auto middle = c.read_response(
        false, 20s, [&](const char* d, std::size_t n) { return middle_check(d, n); });
    ASSERT_TRUE(middle.has_value()) << c.error();
    EXPECT_EQ(middle->status, 206);
    EXPECT_EQ(middle->body_bytes, 10u << 20);
    EXPECT_EQ(middle_check.nonzero_at, UINT64_MAX);
    EXPECT_EQ(c.pending(), "");
}

INSTANTIATE_TEST_SUITE_P(Modes, SparseFileTest, ::testing::Values("/", "/nosendfile/"),
                         [](const auto& p) {
                             return std::string(p.index == 0 ? "Sendfile" : "PreadWritev");
                         });

}  // namespace
}  // namespace evs::test
