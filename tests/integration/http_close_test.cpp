// How evserve starts and ends connections, seen from a raw socket: a `deferred`
// listener (TCP_DEFER_ACCEPT) is read at once after accept, still waits for a request
// that comes late, and still times out a client that never sends one; a response
// after which the connection closes carries the FIN in its last packet (the close
// path of issue #4's `Connection: close` benchmark), whichever way its body is sent.
//
// One server (one worker, multi_accept on) for the whole suite, with a deferred and a
// plain listener over the same site. See server_fixture.hpp.

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "integration/server_fixture.hpp"
#include "integration/tcp_info.hpp"

namespace evs::test {
namespace {

constexpr char k_a_txt[] = "hello, world\n";

class HttpCloseTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        deferred_port_ = free_port();
        plain_port_ = free_port();
        TestServer& s = *server_;
        auto server_block = [](std::uint16_t port, std::string_view options) {
            return "    server {\n"
                   "        listen 127.0.0.1:" +
                   std::to_string(port) + std::string(options) +
                   ";\n"
                   "        server_name localhost;\n"
                   "        root html;\n"
                   "        client_header_timeout 1s;\n"
                   "        location = /ret {\n"
                   "            return 200 \"returned text\\n\";\n"
                   "        }\n"
                   "        location /nosendfile/ {\n"
                   "            root nsf;\n"
                   "            sendfile off;\n"
                   "        }\n"
                   "        location /cached/ {\n"
                   "            open_file_cache max=10;\n"
                   "        }\n"
                   "    }\n";
        };
        const std::string http =
            "    default_type application/octet-stream;\n"
            "    sendfile on;\n"
            "    tcp_nopush on;\n" +
            server_block(deferred_port_, " deferred") + server_block(plain_port_, "");
        const bool ok =
            s.configure(TestServer::config(http, 1, "worker_connections 256; multi_accept on;")) &&
            s.write("html/a.txt", k_a_txt) && s.write("html/cached/a.txt", k_a_txt) &&
            s.write("nsf/nosendfile/a.txt", k_a_txt);
        ASSERT_TRUE(ok) << "cannot build the site";
        ASSERT_TRUE(s.start());
    }

    static void TearDownTestSuite() {
        if (server_ != nullptr && server_->master() > 0) {
            server_->signal(SIGTERM);
            server_->wait_exit(5s);
        }
        delete server_;
        server_ = nullptr;
    }

    void TearDown() override {
        if (server_ == nullptr) {
            return;
        }
        server_->expect_no_sanitizer_reports();
        if (HasFailure()) {
            server_->dump_file("logs/error.log");
        }
    }

    static inline TestServer* server_ = nullptr;
    static inline std::uint16_t deferred_port_ = 0;
    static inline std::uint16_t plain_port_ = 0;
};

TEST_F(HttpCloseTest, DeferredListenerServesKeepaliveRequests) {
    HttpClient c(deferred_port_);
    ASSERT_TRUE(c.ok()) << c.error();
    for (int i = 1; i <= 3; ++i) {
        ASSERT_TRUE(c.send(http_get("/a.txt"))) << "request " << i << ": " << c.error();
        const auto r = c.read_response();
        ASSERT_TRUE(r.has_value()) << "request " << i << ": " << c.error();
        EXPECT_EQ(r->status, 200) << "request " << i;
        EXPECT_EQ(r->body, k_a_txt) << "request " << i;
        EXPECT_EQ(r->header_or("Connection"), "keep-alive") << "request " << i;
    }
}

TEST_F(HttpCloseTest, DeferredListenerWaitsForALateRequest) {
    // The kernel hands the connection over when its first bytes arrive, however late.
    HttpClient c(deferred_port_);
    ASSERT_TRUE(c.ok()) << c.error();
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(c.send(http_get("/a.txt"))) << c.error();
    const auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, k_a_txt);
}

TEST_F(HttpCloseTest, DeferredListenerClosesASilentConnection) {
    // TCP_DEFER_ACCEPT gives up waiting after about a second and hands over a
    // connection with nothing to read: the worker's first recv() finds nothing, and
    // from then on client_header_timeout (1s) applies, as on a plain listener. The
    // timer is armed only then (nginx's deferred path): without it the connection
    // would stay open for good.
    HttpClient c(deferred_port_);
    ASSERT_TRUE(c.ok()) << c.error();
    const auto start = Clock::now();
    std::string extra;
    EXPECT_TRUE(c.wait_closed(15s, &extra)) << "a silent client still connected after 15 s";
    EXPECT_GE(seconds_since(start), 0.9) << "closed before client_header_timeout";
    EXPECT_EQ(extra, "");
    // The worker goes on serving.
    EXPECT_EQ(status_of(deferred_port_, "/a.txt"), 200);
}

TEST_F(HttpCloseTest, PlainListenerClosesASilentConnection) {
    HttpClient c(plain_port_);
    ASSERT_TRUE(c.ok()) << c.error();
    const auto start = Clock::now();
    EXPECT_TRUE(c.wait_closed(10s)) << "a silent client still connected after 10 s";
    const double waited = seconds_since(start);
    EXPECT_GE(waited, 0.7);
    EXPECT_LE(waited, 5.0);
}

// Connection: close on both listeners and every way a small body leaves: the whole
// response arrives, then the end of the stream; and the FIN came in the packet that
// carried the last bytes. On loopback the client receives the SYN-ACK, the ACK of
// its request (the kernel's quick ACK at the start of a connection) and the
// response: two segments without data, three if the FIN came on its own.
TEST_F(HttpCloseTest, ConnectionCloseSendsTheFinWithTheLastBytes) {
    struct Case {
        const char* path;
        int status;
        const char* body;  // nullptr: not checked (an error page)
    };
    const Case cases[] = {
        {"/ret", 200, "returned text\n"},     // a memory body (return)
        {"/nosendfile/a.txt", 200, k_a_txt},  // read from the file, sent with the head
        {"/cached/a.txt", 200, k_a_txt},      // the open file cache holds the bytes
        {"/missing", 404, nullptr},           // an error page
    };
    for (const std::uint16_t port : {deferred_port_, plain_port_}) {
        for (const Case& k : cases) {
            const std::string what =
                std::string(k.path) + (port == deferred_port_ ? " (deferred)" : " (plain)");
            HttpClient c(port);
            ASSERT_TRUE(c.ok()) << what << ": " << c.error();
            ASSERT_TRUE(c.send(http_get(k.path, "localhost", "Connection: close\r\n")))
                << what << ": " << c.error();
            const auto r = c.read_response();
            ASSERT_TRUE(r.has_value()) << what << ": " << c.error();
            EXPECT_EQ(r->status, k.status) << what;
            if (k.body != nullptr) {
                EXPECT_EQ(r->body, k.body) << what;
            }
            EXPECT_EQ(r->header_or("Connection"), "close") << what;
            EXPECT_TRUE(c.wait_closed(2s)) << what << ": still open 2 s after the response";

            TcpInfo info{};
            socklen_t len = sizeof(info);
            ASSERT_EQ(::getsockopt(c.fd(), IPPROTO_TCP, TCP_INFO, &info, &len), 0) << what;
            if (len < offsetof(TcpInfo, data_segs_in) + sizeof(info.data_segs_in)) {
                GTEST_SKIP() << "this kernel's TCP_INFO has no segment counts";
            }
            EXPECT_LE(info.segs_in - info.data_segs_in, 2u)
                << what << ": " << info.segs_in << " segments in, " << info.data_segs_in
                << " with data: the FIN came in a packet of its own";
        }
    }
}

// A response that leaves a request body unread ends with lingering close: shutdown()
// instead of close() sends the held last bytes and the FIN, at once.
TEST_F(HttpCloseTest, LingeringCloseDeliversTheResponseAtOnce) {
    HttpClient c(deferred_port_);
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_TRUE(
        c.send("POST /ret HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
               "Content-Length: 100000\r\n\r\npart of the body"))
        << c.error();
    const auto start = Clock::now();
    const auto r = c.read_response(false, 2s);
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "returned text\n");
    EXPECT_LT(seconds_since(start), 1.0) << "the response waited for the connection to end";
    EXPECT_TRUE(c.wait_closed(10s)) << "lingering close did not end";
}

// A request refused before it was all read (a URI longer than the header buffers)
// leaves bytes unread: closing then would reset the connection, so the response ends
// with lingering close, and the client reads it and then the end of the stream, not
// a reset (nginx's heuristic lingering close).
TEST_F(HttpCloseTest, RefusedRequestEndsWithFinNotReset) {
    HttpClient c(deferred_port_);
    ASSERT_TRUE(c.ok()) << c.error();
    const std::string uri = "/" + std::string(64 * 1024, 'u');
    ASSERT_TRUE(c.send(http_get(uri))) << c.error();
    const auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 414);
    EXPECT_EQ(r->header_or("Connection"), "close");
    EXPECT_TRUE(c.wait_closed(10s)) << "still open 10 s after the response";
    EXPECT_EQ(c.error(), "connection closed by the server");
}

}  // namespace
}  // namespace evs::test
