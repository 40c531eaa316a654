// limit_rate and limit_rate_after with the real binary: a 256 KiB file at 128k/s after
// 64k takes about 1.5 s (bounded generously: a behaviour check, not a benchmark) and
// arrives byte-exact, through writev, sendfile and the multipart ranges writer; a
// delay longer than send_timeout does not time the client out; limit_rate 0 is no
// limit; the connection stays usable for the next keepalive request.
//
// One server (one worker) runs for the suite; the tests only read from it.

#include <gtest/gtest.h>

#include <string>

#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

std::string pattern(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    }
    return out;
}

const std::string& big_file() {
    static const std::string content = pattern(256 * 1024);
    return content;
}

class HttpLimitRateTest : public SharedServerSuite<HttpLimitRateTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        TestServer& s = *server_;
        s.write("html/big.bin", big_file());
        s.write("html/small.bin", pattern(8 * 1024));
        const std::string http =
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        server_name localhost;\n"
            "        root html;\n"
            "        location /writev/ { alias html/; limit_rate 128k; limit_rate_after 64k; }\n"
            "        location /sendfile/ { alias html/; sendfile on; limit_rate 128k; "
            "limit_rate_after 64k; }\n"
            "        location /patient/ { alias html/; limit_rate 20k; send_timeout 50ms; }\n"
            "        location /free/ { alias html/; limit_rate 0; sendfile on; }\n"
            "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        ASSERT_TRUE(s.start());
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/small.bin") == 200; }, 5s));
    }

    // GETs `path` and returns the response and the seconds it took.
    static std::optional<HttpResponse> timed_get(std::string_view path, double* seconds,
                                                 std::string_view extra = "",
                                                 HttpClient* client = nullptr) {
        std::optional<HttpClient> own;
        if (client == nullptr) {
            own.emplace(port_);
            client = &*own;
        }
        const auto start = Clock::now();
        std::optional<HttpResponse> r;
        if (client->send(http_get(path, "localhost", extra))) {
            r = client->read_response(false, 10s);
        }
        *seconds = seconds_since(start);
        EXPECT_TRUE(r.has_value()) << path << ": " << client->error();
        return r;
    }
};

TEST_F(HttpLimitRateTest, WritevIsPacedAfterTheFreeBytes) {
    double seconds = 0;
    const auto r = timed_get("/writev/big.bin", &seconds);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->body == big_file()) << "body differs";
    // 192 KiB after the first 64 KiB at 128 KiB/s: about 1.5 s.
    EXPECT_GE(seconds, 1.4);
    EXPECT_LT(seconds, 5.0);
}

TEST_F(HttpLimitRateTest, SendfileIsPacedToo) {
    double seconds = 0;
    const auto r = timed_get("/sendfile/big.bin", &seconds);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->body == big_file()) << "body differs";
    EXPECT_GE(seconds, 1.4);
    EXPECT_LT(seconds, 5.0);
}

TEST_F(HttpLimitRateTest, MultipartRangesArePaced) {
    double seconds = 0;
    // 128 KiB + 100 bytes of ranges: about 64 KiB beyond limit_rate_after, 0.5 s.
    const auto r = timed_get("/sendfile/big.bin", &seconds, "Range: bytes=0-99,131072-262143\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 206);
    EXPECT_NE(r->body.find(big_file().substr(0, 100)), std::string::npos);
    EXPECT_NE(r->body.find(big_file().substr(131072)), std::string::npos);
    EXPECT_GE(seconds, 0.4);
    EXPECT_LT(seconds, 5.0);
    const auto w = timed_get("/writev/big.bin", &seconds, "Range: bytes=0-99,131072-262143\r\n");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->status, 206);
    EXPECT_NE(w->body.find(big_file().substr(131072)), std::string::npos);
    EXPECT_GE(seconds, 0.4);
}

TEST_F(HttpLimitRateTest, DelaysLongerThanSendTimeoutDoNotTimeOut) {
    // 8 KiB at 20k/s in chunks a tenth of a second apart, with send_timeout 50ms.
    HttpClient client(port_);
    double seconds = 0;
    const auto r = timed_get("/patient/small.bin", &seconds, "", &client);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, pattern(8 * 1024));
    EXPECT_GE(seconds, 0.25);
    EXPECT_EQ(server_->error_log().find("client timed out"), std::string::npos);
    // The connection is still good for the next request.
    const auto again = timed_get("/patient/small.bin", &seconds, "", &client);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, pattern(8 * 1024));
}

TEST_F(HttpLimitRateTest, ZeroIsNoLimit) {
    double seconds = 0;
    const auto r = timed_get("/free/big.bin", &seconds);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->body == big_file()) << "body differs";
}

}  // namespace
}  // namespace evs::test
