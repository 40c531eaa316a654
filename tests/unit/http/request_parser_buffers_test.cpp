// RequestParser driven the way the connection layer drives it: a client_header_buffer_size
// buffer first, then up to `num` large_client_header_buffers of `size` bytes, the
// unfinished line moved and the parser rebased at each switch. Checks nginx's limits:
// 414 for a request line longer than a large buffer, 494 ("400 Request Header Or Cookie Too
// Large") for such a header line or when the large buffers run out, and that header views
// left in earlier buffers stay intact. Every case runs with several read sizes, which must
// not change the outcome.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "http/request_parser.hpp"
#include "unit/http/parser_harness.hpp"

namespace evs::http {
namespace {

using core::Status;

struct Limits {
    std::size_t client_header_buffer_size = 1024;
    std::size_t large_size = 8192;
    std::size_t large_num = 4;
};

class ConnectionSim {
public:
    explicit ConnectionSim(Limits limits) : limits_(limits), storage_(200) {}

    Status run(std::string_view stream, std::size_t read_size) {
        parser_ = std::make_unique<RequestParser>(storage_, arena_.allocator());
        char* buf = new_buffer(limits_.client_header_buffer_size);
        std::size_t cap = limits_.client_header_buffer_size;
        std::size_t len = 0;
        std::size_t fed = 0;
        for (;;) {
            if (len == cap) {
                const std::size_t keep = parser_->element_start();
                if (!parser_->between_lines() && len - keep >= limits_.large_size) {
                    return parser_->fail_overflow();
                }
                if (large_used_ == limits_.large_num) {
                    return parser_->fail_overflow();
                }
                char* large = new_buffer(limits_.large_size);
                std::memcpy(large, buf + keep, len - keep);
                parser_->rebase(keep);
                len -= keep;
                buf = large;
                cap = limits_.large_size;
                ++large_used_;
            }
            const std::size_t n = std::min({read_size, cap - len, stream.size() - fed});
            if (n == 0) {
                return Status::again;
            }
            std::memcpy(buf + len, stream.data() + fed, n);
            len += n;
            fed += n;
            const Status s = parser_->parse(buf, len);
            if (s != Status::again) {
                return s;
            }
        }
    }

    const RequestParser& parser() const { return *parser_; }
    std::size_t large_used() const { return large_used_; }

private:
    char* new_buffer(std::size_t size) {
        buffers_.push_back(std::make_unique<char[]>(size));
        // Poison the fresh buffer: a view that points at bytes never copied shows up.
        std::memset(buffers_.back().get(), '#', size);
        return buffers_.back().get();
    }

    Limits limits_;
    std::vector<Header> storage_;
    test::TestArena arena_;
    std::unique_ptr<RequestParser> parser_;
    std::vector<std::unique_ptr<char[]>> buffers_;
    std::size_t large_used_ = 0;
};

const std::size_t k_read_sizes[] = {1, 7, 1000, 1 << 20};

// A request line of exactly `length` bytes, CRLF included.
std::string request_line_of(std::size_t length) {
    const std::string head = "GET /";
    const std::string tail = " HTTP/1.1\r\n";
    return head + std::string(length - head.size() - tail.size(), 'a') + tail;
}

TEST(HttpRequestParserBuffers, ShortRequestStaysInTheSmallBuffer) {
    const std::string req = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    for (std::size_t read : k_read_sizes) {
        ConnectionSim sim({});
        ASSERT_EQ(sim.run(req, read), Status::ok);
        EXPECT_EQ(sim.large_used(), 0u);
        EXPECT_EQ(sim.parser().head().path, "/x");
    }
}

TEST(HttpRequestParserBuffers, LongRequestLineMovesToALargeBuffer) {
    const std::string line = request_line_of(5000);
    const std::string req = line + "Host: h\r\n\r\n";
    for (std::size_t read : k_read_sizes) {
        SCOPED_TRACE(read);
        ConnectionSim sim({});
        ASSERT_EQ(sim.run(req, read), Status::ok);
        EXPECT_EQ(sim.large_used(), 1u);
        EXPECT_EQ(sim.parser().head().path, line.substr(4, 5000 - 4 - 11));
        EXPECT_EQ(sim.parser().head().request_line, line.substr(0, line.size() - 2));
        EXPECT_EQ(sim.parser().head().host, "h");
    }
}

TEST(HttpRequestParserBuffers, RequestLineAsLongAsALargeBufferIsTheLimit) {
    for (std::size_t read : k_read_sizes) {
        SCOPED_TRACE(read);
        {
            ConnectionSim sim({});
            EXPECT_EQ(sim.run(request_line_of(8192) + "Host: h\r\n\r\n", read), Status::ok);
        }
        {
            ConnectionSim sim({});
            EXPECT_EQ(sim.run(request_line_of(8193) + "Host: h\r\n\r\n", read), Status::error);
            EXPECT_EQ(sim.parser().error(), ParseError::uri_too_long);
            EXPECT_EQ(sim.parser().status(), 414);
        }
    }
}

TEST(HttpRequestParserBuffers, HeaderLineLongerThanALargeBufferIs494) {
    const std::string req =
        "GET / HTTP/1.1\r\nHost: h\r\nCookie: " + std::string(9000, 'c') + "\r\n\r\n";
    for (std::size_t read : k_read_sizes) {
        SCOPED_TRACE(read);
        ConnectionSim sim({});
        EXPECT_EQ(sim.run(req, read), Status::error);
        EXPECT_EQ(sim.parser().error(), ParseError::header_too_large);
        EXPECT_EQ(sim.parser().status(), k_status_request_header_too_large);
    }
}

std::string request_with_headers(int count, std::size_t value_size) {
    std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < count; ++i) {
        req += "X-" + std::to_string(i) + ": " +
               std::string(value_size, static_cast<char>('a' + i % 26)) + "\r\n";
    }
    return req + "\r\n";
}

TEST(HttpRequestParserBuffers, HeadersSpreadOverLargeBuffersStayIntact) {
    const std::string req = request_with_headers(6, 4000);
    for (std::size_t read : k_read_sizes) {
        SCOPED_TRACE(read);
        ConnectionSim sim({});
        ASSERT_EQ(sim.run(req, read), Status::ok);
        EXPECT_GE(sim.large_used(), 3u);
        const RequestHead& h = sim.parser().head();
        ASSERT_EQ(h.headers.size(), 7u);
        EXPECT_EQ(h.headers[0].value, "h");
        for (int i = 0; i < 6; ++i) {
            EXPECT_EQ(h.headers[i + 1].name, "X-" + std::to_string(i));
            EXPECT_EQ(h.headers[i + 1].value, std::string(4000, static_cast<char>('a' + i)));
        }
    }
}

TEST(HttpRequestParserBuffers, RunningOutOfLargeBuffersIs494) {
    const std::string req = request_with_headers(10, 4000);
    for (std::size_t read : k_read_sizes) {
        SCOPED_TRACE(read);
        ConnectionSim sim({});
        EXPECT_EQ(sim.run(req, read), Status::error);
        EXPECT_EQ(sim.parser().error(), ParseError::header_too_large);
        EXPECT_EQ(sim.large_used(), 4u);
    }
}

TEST(HttpRequestParserBuffers, LineEndingExactlyAtTheBufferEndNeedsNoCopy) {
    // The small buffer ends right after a complete header line: the next buffer starts
    // empty, and the earlier lines keep pointing into the small one.
    std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
    const std::size_t room = 64 - req.size();
    req += "X: " + std::string(room - 5, 'v') + "\r\n";
    ASSERT_EQ(req.size(), 64u);
    req += "Y: z\r\n\r\n";
    ConnectionSim sim({64, 128, 1});
    ASSERT_EQ(sim.run(req, 1 << 20), Status::ok);
    EXPECT_EQ(sim.large_used(), 1u);
    EXPECT_EQ(sim.parser().head().headers[1].value, std::string(room - 5, 'v'));
    EXPECT_EQ(sim.parser().head().headers[2].value, "z");
}

TEST(HttpRequestParserBuffers, EmptyLineFloodBeforeTheRequestIsRefused) {
    const std::string req = std::string(40000, '\n') + "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    ConnectionSim sim({});
    EXPECT_EQ(sim.run(req, 4096), Status::error);
    EXPECT_EQ(sim.parser().status(), 414);
}

}  // namespace
}  // namespace evs::http
