#include "core/time_cache.hpp"

#include <gtest/gtest.h>

#include <string>

#include "unit/shape.hpp"

namespace evs::core {
namespace {

using test::matches_shape;

TEST(TimeCache, FormatsTheFourTimeStrings) {
    TimeCache& t = clock();
    t.update();
    // "Mon, 23 Nov 2026 17:02:00 GMT"
    EXPECT_TRUE(matches_shape(t.http_date(), "Aaa, 99 Aaa 9999 99:99:99 GMT")) << t.http_date();
    // "2026/11/23 17:02:00"
    EXPECT_TRUE(matches_shape(t.error_log_time(), "9999/99/99 99:99:99")) << t.error_log_time();
    // "23/Nov/2026:17:02:00 +0000"
    const std::string access(t.access_log_time());
    EXPECT_TRUE(matches_shape(access.substr(0, 21), "99/Aaa/9999:99:99:99 ")) << access;
    EXPECT_TRUE(access[21] == '+' || access[21] == '-') << access;
    EXPECT_TRUE(matches_shape(access.substr(22), "9999")) << access;
    // "2026-11-23T17:02:00+00:00"
    const std::string iso(t.iso8601());
    EXPECT_TRUE(matches_shape(iso.substr(0, 19), "9999-99-99T99:99:99")) << iso;
    EXPECT_TRUE(matches_shape(iso.substr(20), "99:99")) << iso;
}

TEST(TimeCache, MonotonicMillisecondsAdvanceAndTheOffsetShiftsThem) {
    TimeCache& t = clock();
    t.update();
    const Msec before = t.msec();
    t.set_msec_offset(1000000);
    EXPECT_GE(t.msec(), before + 1000000);
    t.set_msec_offset(0);
    t.update();
    EXPECT_GE(t.msec(), before);
    EXPECT_GT(t.wall_msec(), 1600000000000ull);  // after 2020
}

}  // namespace
}  // namespace evs::core
