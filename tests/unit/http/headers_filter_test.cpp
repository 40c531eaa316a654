// The pieces of the header filters and of limit_rate that need no server: the next
// time of day for `expires @time`, and clamp_iov's cut of a gather list to a budget.

#include "http/headers_filter.hpp"

#include <sys/uio.h>

#include <ctime>

#include <gtest/gtest.h>

#include "http/limit_rate.hpp"

namespace evs::test {
namespace {

std::time_t local(int year, int mon, int day, int h, int m, int s) {
    tm t{};
    t.tm_year = year - 1900;
    t.tm_mon = mon - 1;
    t.tm_mday = day;
    t.tm_hour = h;
    t.tm_min = m;
    t.tm_sec = s;
    t.tm_isdst = -1;
    return std::mktime(&t);
}

TEST(ExpiresDailyTest, NextTimeOfDayIsTodayOrTomorrow) {
    const std::int64_t at = 15 * 3600 + 30 * 60;
    EXPECT_EQ(http::next_time_of_day(local(2026, 3, 10, 9, 0, 0), at),
              local(2026, 3, 10, 15, 30, 0));
    EXPECT_EQ(http::next_time_of_day(local(2026, 3, 10, 15, 30, 0), at),
              local(2026, 3, 11, 15, 30, 0));
    EXPECT_EQ(http::next_time_of_day(local(2026, 12, 31, 20, 0, 0), at),
              local(2027, 1, 1, 15, 30, 0));
}

TEST(ClampIovTest, CutsTheListAtTheBudget) {
    char a[10], b[20], c[30];
    iovec iov[3] = {{a, 10}, {b, 20}, {c, 30}};
    EXPECT_EQ(http::clamp_iov(iov, 3, 100), 3);
    EXPECT_EQ(iov[2].iov_len, 30u);
    EXPECT_EQ(http::clamp_iov(iov, 3, 25), 2);
    EXPECT_EQ(iov[0].iov_len, 10u);
    EXPECT_EQ(iov[1].iov_len, 15u);
    iovec again[2] = {{a, 10}, {b, 20}};
    EXPECT_EQ(http::clamp_iov(again, 2, 10), 1);
    EXPECT_EQ(again[0].iov_len, 10u);
}

}  // namespace
}  // namespace evs::test
