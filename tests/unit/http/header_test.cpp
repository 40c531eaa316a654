// Header names nginx recognises, which of them may not repeat, and Connection tokens.

#include "http/header.hpp"

#include <gtest/gtest.h>

namespace evs::http {
namespace {

TEST(HttpHeader, ClassifiesKnownNamesInAnyCase) {
    EXPECT_EQ(classify_header("Host"), KnownHeader::host);
    EXPECT_EQ(classify_header("hOsT"), KnownHeader::host);
    EXPECT_EQ(classify_header("CONTENT-LENGTH"), KnownHeader::content_length);
    EXPECT_EQ(classify_header("if-unmodified-since"), KnownHeader::if_unmodified_since);
    EXPECT_EQ(classify_header("te"), KnownHeader::te);
    EXPECT_EQ(classify_header("X-Real-IP"), KnownHeader::x_real_ip);
    EXPECT_EQ(classify_header("Cookie"), KnownHeader::cookie);
    EXPECT_EQ(classify_header("Cookies"), KnownHeader::none);
    EXPECT_EQ(classify_header("Content_Length"), KnownHeader::none);
    EXPECT_EQ(classify_header(""), KnownHeader::none);
    EXPECT_EQ(classify_header("X"), KnownHeader::none);
}

TEST(HttpHeader, EveryKnownNameRoundTrips) {
    for (std::size_t i = 1; i < k_known_header_count; ++i) {
        const auto header = static_cast<KnownHeader>(i);
        const std::string_view name = known_header_name(header);
        ASSERT_FALSE(name.empty()) << i;
        EXPECT_EQ(classify_header(name), header) << name;
    }
    EXPECT_EQ(known_header_name(KnownHeader::none), "");
}

TEST(HttpHeader, UniqueHeadersAreNginxs) {
    for (KnownHeader h :
         {KnownHeader::host, KnownHeader::if_modified_since, KnownHeader::if_unmodified_since,
          KnownHeader::if_match, KnownHeader::if_none_match, KnownHeader::content_length,
          KnownHeader::content_range, KnownHeader::if_range, KnownHeader::transfer_encoding,
          KnownHeader::expect, KnownHeader::authorization}) {
        EXPECT_TRUE(is_unique_header(h)) << known_header_name(h);
    }
    for (KnownHeader h :
         {KnownHeader::none, KnownHeader::cookie, KnownHeader::connection, KnownHeader::range,
          KnownHeader::user_agent, KnownHeader::via, KnownHeader::x_forwarded_for}) {
        EXPECT_FALSE(is_unique_header(h)) << known_header_name(h);
    }
}

TEST(HttpHeader, ConnectionTokens) {
    EXPECT_EQ(parse_connection_option("close"), ConnectionOption::close);
    EXPECT_EQ(parse_connection_option("Keep-Alive"), ConnectionOption::keep_alive);
    EXPECT_EQ(parse_connection_option("keep-alive, Upgrade"), ConnectionOption::keep_alive);
    EXPECT_EQ(parse_connection_option("keep-alive ,\tCLOSE "), ConnectionOption::close);
    EXPECT_EQ(parse_connection_option("Upgrade"), ConnectionOption::none);
    EXPECT_EQ(parse_connection_option(""), ConnectionOption::none);
    EXPECT_EQ(parse_connection_option(",,"), ConnectionOption::none);
    EXPECT_EQ(parse_connection_option("closed"), ConnectionOption::none);
}

TEST(HttpHeader, EqualsIgnoreCase) {
    EXPECT_TRUE(equals_ignore_case("chunked", "CHUNKED"));
    EXPECT_FALSE(equals_ignore_case("chunked", "chunke"));
    EXPECT_FALSE(equals_ignore_case("a", "\xc1"));
}

}  // namespace
}  // namespace evs::http
