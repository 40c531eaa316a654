// validate_host(): nginx's rules for the Host header and absolute-form hosts.

#include "http/host.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace evs::http {
namespace {

std::string name_of(std::string_view value) {
    const HostCheck c = validate_host(value);
    return c.valid ? std::string(c.name) : std::string("<invalid>");
}

TEST(HttpHost, StripsPortAndTrailingDot) {
    EXPECT_EQ(name_of("example.com"), "example.com");
    EXPECT_EQ(name_of("example.com:8080"), "example.com");
    EXPECT_EQ(name_of("example.com."), "example.com");
    EXPECT_EQ(name_of("example.com.:80"), "example.com");
    EXPECT_EQ(name_of("a:"), "a");
    EXPECT_EQ(name_of("a:not-a-port"), "a") << "nginx does not check the port";
    EXPECT_EQ(name_of("[::1]"), "[::1]");
    EXPECT_EQ(name_of("[::1]:443"), "[::1]");
    EXPECT_EQ(name_of(".leading"), ".leading");
    EXPECT_EQ(name_of("under_score"), "under_score");
}

TEST(HttpHost, FlagsUppercaseForLowercasing) {
    EXPECT_TRUE(validate_host("Example.com").has_uppercase);
    EXPECT_FALSE(validate_host("example.com:8080").has_uppercase);
    EXPECT_TRUE(validate_host("[FE80::1]").has_uppercase);
}

TEST(HttpHost, RefusesWhatNginxRefuses) {
    const std::vector<std::string> refused = {"",     ":80",   ".",      "..",
                                              "a..b", "a/b",   "/",      "a b",
                                              "a\tb", "a\x7f", "a:8..0", std::string("a\0b", 3),
                                              "a\r",  "a\\b/c"};
    for (const std::string& value : refused) {
        EXPECT_FALSE(validate_host(value).valid) << value;
    }
}

}  // namespace
}  // namespace evs::http
