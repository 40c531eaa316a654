#include "core/conf_values.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

namespace evs::core::conf {
namespace {

TEST(ConfValues, NumbersAreDigitsOnly) {
    EXPECT_EQ(parse_number("0"), 0u);
    EXPECT_EQ(parse_number("1024"), 1024u);
    EXPECT_EQ(parse_number("9223372036854775807"), 9223372036854775807u);
    EXPECT_EQ(parse_number("9223372036854775808"), std::nullopt);
    EXPECT_EQ(parse_number("99999999999999999999999"), std::nullopt);
    EXPECT_EQ(parse_number(""), std::nullopt);
    EXPECT_EQ(parse_number("-1"), std::nullopt);
    EXPECT_EQ(parse_number("+1"), std::nullopt);
    EXPECT_EQ(parse_number("1 "), std::nullopt);
    EXPECT_EQ(parse_number("12a"), std::nullopt);
}

TEST(ConfValues, SizesTakeKMG) {
    EXPECT_EQ(parse_size("1024"), 1024u);
    EXPECT_EQ(parse_size("8k"), 8u * 1024);
    EXPECT_EQ(parse_size("8K"), 8u * 1024);
    EXPECT_EQ(parse_size("1m"), 1024u * 1024);
    EXPECT_EQ(parse_size("1M"), 1024u * 1024);
    EXPECT_EQ(parse_size("1g"), 1024u * 1024 * 1024);
    EXPECT_EQ(parse_size("2G"), 2ull * 1024 * 1024 * 1024);
    EXPECT_EQ(parse_size("0"), 0u);
    EXPECT_EQ(parse_size(""), std::nullopt);
    EXPECT_EQ(parse_size("k"), std::nullopt);
    EXPECT_EQ(parse_size("1kb"), std::nullopt);
    EXPECT_EQ(parse_size("1t"), std::nullopt);
    EXPECT_EQ(parse_size("-1k"), std::nullopt);
    EXPECT_EQ(parse_size("1.5m"), std::nullopt);
    EXPECT_EQ(parse_size("1 k"), std::nullopt);
}

TEST(ConfValues, SizesRefuseOverflow) {
    // The largest size is the largest ssize_t, with or without a unit.
    EXPECT_EQ(parse_size("9223372036854775807"), 9223372036854775807u);
    EXPECT_EQ(parse_size("9223372036854775808"), std::nullopt);
    EXPECT_EQ(parse_size("9007199254740991k"), 9007199254740991ull * 1024);
    EXPECT_EQ(parse_size("9007199254740992k"), std::nullopt);
    EXPECT_EQ(parse_size("8796093022207m"), 8796093022207ull * 1024 * 1024);
    EXPECT_EQ(parse_size("8796093022208m"), std::nullopt);
    EXPECT_EQ(parse_size("8589934591g"), 8589934591ull * 1024 * 1024 * 1024);
    EXPECT_EQ(parse_size("8589934592g"), std::nullopt);
}

TEST(ConfValues, OffsetsAreSizesInASignedType) {
    EXPECT_EQ(parse_offset("10g"), std::int64_t{10} * 1024 * 1024 * 1024);
    EXPECT_EQ(parse_offset("512"), 512);
    EXPECT_EQ(parse_offset("8589934592g"), std::nullopt);
    EXPECT_EQ(parse_offset("x"), std::nullopt);
}

TEST(ConfValues, MillisecondTimes) {
    EXPECT_EQ(parse_msec("500ms"), 500u);
    EXPECT_EQ(parse_msec("30s"), 30000u);
    EXPECT_EQ(parse_msec("1m"), 60000u);
    EXPECT_EQ(parse_msec("1h"), 3600000u);
    EXPECT_EQ(parse_msec("1d"), 86400000u);
    EXPECT_EQ(parse_msec("1w"), 7u * 86400000u);
    EXPECT_EQ(parse_msec("0"), 0u);
    // A bare number is seconds even for a millisecond value, as in nginx.
    EXPECT_EQ(parse_msec("75"), 75000u);
    EXPECT_EQ(parse_msec("1h 30m"), 5400000u);
    EXPECT_EQ(parse_msec("1h30m"), 5400000u);
    EXPECT_EQ(parse_msec("1m 30"), 90000u);
    EXPECT_EQ(parse_msec("1s 500ms"), 1500u);
    EXPECT_EQ(parse_msec("1d 2h 3m 4s 5ms"), 86400000u + 7200000u + 180000u + 4000u + 5u);
    EXPECT_EQ(parse_msec("1h  30m"), 5400000u);
}

TEST(ConfValues, MillisecondTimesRefuseMonthsYearsAndDisorder) {
    EXPECT_EQ(parse_msec("1M"), std::nullopt);
    EXPECT_EQ(parse_msec("1y"), std::nullopt);
    EXPECT_EQ(parse_msec("30m 1h"), std::nullopt);
    EXPECT_EQ(parse_msec("1h 1h"), std::nullopt);
    EXPECT_EQ(parse_msec("30s 5"), std::nullopt);
    EXPECT_EQ(parse_msec("1 30"), std::nullopt);
    EXPECT_EQ(parse_msec("ms"), std::nullopt);
    EXPECT_EQ(parse_msec("h"), std::nullopt);
    EXPECT_EQ(parse_msec(""), std::nullopt);
    EXPECT_EQ(parse_msec(" "), std::nullopt);
    EXPECT_EQ(parse_msec("1x"), std::nullopt);
    EXPECT_EQ(parse_msec("-1s"), std::nullopt);
    EXPECT_EQ(parse_msec("1.5s"), std::nullopt);
    EXPECT_EQ(parse_msec("30 s"), std::nullopt);
}

TEST(ConfValues, MillisecondTimesRefuseOverflow) {
    EXPECT_EQ(parse_msec("9223372036854775807ms"), 9223372036854775807u);
    EXPECT_EQ(parse_msec("9223372036854775808ms"), std::nullopt);
    EXPECT_EQ(parse_msec("9223372036854775s"), 9223372036854775000u);
    EXPECT_EQ(parse_msec("9223372036854776s"), std::nullopt);
    EXPECT_EQ(parse_msec("9223372036854776"), std::nullopt);
    // Each part fits; their sum does not.
    EXPECT_EQ(parse_msec("9223372036854775s 808ms"), std::nullopt);
    EXPECT_EQ(parse_msec("9223372036854775s 807ms"), 9223372036854775807u);
}

TEST(ConfValues, SecondTimes) {
    EXPECT_EQ(parse_sec("30"), 30);
    EXPECT_EQ(parse_sec("30s"), 30);
    EXPECT_EQ(parse_sec("1m"), 60);
    EXPECT_EQ(parse_sec("1h 30m"), 5400);
    EXPECT_EQ(parse_sec("1d"), 86400);
    EXPECT_EQ(parse_sec("1w"), 604800);
    EXPECT_EQ(parse_sec("1M"), 2592000);
    EXPECT_EQ(parse_sec("1y"), 31536000);
    EXPECT_EQ(parse_sec("1y 6M"), 31536000 + 6 * 2592000);
    EXPECT_EQ(parse_sec("10y1M1w1d1h1m1s"),
              10 * 31536000 + 2592000 + 604800 + 86400 + 3600 + 60 + 1);
    EXPECT_EQ(parse_sec("500ms"), std::nullopt);
    EXPECT_EQ(parse_sec("1s 500ms"), std::nullopt);
    EXPECT_EQ(parse_sec("1M 1y"), std::nullopt);
}

TEST(ConfValues, SecondTimesUseTheWholeRange) {
    EXPECT_EQ(parse_sec("9223372036854775807"), 9223372036854775807);
    EXPECT_EQ(parse_sec("9223372036854775808"), std::nullopt);
    EXPECT_EQ(parse_sec("292471208677y"), std::int64_t{292471208677} * 31536000);
    EXPECT_EQ(parse_sec("292471208678y"), std::nullopt);
}

TEST(ConfValues, FlagsAreOnOrOffInAnyCase) {
    EXPECT_EQ(parse_flag("on"), true);
    EXPECT_EQ(parse_flag("off"), false);
    EXPECT_EQ(parse_flag("ON"), true);
    EXPECT_EQ(parse_flag("Off"), false);
    EXPECT_EQ(parse_flag("yes"), std::nullopt);
    EXPECT_EQ(parse_flag("1"), std::nullopt);
    EXPECT_EQ(parse_flag(""), std::nullopt);
    EXPECT_EQ(parse_flag("onn"), std::nullopt);
}

TEST(ConfValues, EqualsIgnoreCase) {
    EXPECT_TRUE(equals_ignore_case("EPoll", "epoll"));
    EXPECT_TRUE(equals_ignore_case("", ""));
    EXPECT_FALSE(equals_ignore_case("epoll", "epol"));
    EXPECT_FALSE(equals_ignore_case("a[", "A{"));  // only letters fold
}

}  // namespace
}  // namespace evs::core::conf
