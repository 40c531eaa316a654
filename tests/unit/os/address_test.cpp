#include "os/address.hpp"

#include <gtest/gtest.h>

namespace evs::os {
namespace {

TEST(SocketAddress, ParsesNginxListenForms) {
    SocketAddress a;
    ASSERT_TRUE(SocketAddress::parse("127.0.0.1:8080", 80, &a));
    EXPECT_EQ(a.family(), AF_INET);
    EXPECT_EQ(a.port(), 8080);
    EXPECT_EQ(a.to_string(), "127.0.0.1:8080");

    ASSERT_TRUE(SocketAddress::parse("8081", 80, &a));
    EXPECT_EQ(a.to_string(), "0.0.0.0:8081");
    ASSERT_TRUE(SocketAddress::parse("*:82", 80, &a));
    EXPECT_EQ(a.to_string(), "0.0.0.0:82");
    ASSERT_TRUE(SocketAddress::parse("10.0.0.1", 80, &a));
    EXPECT_EQ(a.to_string(), "10.0.0.1:80");

    ASSERT_TRUE(SocketAddress::parse("[::1]:8443", 80, &a));
    EXPECT_EQ(a.family(), AF_INET6);
    EXPECT_EQ(a.to_string(), "[::1]:8443");
    EXPECT_EQ(a.to_string(false), "::1");
    ASSERT_TRUE(SocketAddress::parse("[::]", 80, &a));
    EXPECT_EQ(a.port(), 80);

    ASSERT_TRUE(SocketAddress::parse("unix:/tmp/evs.sock", 80, &a));
    EXPECT_EQ(a.family(), AF_UNIX);
    EXPECT_EQ(a.to_string(), "unix:/tmp/evs.sock");
}

TEST(SocketAddress, RejectsMalformedAddresses) {
    SocketAddress a;
    EXPECT_FALSE(SocketAddress::parse("127.0.0.1:-1", 80, &a));
    EXPECT_FALSE(SocketAddress::parse("127.0.0.1:65536", 80, &a));
    EXPECT_FALSE(SocketAddress::parse("127.0.0.1:http", 80, &a));
    EXPECT_FALSE(SocketAddress::parse("example.com:80", 80, &a));
    EXPECT_FALSE(SocketAddress::parse("[::1", 80, &a));
    EXPECT_FALSE(SocketAddress::parse("[::1]x", 80, &a));
    EXPECT_FALSE(SocketAddress::parse("unix:", 80, &a));
    EXPECT_FALSE(SocketAddress::parse("unix:" + std::string(200, 'a'), 80, &a));
}

TEST(SocketAddress, Equality) {
    SocketAddress a;
    SocketAddress b;
    ASSERT_TRUE(SocketAddress::parse("127.0.0.1:80", 80, &a));
    ASSERT_TRUE(SocketAddress::parse("127.0.0.1", 80, &b));
    EXPECT_TRUE(a == b);
    ASSERT_TRUE(SocketAddress::parse("127.0.0.2", 80, &b));
    EXPECT_FALSE(a == b);
}

}  // namespace
}  // namespace evs::os
