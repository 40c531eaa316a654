// ChunkedParser: a corpus of chunked bodies (valid ones with their decoded data and where the
// body ends, invalid ones with their status), each fed whole, byte by byte and split at
// every position; the decoded data and the outcome must not change.

#include "http/chunked_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace evs::http {
namespace {

using core::Status;

struct Outcome {
    Status status = Status::again;
    std::string data;
    std::size_t end = 0;  // absolute offset where parsing stopped (done: just past the body)
    int http_status = 0;
    std::int64_t body_size = 0;

    bool operator==(const Outcome&) const = default;
};

// Feeds `stream` in reads ending at `cuts`; each read sees everything received so far, as
// the connection's buffer does.
Outcome decode(std::string_view stream, const std::vector<std::size_t>& cuts,
               std::int64_t max_body_size = 0) {
    ChunkedParser parser(max_body_size);
    Outcome out;
    std::size_t pos = 0;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(stream.size());
    for (std::size_t end : ends) {
        const std::string_view received = stream.substr(0, end);
        for (;;) {
            std::string_view data;
            const Status s = parser.parse(received, pos, data);
            if (s == Status::ok) {
                EXPECT_FALSE(data.empty());
                EXPECT_EQ(data.data(), received.data() + pos - data.size()) << "a view, no copy";
                out.data += data;
                continue;
            }
            out.status = s;
            break;
        }
        if (out.status != Status::again) {
            break;
        }
        EXPECT_EQ(pos, received.size());
    }
    out.end = pos;
    out.http_status = parser.status();
    out.body_size = parser.body_size();
    return out;
}

struct Case {
    const char* name;
    std::string body;
    Status status;
    std::string data = "";
    int http_status = 0;
    std::size_t end = std::string::npos;  // npos: the whole input
    std::int64_t max_body_size = 0;
};

std::vector<Case> corpus() {
    using namespace std::string_literals;
    return {
        {"one_chunk", "5\r\nhello\r\n0\r\n\r\n", Status::done, "hello"},
        {"two_chunks_hex", "3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n", Status::done,
         "abc0123456789"},
        {"upper_and_lower_hex", "a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n", Status::done,
         "0123456789abcdefghijk"},
        {"leading_zeros", "0005\r\nhello\r\n000\r\n\r\n", Status::done, "hello"},
        {"extensions", "5;name=value;x\r\nhello\r\n0;last=\"1\"\r\n\r\n", Status::done, "hello"},
        {"space_before_extension", "5 ;x\r\nhello\r\n0\t\r\n\r\n", Status::done, "hello"},
        {"trailers", "2\r\nhi\r\n0\r\nX-Trailer: 1\r\nOther: 2\r\n\r\n", Status::done, "hi"},
        {"empty_body", "0\r\n\r\n", Status::done, ""},
        {"binary_data", "4\r\n\r\n\0\n\r\n0\r\n\r\n"s, Status::done, "\r\n\0\n"s},
        {"next_request_follows", "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n", Status::done, "x", 0, 11},
        {"within_limit", "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", Status::done, "helloworld", 0,
         std::string::npos, 10},
        {"incomplete_size", "5", Status::again},
        {"incomplete_data", "5\r\nhel", Status::again, "hel"},
        {"incomplete_trailer", "0\r\nX: 1\r\n", Status::again},
        {"no_digits", "\r\nhello\r\n", Status::error, "", 400},
        {"not_hex", "g\r\n", Status::error, "", 400},
        {"prefix_0x", "0x5\r\nhello\r\n0\r\n\r\n", Status::error, "", 400},
        {"negative", "-5\r\n", Status::error, "", 400},
        {"bare_lf_after_size", "5\nhello\r\n0\r\n\r\n", Status::error, "", 400},
        {"bare_lf_after_last", "0\n\r\n", Status::error, "", 400},
        {"bare_lf_after_data", "5\r\nhello\n0\r\n\r\n", Status::error, "hello", 400},
        {"data_too_long", "5\r\nhelloX\r\n0\r\n\r\n", Status::error, "hello", 400},
        {"lf_in_extension", "5;a\nb\r\nhello\r\n", Status::error, "", 400},
        {"bare_lf_in_trailer", "0\r\nX: 1\n\r\n", Status::error, "", 400},
        {"bare_lf_ends_trailers", "0\r\n\n", Status::error, "", 400},
        {"size_overflow", "80000000000000000\r\n", Status::error, "", 400},
        // As nginx, a size above INT64_MAX / 16 is refused even when no digit follows.
        {"size_just_too_large", "800000000000000\r\n", Status::error, "", 400},
        {"largest_size", "7ffffffffffffff\r\nab", Status::again, "ab"},
        {"too_large", "5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", Status::error, "hello", 413,
         std::string::npos, 10},
    };
}

TEST(ChunkedParser, CorpusOutcomes) {
    for (const Case& c : corpus()) {
        SCOPED_TRACE(c.name);
        const Outcome out = decode(c.body, {}, c.max_body_size);
        EXPECT_EQ(out.status, c.status);
        EXPECT_EQ(out.data, c.data);
        EXPECT_EQ(out.http_status, c.http_status);
        if (c.status == Status::done) {
            EXPECT_EQ(out.end, c.end == std::string::npos ? c.body.size() : c.end);
            EXPECT_EQ(out.body_size, static_cast<std::int64_t>(c.data.size()));
        }
    }
}

TEST(ChunkedParser, EverySplitGivesTheSameResult) {
    for (const Case& c : corpus()) {
        SCOPED_TRACE(c.name);
        const Outcome whole = decode(c.body, {}, c.max_body_size);
        std::vector<std::size_t> every;
        for (std::size_t i = 1; i < c.body.size(); ++i) {
            every.push_back(i);
        }
        EXPECT_EQ(decode(c.body, every, c.max_body_size), whole) << "byte by byte";
        for (std::size_t cut = 0; cut <= c.body.size(); ++cut) {
            ASSERT_EQ(decode(c.body, {cut}, c.max_body_size), whole) << "cut at " << cut;
        }
    }
}

TEST(ChunkedParser, LargestChunkSizeIsAccepted) {
    const std::string body = "7ffffffffffffff\r\n";
    ChunkedParser parser;
    std::size_t pos = 0;
    std::string_view data;
    ASSERT_EQ(parser.parse(body, pos, data), Status::again);
    EXPECT_EQ(parser.body_size(), INT64_C(0x7ffffffffffffff));
}

TEST(ChunkedParser, TooLargeIsDecidedAtTheSizeLine) {
    // nginx refuses as soon as the size line announces too much, before any of its data.
    ChunkedParser parser(4);
    const std::string body = "5\r\n";
    std::size_t pos = 0;
    std::string_view data;
    EXPECT_EQ(parser.parse(body, pos, data), Status::error);
    EXPECT_EQ(parser.status(), 413);
    EXPECT_EQ(parser.parse(body, pos, data), Status::error) << "stays failed";
}

TEST(ChunkedParser, DoneStaysDoneAndResetStartsOver) {
    ChunkedParser parser;
    const std::string body = "0\r\n\r\n";
    std::size_t pos = 0;
    std::string_view data;
    EXPECT_EQ(parser.parse(body, pos, data), Status::done);
    EXPECT_TRUE(parser.done());
    EXPECT_EQ(parser.parse(body, pos, data), Status::done);
    parser.reset();
    pos = 0;
    EXPECT_EQ(parser.parse("1\r\nz\r\n0\r\n\r\n", pos, data), Status::ok);
    EXPECT_EQ(data, "z");
}

}  // namespace
}  // namespace evs::http
