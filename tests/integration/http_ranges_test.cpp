// Range requests, If-Range, Expect: 100-continue, reset_timedout_connection, the
// stub_status gauges ($connections_*) and the connection timeouts, against the real
// binary on 127.0.0.1. Multipart bodies are parsed here and every part is compared
// with the file's bytes.
//
// Each test process starts its own server (one worker) with three server blocks: the
// site, one with short timeouts and reset_timedout_connection on, one with short
// timeouts and it off. See server_fixture.hpp.

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

using namespace std::string_literals;

constexpr std::time_t k_mtime = 1577934245;  // Thu, 02 Jan 2020 03:04:05 GMT
constexpr char k_mtime_text[] = "Thu, 02 Jan 2020 03:04:05 GMT";
constexpr std::size_t k_large = 3 * 1024 * 1024;
constexpr std::int64_t k_stall_size = std::int64_t{256} << 20;

std::string patterned(std::size_t size) {
    std::string text(size, ' ');
    for (std::size_t i = 0; i < text.size(); ++i) {
        text[i] = static_cast<char>('!' + (i * 7 + i / 13) % 90);
    }
    return text;
}

// One part of a multipart/byteranges body.
struct Part {
    std::string content_type;
    long long first = -1;
    long long last = -1;
    long long total = -1;
    std::string data;
};

// Parses nginx's layout exactly: CRLF "--" boundary CRLF, the part's headers, CRLF,
// the bytes, and after the last part CRLF "--" boundary "--" CRLF, nothing more.
bool parse_multipart(const std::string& body, const std::string& boundary, std::vector<Part>* parts,
                     std::string* why) {
    const std::string delimiter = "\r\n--" + boundary;
    std::size_t pos = 0;
    for (;;) {
        if (body.compare(pos, delimiter.size(), delimiter) != 0) {
            *why = "no delimiter at offset " + std::to_string(pos);
            return false;
        }
        pos += delimiter.size();
        if (body.compare(pos, 4, "--\r\n") == 0) {
            if (pos + 4 != body.size()) {
                *why = "bytes after the closing delimiter";
                return false;
            }
            return true;
        }
        if (body.compare(pos, 2, "\r\n") != 0) {
            *why = "no CRLF after the delimiter at " + std::to_string(pos);
            return false;
        }
        pos += 2;
        const std::size_t end = body.find("\r\n\r\n", pos);
        if (end == std::string::npos) {
            *why = "unterminated part headers";
            return false;
        }
        Part part;
        for (std::size_t line = pos; line < end + 2;) {
            const std::size_t eol = body.find("\r\n", line);
            const std::string text = body.substr(line, eol - line);
            if (text.starts_with("Content-Type: ")) {
                part.content_type = text.substr(14);
            } else if (std::sscanf(text.c_str(), "Content-Range: bytes %lld-%lld/%lld", &part.first,
                                   &part.last, &part.total) != 3) {
                *why = "unexpected part header \"" + text + "\"";
                return false;
            }
            line = eol + 2;
        }
        pos = end + 4;
        const auto size = static_cast<std::size_t>(part.last - part.first + 1);
        if (part.first < 0 || pos + size > body.size()) {
            *why = "part data out of the body";
            return false;
        }
        part.data = body.substr(pos, size);
        pos += size;
        parts->push_back(std::move(part));
    }
}

std::string boundary_of(const HttpResponse& r) {
    const std::string type = r.header_or("Content-Type");
    const std::string prefix = "multipart/byteranges; boundary=";
    return type.starts_with(prefix) ? type.substr(prefix.size()) : "";
}

// Waits for the socket to see the peer's reset (POLLERR) within `timeout`.
bool reset_seen(int fd, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLOUT, 0};
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (::poll(&p, 1, 50) == 1 && (p.revents & POLLERR) != 0) {
            int err = 0;
            socklen_t len = sizeof(err);
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            return err == ECONNRESET || err == EPIPE;
        }
    }
    return false;
}

class RangesTest : public SharedServerSuite<RangesTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        reset_port_ = free_port();
        plain_port_ = free_port();
        TestServer& s = *server_;
        const std::string timeouts =
            "        client_header_timeout 1s;\n"
            "        send_timeout 1s;\n"
            "        keepalive_timeout 1s;\n"
            "        keepalive_time 2s;\n"
            "        lingering_timeout 1s;\n"
            "        lingering_time 3s;\n"
            "        client_max_body_size 10;\n"
            "        root html;\n";
        const std::string http =
            "    default_type application/octet-stream;\n"
            "    log_format gauges '$request_uri $connections_active $connections_reading "
            "$connections_writing $connections_waiting';\n"
            "    access_log logs/access.log gauges;\n"
            "    sendfile on;\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        root html;\n"
            "        location /nosendfile/ { root nsf; sendfile off; }\n"
            "        location /max1/ { max_ranges 1; }\n"
            "        location /max0/ { max_ranges 0; }\n"
            "        location /noetag/ { etag off; }\n"
            "        location = /ret { return 200 \"ok\"; }\n"
            "        location /small/ { client_max_body_size 5; }\n"
            "    }\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(reset_port_) + ";\n" + timeouts +
            "        reset_timedout_connection on;\n"
            "        location = /close { return 444; }\n"
            "    }\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(plain_port_) + ";\n" + timeouts +
            "        location = /close { return 444; }\n"
            "    }\n";
        bool ok = s.configure(
            TestServer::config(http, 1, "worker_connections 256;", "worker_shutdown_timeout 2s;"));
        for (const char* dir :
             {"html/", "nsf/nosendfile/", "html/max1/", "html/max0/", "html/noetag/"}) {
            ok = ok && s.write(std::string(dir) + "range.bin", patterned(1000)) &&
                 s.write(std::string(dir) + "page.txt", patterned(1000));
        }
        ok = ok && s.write("html/large.bin", patterned(k_large)) &&
             s.write("nsf/nosendfile/large.bin", patterned(k_large)) &&
             s.write("html/empty.bin", "") && s.write("html/small/x.txt", "x");
        const timeval times[2] = {{k_mtime, 0}, {k_mtime, 0}};
        ok = ok && ::utimes(s.path("html/range.bin").c_str(), times) == 0;
        const int fd =
            ::open(s.path("html/stall.bin").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        ok = ok && fd >= 0 && ::ftruncate(fd, k_stall_size) == 0;
        if (fd >= 0) {
            ::close(fd);
        }
        ASSERT_TRUE(ok) << "cannot build the site";
        ASSERT_TRUE(s.start());
    }

    static std::optional<HttpResponse> get(std::string_view path, std::string_view extra = "",
                                           std::uint16_t port = 0) {
        std::string why;
        auto r = fetch(port == 0 ? port_ : port, http_get(path, "localhost", extra), &why);
        EXPECT_TRUE(r.has_value()) << "GET " << path << ": " << why;
        return r;
    }

    // The multipart response to `range` for `path` (a file whose bytes are `content`),
    // checked against nginx's layout and the file, part by part.
    static void expect_multipart(std::string_view path, const std::string& content,
                                 const std::string& range,
                                 const std::vector<std::pair<long long, long long>>& expected) {
        const auto r = get(path, "Range: " + range + "\r\n");
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->status_line, "HTTP/1.1 206 Partial Content") << range;
        const std::string boundary = boundary_of(*r);
        ASSERT_EQ(boundary.size(), 20u) << r->head;
        EXPECT_EQ(boundary.find_first_not_of("0123456789"), std::string::npos) << boundary;
        EXPECT_EQ(r->header_or("Content-Length"), std::to_string(r->body.size()));
        EXPECT_FALSE(r->header("Content-Range").has_value()) << "only parts have one";
        EXPECT_FALSE(r->header("Accept-Ranges").has_value()) << "nginx: only on 200";
        std::vector<Part> parts;
        std::string why;
        ASSERT_TRUE(parse_multipart(r->body, boundary, &parts, &why)) << why << "\n"
                                                                      << r->body.substr(0, 300);
        ASSERT_EQ(parts.size(), expected.size()) << range;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            const Part& p = parts[i];
            EXPECT_EQ(p.content_type, "application/octet-stream") << range << " part " << i;
            EXPECT_EQ(p.first, expected[i].first) << range << " part " << i;
            EXPECT_EQ(p.last, expected[i].second) << range << " part " << i;
            EXPECT_EQ(p.total, static_cast<long long>(content.size()));
            EXPECT_TRUE(p.data == content.substr(static_cast<std::size_t>(p.first),
                                                 static_cast<std::size_t>(p.last - p.first + 1)))
                << range << " part " << i << " differs from the file";
        }
    }

    static inline std::uint16_t reset_port_ = 0;
    static inline std::uint16_t plain_port_ = 0;
};

// ---------------------------------------------------------------------------
// Multipart ranges

TEST_F(RangesTest, MultipartPartsMatchTheFile) {
    const std::string content = patterned(1000);
    for (const char* dir : {"/", "/nosendfile/"}) {
        const std::string path = std::string(dir) + "range.bin";
        SCOPED_TRACE(path);
        expect_multipart(path, content, "bytes=0-1,5-9", {{0, 1}, {5, 9}});
        // Unsorted, suffix and open-ended parts keep the client's order.
        expect_multipart(path, content, "bytes=990-,-3,100-199,0-0",
                         {{990, 999}, {997, 999}, {100, 199}, {0, 0}});
        // Spaces, and a part past the end skipped.
        expect_multipart(path, content, "bytes= 1 - 2 , 5000-6000 , 7-8", {{1, 2}, {7, 8}});
        // Overlapping parts that add up to no more than the file are sent as asked.
        expect_multipart(path, content, "bytes=0-99,50-149", {{0, 99}, {50, 149}});
    }
}

TEST_F(RangesTest, MultipartExactLayout) {
    const std::string content = patterned(1000);
    const auto r = get("/page.txt", "Range: bytes=0-1,5-9\r\n");
    ASSERT_TRUE(r.has_value());
    const std::string b = boundary_of(*r);
    ASSERT_FALSE(b.empty()) << r->head;
    const std::string expected = "\r\n--" + b +
                                 "\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/1000"
                                 "\r\n\r\n" +
                                 content.substr(0, 2) + "\r\n--" + b +
                                 "\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-9/1000"
                                 "\r\n\r\n" +
                                 content.substr(5, 5) + "\r\n--" + b + "--\r\n";
    EXPECT_EQ(r->body, expected);
    EXPECT_EQ(r->header_or("Content-Length"), std::to_string(expected.size()));
    EXPECT_EQ(r->header_or("Last-Modified").empty(), false);
    // Each response has its own boundary.
    const auto again = get("/page.txt", "Range: bytes=0-1,5-9\r\n");
    ASSERT_TRUE(again.has_value());
    EXPECT_NE(boundary_of(*again), b);
}

// Megabyte parts: the writer goes through EAGAIN and resumes in the middle of parts.
TEST_F(RangesTest, MultipartLargePartsWithAndWithoutSendfile) {
    const std::string content = patterned(k_large);
    for (const char* path : {"/large.bin", "/nosendfile/large.bin"}) {
        SCOPED_TRACE(path);
        expect_multipart(
            path, content, "bytes=0-1048575,2097152-,1048576-1048580,-70000",
            {{0, 1048575},
             {2097152, static_cast<long long>(k_large) - 1},
             {1048576, 1048580},
             {static_cast<long long>(k_large) - 70000, static_cast<long long>(k_large) - 1}});
    }
}

TEST_F(RangesTest, RangesAddingUpToMoreThanTheFileGetTheWholeFile) {
    const auto r = get("/range.bin", "Range: bytes=0-599,400-999\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, patterned(1000));
    EXPECT_EQ(r->header_or("Accept-Ranges"), "bytes");
}

TEST_F(RangesTest, MaxRanges) {
    // More ranges than max_ranges: nginx sends the whole file.
    auto r = get("/max1/range.bin", "Range: bytes=0-1,5-9\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), 1000u);
    r = get("/max1/range.bin", "Range: bytes=5-9\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 206);
    EXPECT_EQ(r->body, patterned(1000).substr(5, 5));
    // max_ranges 0 turns ranges off, Accept-Ranges with them.
    r = get("/max0/range.bin", "Range: bytes=5-9\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body.size(), 1000u);
    EXPECT_FALSE(r->header("Accept-Ranges").has_value());
    // Unlimited by default.
    std::string many = "bytes=0-0";
    std::vector<std::pair<long long, long long>> expected{{0, 0}};
    for (int i = 1; i < 50; ++i) {
        // Appended piece by piece: g++ 12 -O2 warns (-Wrestrict, a false positive) on
        // "," + std::to_string(...).
        many += ',';
        many += std::to_string(i * 10);
        many += '-';
        many += std::to_string(i * 10 + 1);
        expected.emplace_back(i * 10, i * 10 + 1);
    }
    expect_multipart("/range.bin", patterned(1000), many, expected);
}

TEST_F(RangesTest, UnsatisfiableRanges) {
    for (const char* range :
         {"bytes=2000-3000,5000-", "bytes=1000-", "bytes=5-3", "bytes=abc", "bytes=-0"}) {
        const auto r = get("/range.bin", "Range: "s + range + "\r\n");
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->status_line, "HTTP/1.1 416 Requested Range Not Satisfiable") << range;
        EXPECT_EQ(r->header_or("Content-Range"), "bytes */1000") << range;
    }
    // Another unit, or the start of an empty file: the whole file.
    auto r = get("/range.bin", "Range: items=0-1\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    r = get("/empty.bin", "Range: bytes=0-\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header_or("Content-Length"), "0");
}

// HEAD with ranges: the GET's head, no body, and the connection stays usable.
TEST_F(RangesTest, HeadWithRanges) {
    HttpClient client(port_);
    ASSERT_TRUE(client.ok()) << client.error();
    ASSERT_TRUE(
        client.send(http_get("/range.bin", "localhost", "Range: bytes=0-1,5-9\r\n", "HEAD")));
    const auto head = client.read_response(true);
    ASSERT_TRUE(head.has_value()) << client.error();
    EXPECT_EQ(head->status, 206);
    EXPECT_TRUE(head->header_or("Content-Type").starts_with("multipart/byteranges; boundary="));
    const auto get_response = get("/range.bin", "Range: bytes=0-1,5-9\r\n");
    ASSERT_TRUE(get_response.has_value());
    EXPECT_EQ(head->header_or("Content-Length"), get_response->header_or("Content-Length"));
    ASSERT_TRUE(client.send(http_get("/range.bin", "localhost", "Range: bytes=-2\r\n", "HEAD")));
    const auto single = client.read_response(true);
    ASSERT_TRUE(single.has_value()) << client.error();
    EXPECT_EQ(single->status, 206);
    EXPECT_EQ(single->header_or("Content-Range"), "bytes 998-999/1000");
    EXPECT_EQ(single->header_or("Content-Length"), "2");
    // No body bytes came with either head: the next response starts right away.
    ASSERT_TRUE(client.send(http_get("/ret")));
    const auto next = client.read_response();
    ASSERT_TRUE(next.has_value()) << client.error();
    EXPECT_EQ(next->body, "ok");
}

// ---------------------------------------------------------------------------
// If-Range

TEST_F(RangesTest, IfRange) {
    const std::string content = patterned(1000);
    const auto whole = get("/range.bin");
    ASSERT_TRUE(whole.has_value());
    const std::string etag = whole->header_or("ETag");
    ASSERT_FALSE(etag.empty());
    EXPECT_EQ(whole->header_or("Last-Modified"), k_mtime_text);

    struct Case {
        std::string if_range;
        int status;
    };
    for (const Case& c :
         {Case{etag, 206}, Case{"W/" + etag, 200}, Case{"\"stale\"", 200}, Case{k_mtime_text, 206},
          Case{"Thu, 02 Jan 2020 03:04:06 GMT", 200}, Case{"not a date", 200}}) {
        for (const char* range : {"bytes=0-9", "bytes=0-1,5-9"}) {
            const auto r =
                get("/range.bin", "Range: "s + range + "\r\nIf-Range: " + c.if_range + "\r\n");
            ASSERT_TRUE(r.has_value());
            EXPECT_EQ(r->status, c.status) << c.if_range << " " << range;
            if (c.status == 200) {
                EXPECT_EQ(r->body, content) << c.if_range;
            }
        }
    }
    // Without an ETag only the date form can match.
    const auto no_etag = get("/noetag/range.bin", "Range: bytes=0-9\r\nIf-Range: \"x\"\r\n");
    ASSERT_TRUE(no_etag.has_value());
    EXPECT_EQ(no_etag->status, 200);
}

// ---------------------------------------------------------------------------
// Expect: 100-continue

constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";

// Reads exactly k_continue.size() bytes, or what arrives within the timeout.
std::string read_some(HttpClient& client, std::size_t want, std::chrono::milliseconds timeout) {
    std::string got;
    const auto deadline = Clock::now() + timeout;
    while (got.size() < want && Clock::now() < deadline) {
        pollfd p{client.fd(), POLLIN, 0};
        if (::poll(&p, 1, 50) == 1) {
            char buf[256];
            const ssize_t n = ::recv(client.fd(), buf, std::min(sizeof(buf), want - got.size()), 0);
            if (n <= 0) {
                break;
            }
            got.append(buf, static_cast<std::size_t>(n));
        }
    }
    return got;
}

TEST_F(RangesTest, ExpectContinueIsSentBeforeTheBody) {
    HttpClient client(port_);
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(
        client.send("POST /ret HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n"
                    "Expect: 100-continue\r\n\r\n"));
    EXPECT_EQ(read_some(client, k_continue.size(), 3s), k_continue);
    // The final response; then the body, which is read and dropped, and the
    // connection goes on.
    const auto r = client.read_response();
    ASSERT_TRUE(r.has_value()) << client.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header_or("Connection"), "keep-alive");
    ASSERT_TRUE(client.send("0123456789"));
    ASSERT_TRUE(client.send(http_get("/ret")));
    const auto next = client.read_response();
    ASSERT_TRUE(next.has_value()) << client.error();
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->body, "ok");
}

TEST_F(RangesTest, NoContinueWhenNotWanted) {
    struct Case {
        const char* name;
        std::string request;
        int status;
    };
    const Case cases[] = {
        // The body came with the head: the client did not wait.
        {"body already here",
         "POST /ret HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n"
         "Expect: 100-continue\r\n\r\nbody",
         200},
        // HTTP/1.0 has no interim responses.
        {"HTTP/1.0",
         "POST /ret HTTP/1.0\r\nHost: localhost\r\nContent-Length: 4\r\n"
         "Expect: 100-continue\r\n\r\n",
         200},
        // Refused for its size: 413 and no invitation to send the body.
        {"too large",
         "POST /small/x.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n"
         "Expect: 100-continue\r\n\r\n",
         413},
        // No body at all.
        {"no body", "GET /ret HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n\r\n", 200},
    };
    for (const Case& c : cases) {
        HttpClient client(port_);
        ASSERT_TRUE(client.ok());
        ASSERT_TRUE(client.send(c.request));
        const auto r = client.read_response();
        ASSERT_TRUE(r.has_value()) << c.name << ": " << client.error();
        EXPECT_EQ(r->status, c.status) << c.name;
    }
}

TEST_F(RangesTest, ExpectContinueWithCurl) {
    ASSERT_TRUE(server_->write("upload.bin", patterned(5000)));
    const std::string url = "http://127.0.0.1:" + std::to_string(port_) + "/ret";
    // curl waits up to 10 s for the 100 before sending anyway; the dump shows whether
    // it came, and the run is bounded by --max-time.
    ChildProcess curl;
    ASSERT_TRUE(curl.start(
        "/usr/bin/curl",
        {"-sS", "--max-time", "20", "--expect100-timeout", "10", "-D", "-", "-o", "/dev/null", "-H",
         "Expect: 100-continue", "--data-binary", "@" + server_->path("upload.bin"), url}));
    const std::string out = curl.read_all(30s).value_or("");
    const auto status = curl.wait(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 0) << curl.stderr_text();
    EXPECT_TRUE(out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")) << out;
}

// ---------------------------------------------------------------------------
// reset_timedout_connection and the timeouts

// A request head that never ends: client_header_timeout (1 s) closes it, with RST
// when reset_timedout_connection is on and with FIN when it is off.
TEST_F(RangesTest, HeaderTimeoutResetsOnlyWithTheFlag) {
    for (const auto& [port, reset] :
         {std::pair{reset_port_, true}, std::pair{plain_port_, false}}) {
        HttpClient client(port);
        ASSERT_TRUE(client.ok());
        ASSERT_TRUE(client.send("GET /range.bin HTTP/1.1\r\nHost: localhost\r\n"));
        std::string extra;
        ASSERT_TRUE(client.wait_closed(5s, &extra)) << "not closed after client_header_timeout";
        EXPECT_EQ(extra, "") << "nginx answers nothing";
        EXPECT_EQ(client.error(),
                  reset ? "connection reset by the server" : "connection closed by the server")
            << (reset ? "reset on" : "reset off");
    }
    EXPECT_TRUE(server_->wait_for_text("logs/error.log", "client timed out", 3s, 2));
}

// A client that stops reading: send_timeout (1 s) ends the response; with the flag
// the unsent bytes are dropped with RST instead of being delivered before a FIN.
TEST_F(RangesTest, SendTimeoutResetsOnlyWithTheFlag) {
    for (const auto& [port, reset] :
         {std::pair{reset_port_, true}, std::pair{plain_port_, false}}) {
        HttpClient client(port);
        ASSERT_TRUE(client.ok());
        ASSERT_TRUE(client.send(http_get("/stall.bin")));
        ASSERT_TRUE(server_->wait_for_text(
            "logs/error.log", "client timed out while sending response", 10s, reset ? 1 : 2));
        std::uint64_t got = 0;
        const auto r = client.read_response(false, 20s, [&](const char*, std::size_t n) {
            got += n;
            return true;
        });
        EXPECT_FALSE(r.has_value()) << "the response cannot be complete";
        EXPECT_LT(got, static_cast<std::uint64_t>(k_stall_size));
        EXPECT_EQ(
            client.error().find(reset ? "connection reset by the server"
                                      : "connection closed by the server") != std::string::npos,
            true)
            << client.error();
    }
}

// "return 444" closes without a response; reset_timedout_connection resets it.
TEST_F(RangesTest, Return444ClosesWithoutAResponse) {
    for (const auto& [port, reset] :
         {std::pair{reset_port_, true}, std::pair{plain_port_, false}}) {
        HttpClient client(port);
        ASSERT_TRUE(client.ok());
        ASSERT_TRUE(client.send(http_get("/close")));
        std::string extra;
        ASSERT_TRUE(client.wait_closed(5s, &extra));
        EXPECT_EQ(extra, "");
        EXPECT_EQ(client.error(),
                  reset ? "connection reset by the server" : "connection closed by the server");
    }
    EXPECT_TRUE(server_->wait_for_text("logs/access.log", "/close ", 3s, 2));
}

// nginx does not reset a keepalive connection that times out idle: nothing is lost.
TEST_F(RangesTest, IdleKeepaliveTimeoutIsAnOrderlyClose) {
    HttpClient client(reset_port_);
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(client.send(http_get("/range.bin")));
    const auto r = client.read_response();
    ASSERT_TRUE(r.has_value()) << client.error();
    EXPECT_EQ(r->header_or("Keep-Alive"), "");
    ASSERT_TRUE(client.wait_closed(5s)) << "keepalive_timeout 1s did not close";
    EXPECT_EQ(client.error(), "connection closed by the server");
}

// keepalive_time: the response after the connection's age passes it says close.
TEST_F(RangesTest, KeepaliveTimeEndsAnOldConnection) {
    HttpClient client(plain_port_);
    ASSERT_TRUE(client.ok());
    const auto start = Clock::now();
    int requests = 0;
    std::optional<HttpResponse> r;
    // keepalive_timeout is 1 s, keepalive_time 2 s: a request every 300 ms keeps the
    // connection until it is 2 s old.
    while (Clock::now() - start < 10s) {
        ASSERT_TRUE(client.send(http_get("/ret")));
        r = client.read_response();
        ASSERT_TRUE(r.has_value()) << client.error();
        ++requests;
        if (r->header_or("Connection") == "close") {
            break;
        }
        std::this_thread::sleep_for(300ms);
    }
    EXPECT_EQ(r->header_or("Connection"), "close");
    EXPECT_GE(Clock::now() - start, 2s);
    EXPECT_GE(requests, 4);
    EXPECT_TRUE(client.wait_closed(3s));
}

// Lingering close after a refused body: the server stops writing at once (FIN),
// reads and drops what comes within lingering_timeout, then closes (a later byte
// gets RST).
TEST_F(RangesTest, LingeringTimeout) {
    HttpClient client(plain_port_);
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(
        client.send("POST /range.bin HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Length: 1000000\r\n\r\n0123"));
    const auto r = client.read_response();
    ASSERT_TRUE(r.has_value()) << client.error();
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(client.wait_closed(3s)) << "no FIN after the response";
    // Within lingering_timeout: the bytes are read, no reset.
    ASSERT_TRUE(client.send("more body"));
    EXPECT_FALSE(reset_seen(client.fd(), 300ms));
    // Silent for longer than lingering_timeout (1 s): the socket is gone.
    std::this_thread::sleep_for(1800ms);
    ASSERT_TRUE(client.send("late"));
    EXPECT_TRUE(reset_seen(client.fd(), 3s));
}

// lingering_time bounds the whole lingering close even when the client keeps sending.
TEST_F(RangesTest, LingeringTimeBoundsATricklingClient) {
    HttpClient client(plain_port_);
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(
        client.send("POST /range.bin HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Length: 1000000\r\n\r\n0123"));
    const auto r = client.read_response();
    ASSERT_TRUE(r.has_value()) << client.error();
    EXPECT_EQ(r->status, 413);
    const auto start = Clock::now();
    bool reset = false;
    while (!reset && Clock::now() - start < 10s) {
        if (::send(client.fd(), "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            reset = errno == EPIPE || errno == ECONNRESET;
            break;
        }
        reset = reset_seen(client.fd(), 300ms);
    }
    EXPECT_TRUE(reset) << "still lingering after 10 s";
    // lingering_time is 3 s; a byte every 300 ms never lets lingering_timeout fire.
    EXPECT_GE(Clock::now() - start, 2500ms);
}

// A body still arriving after a keepalive response is discarded under
// lingering_timeout; a timeout there is a timed-out request (reset with the flag).
TEST_F(RangesTest, DiscardedBodyTimeout) {
    for (const auto& [port, reset] :
         {std::pair{reset_port_, true}, std::pair{plain_port_, false}}) {
        HttpClient client(port);
        ASSERT_TRUE(client.ok());
        ASSERT_TRUE(
            client.send("GET /range.bin HTTP/1.1\r\nHost: localhost\r\n"
                        "Content-Length: 8\r\n\r\n0123"));
        const auto r = client.read_response();
        ASSERT_TRUE(r.has_value()) << client.error();
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->header_or("Connection"), "keep-alive");
        ASSERT_TRUE(client.wait_closed(5s)) << "the rest of the body never came";
        EXPECT_EQ(client.error(),
                  reset ? "connection reset by the server" : "connection closed by the server");
    }
}

// ---------------------------------------------------------------------------
// stub_status gauges, read through $connections_* in the access log

struct Gauges {
    long active = -1;
    long reading = -1;
    long writing = -1;
    long waiting = -1;
};

// A request for `uri` on a new connection, and the gauges its log line shows (the
// probe itself counts as active and writing).
Gauges probe(TestServer& server, std::uint16_t port) {
    static int probes = 0;
    const std::string uri = "/ret?probe=" + std::to_string(++probes);
    const auto r = fetch(port, http_get(uri, "localhost", "Connection: close\r\n"));
    EXPECT_TRUE(r.has_value());
    Gauges g;
    const bool logged = wait_until(
        [&] {
            for (const std::string& line : split_lines(server.read("logs/access.log"))) {
                if (line.starts_with(uri + " ")) {
                    std::sscanf(line.c_str() + uri.size(), "%ld %ld %ld %ld", &g.active, &g.reading,
                                &g.writing, &g.waiting);
                    return true;
                }
            }
            return false;
        },
        3s);
    EXPECT_TRUE(logged) << uri;
    return g;
}

TEST_F(RangesTest, GaugesCountWaitingReadingWriting) {
    // Wait out connections of other phases of this test.
    auto settled = [&](long active, long reading, long writing, long waiting) {
        Gauges g;
        const bool ok = wait_until(
            [&] {
                g = probe(*server_, port_);
                return g.active == active && g.reading == reading && g.writing == writing &&
                       g.waiting == waiting;
            },
            5s);
        EXPECT_TRUE(ok) << "active " << g.active << " reading " << g.reading << " writing "
                        << g.writing << " waiting " << g.waiting;
        return ok;
    };
    ASSERT_TRUE(settled(1, 0, 1, 0));

    // Three idle keepalive connections after a request, one more before its first byte.
    std::vector<HttpClient> idle;
    for (int i = 0; i < 3; ++i) {
        idle.emplace_back(port_);
        ASSERT_TRUE(idle.back().send(http_get("/ret")));
        ASSERT_TRUE(idle.back().read_response().has_value());
    }
    idle.emplace_back(port_);
    ASSERT_TRUE(idle.back().ok());
    EXPECT_TRUE(settled(5, 0, 1, 4));

    // One reading a head that is not finished, one stalled in a large response.
    HttpClient half(port_);
    ASSERT_TRUE(half.send("GET /ret HTTP/1.1\r\nHost: local"));
    HttpClient stalled(port_);
    ASSERT_TRUE(stalled.send(http_get("/stall.bin")));
    EXPECT_TRUE(settled(7, 1, 2, 4));

    // Everything closed, from every state: back to nothing but the probe.
    idle.clear();
    half.close();
    stalled.close();
    EXPECT_TRUE(settled(1, 0, 1, 0));

    // A keepalive connection whose next request is pipelined, and a lingering close,
    // leave nothing behind either.
    {
        HttpClient c(port_);
        ASSERT_TRUE(c.send(http_get("/ret") + http_get("/ret")));
        ASSERT_TRUE(c.read_response().has_value());
        ASSERT_TRUE(c.read_response().has_value());
        HttpClient refused(port_);
        ASSERT_TRUE(
            refused.send("POST /small/x.txt HTTP/1.1\r\nHost: localhost\r\n"
                         "Content-Length: 100\r\n\r\n"));
        const auto r = refused.read_response();
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->status, 413);
    }
    EXPECT_TRUE(settled(1, 0, 1, 0));
}

// Timed-out connections leave the gauges balanced.
TEST_F(RangesTest, GaugesBalancedAfterTimeouts) {
    {
        HttpClient header(reset_port_);
        ASSERT_TRUE(header.send("GET / HTTP/1.1\r\n"));
        HttpClient idle(reset_port_);
        ASSERT_TRUE(idle.send(http_get("/ret")));
        ASSERT_TRUE(idle.read_response().has_value());
        HttpClient stalled(reset_port_);
        ASSERT_TRUE(stalled.send(http_get("/stall.bin")));
        ASSERT_TRUE(header.wait_closed(5s));
        ASSERT_TRUE(idle.wait_closed(5s));
        ASSERT_TRUE(server_->wait_for_text("logs/error.log",
                                           "client timed out while sending response", 10s));
    }
    Gauges g;
    EXPECT_TRUE(wait_until(
        [&] {
            g = probe(*server_, port_);
            return g.active == 1 && g.reading == 0 && g.writing == 1 && g.waiting == 0;
        },
        5s))
        << "active " << g.active << " reading " << g.reading << " writing " << g.writing
        << " waiting " << g.waiting;
}

// A reload: the old worker closes idle connections at once, and the rest when
// worker_shutdown_timeout ends; the server-wide gauges the new worker reports hold
// nothing of the old one.
TEST_F(RangesTest, GaugesBalancedAcrossGracefulShutdown) {
    std::vector<HttpClient> clients;
    for (int i = 0; i < 2; ++i) {
        clients.emplace_back(port_);
        ASSERT_TRUE(clients.back().send(http_get("/ret")));
        ASSERT_TRUE(clients.back().read_response().has_value());
    }
    clients.emplace_back(port_);
    ASSERT_TRUE(clients.back().send("GET /ret HTTP/1.1\r\n"));
    HttpClient stalled(port_);
    ASSERT_TRUE(stalled.send(http_get("/stall.bin")));
    Gauges g;
    ASSERT_TRUE(wait_until(
        [&] {
            g = probe(*server_, port_);
            return g.active == 5 && g.reading == 1 && g.writing == 2 && g.waiting == 2;
        },
        5s))
        << "active " << g.active << " reading " << g.reading << " writing " << g.writing
        << " waiting " << g.waiting;

    ASSERT_TRUE(server_->signal(SIGHUP));
    // The stalled response (the client reads nothing) and the unfinished head end with
    // worker_shutdown_timeout (2 s), not send_timeout or client_header_timeout (60 s).
    EXPECT_TRUE(server_->wait_for_text("logs/error.log", "exited with code 0", 10s))
        << "the old worker kept its connections";
    EXPECT_TRUE(stalled.wait_closed(10s));
    for (HttpClient& c : clients) {
        EXPECT_TRUE(c.wait_closed(10s));
    }
    EXPECT_TRUE(wait_until(
        [&] {
            g = probe(*server_, port_);
            return g.active == 1 && g.reading == 0 && g.writing == 1 && g.waiting == 0;
        },
        5s))
        << "active " << g.active << " reading " << g.reading << " writing " << g.writing
        << " waiting " << g.waiting;
}

// A worker killed with connections open: the master takes its gauges out of the
// server's totals when it reaps it (nginx would count them forever).
TEST_F(RangesTest, GaugesForgetAKilledWorker) {
    const std::vector<pid_t> before = server_->wait_workers(1);
    ASSERT_EQ(before.size(), 1u);
    std::vector<HttpClient> clients;
    for (int i = 0; i < 3; ++i) {
        clients.emplace_back(port_);
        ASSERT_TRUE(clients.back().send(http_get("/ret")));
        ASSERT_TRUE(clients.back().read_response().has_value());
    }
    HttpClient stalled(port_);
    ASSERT_TRUE(stalled.send(http_get("/stall.bin")));
    Gauges g;
    ASSERT_TRUE(wait_until(
        [&] {
            g = probe(*server_, port_);
            return g.active == 5 && g.writing == 2 && g.waiting == 3;
        },
        5s));
    ASSERT_EQ(::kill(before.front(), SIGKILL), 0);
    const std::vector<pid_t> after = server_->wait_workers(
        1, 5s, [&](const std::vector<pid_t>& w) { return w.front() != before.front(); });
    ASSERT_EQ(after.size(), 1u);
    ASSERT_NE(after.front(), before.front());
    EXPECT_TRUE(wait_until(
        [&] {
            g = probe(*server_, port_);
            return g.active == 1 && g.reading == 0 && g.writing == 1 && g.waiting == 0;
        },
        5s))
        << "active " << g.active << " reading " << g.reading << " writing " << g.writing
        << " waiting " << g.waiting;
}

}  // namespace
}  // namespace evs::test
