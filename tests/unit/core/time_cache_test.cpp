#include "core/time_cache.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace evs::core {
namespace {

TEST(TimeCache, FormatsTheFourTimeStrings) {
    TimeCache& t = clock();
    t.update();
    EXPECT_TRUE(std::regex_match(
        std::string(t.http_date()),
        std::regex(
            R"((Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT)")))
        << t.http_date();
    EXPECT_TRUE(std::regex_match(std::string(t.error_log_time()),
                                 std::regex(R"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)")))
        << t.error_log_time();
    EXPECT_TRUE(
        std::regex_match(std::string(t.access_log_time()),
                         std::regex(R"(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})")))
        << t.access_log_time();
    EXPECT_TRUE(std::regex_match(std::string(t.iso8601()),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d)")))
        << t.iso8601();
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
