// parse_ranges(): nginx's range filter rules for the value of "Range: bytes=...".

#include "http/range.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace evs::http {
namespace {

struct Parsed {
    RangeParse result;
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges;  // [start, end)
};

Parsed parse(std::string_view spec, std::int64_t size, std::uint64_t max_ranges = UINT64_MAX) {
    std::vector<ByteRange> room(range_count_bound(spec));
    std::size_t count = 0;
    Parsed p;
    p.result = parse_ranges(spec, size, max_ranges, room, &count);
    for (std::size_t i = 0; i < count; ++i) {
        p.ranges.emplace_back(room[i].start, room[i].end);
    }
    return p;
}

using Ranges = std::vector<std::pair<std::int64_t, std::int64_t>>;

TEST(HttpRange, SingleForms) {
    EXPECT_EQ(parse("0-99", 1000).ranges, (Ranges{{0, 100}}));
    EXPECT_EQ(parse("900-", 1000).ranges, (Ranges{{900, 1000}}));
    EXPECT_EQ(parse("-100", 1000).ranges, (Ranges{{900, 1000}}));
    EXPECT_EQ(parse("-5000", 1000).ranges, (Ranges{{0, 1000}}));
    EXPECT_EQ(parse("990-5000", 1000).ranges, (Ranges{{990, 1000}}));
    EXPECT_EQ(parse(" 1 - 2 ", 1000).ranges, (Ranges{{1, 3}}));
    EXPECT_EQ(parse("0-99", 1000).result, RangeParse::ok);
}

TEST(HttpRange, SeveralRangesKeepTheirOrder) {
    const Parsed p = parse("5-9,0-1,-3", 100);
    EXPECT_EQ(p.result, RangeParse::ok);
    EXPECT_EQ(p.ranges, (Ranges{{5, 10}, {0, 2}, {97, 100}}));
    // Ranges starting past the end are skipped, the others kept.
    const Parsed q = parse("0-1,500-600,3-", 10);
    EXPECT_EQ(q.result, RangeParse::ok);
    EXPECT_EQ(q.ranges, (Ranges{{0, 2}, {3, 10}}));
}

TEST(HttpRange, OverlapBeyondTheFileSizeDeclines) {
    // 6 + 6 > 10: nginx sends the whole file once instead.
    EXPECT_EQ(parse("0-5,0-5", 10).result, RangeParse::declined);
    // Overlapping but no more than the file: served as asked.
    EXPECT_EQ(parse("0-5,0-5", 100).result, RangeParse::ok);
    EXPECT_EQ(parse("0-5,0-5", 100).ranges, (Ranges{{0, 6}, {0, 6}}));
}

TEST(HttpRange, MaxRanges) {
    EXPECT_EQ(parse("0-1,3-4", 10, 2).result, RangeParse::ok);
    EXPECT_EQ(parse("0-1,3-4,6-7", 10, 2).result, RangeParse::declined);
    EXPECT_EQ(parse("0-1", 10, 1).result, RangeParse::ok);
    EXPECT_EQ(parse("0-1,3-4", 10, 1).result, RangeParse::declined);
}

TEST(HttpRange, Unsatisfiable) {
    for (const char* spec : {"1000-", "5000-6000", "-0", "5-3", "abc", "1-2x", "", "-", "1=2",
                             "99999999999999999999-", "0-1,,2-3"}) {
        EXPECT_EQ(parse(spec, 1000).result, RangeParse::unsatisfiable) << spec;
    }
    // Only the satisfiable part counts when some are.
    EXPECT_EQ(parse("2000-3000,0-0", 1000).ranges, (Ranges{{0, 1}}));
}

TEST(HttpRange, EmptyFileFromZeroDeclines) {
    EXPECT_EQ(parse("0-", 0).result, RangeParse::declined);
    EXPECT_EQ(parse("0-10", 0).result, RangeParse::declined);
    EXPECT_EQ(parse("1-10", 0).result, RangeParse::unsatisfiable);
}

TEST(HttpRange, BytesUnitIsCaseInsensitive) {
    EXPECT_TRUE(is_bytes_range("bytes=0-1"));
    EXPECT_TRUE(is_bytes_range("Bytes=0-1"));
    EXPECT_FALSE(is_bytes_range("bytes="));
    EXPECT_FALSE(is_bytes_range("pages=1-2"));
    EXPECT_FALSE(is_bytes_range("bytes 0-1"));
}

TEST(HttpRange, CountBoundIsCommasPlusOne) {
    EXPECT_EQ(range_count_bound("0-1"), 1u);
    EXPECT_EQ(range_count_bound("0-1,2-3,,"), 4u);
}

}  // namespace
}  // namespace evs::http
