// allow/deny rules: parsing of addresses and CIDR blocks as nginx's ngx_ptocidr takes
// them (host bits past the prefix cleared and reported), and first-match evaluation for
// IPv4, IPv6, IPv4-mapped IPv6 and unix-domain clients.

#include "http/access_rules.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace evs::http {
namespace {

AccessRule rule(std::string_view text, bool deny = false) {
    bool low = false;
    auto r = parse_access_rule(text, deny, &low);
    EXPECT_TRUE(r.has_value()) << text;
    return r.value_or(AccessRule{});
}

sockaddr_storage v4(const char* text) {
    sockaddr_storage ss{};
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    EXPECT_EQ(::inet_pton(AF_INET, text, &in->sin_addr), 1) << text;
    return ss;
}

sockaddr_storage v6(const char* text) {
    sockaddr_storage ss{};
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    EXPECT_EQ(::inet_pton(AF_INET6, text, &in6->sin6_addr), 1) << text;
    return ss;
}

sockaddr_storage unix_peer() {
    sockaddr_storage ss{};
    ss.ss_family = AF_UNIX;
    return ss;
}

bool allowed(const std::vector<AccessRule>& rules, const sockaddr_storage& peer) {
    return access_allowed(rules, reinterpret_cast<const sockaddr*>(&peer));
}

TEST(AccessRuleParseTest, AcceptsNginxForms) {
    EXPECT_EQ(rule("all").family, AccessRule::Family::all);
    EXPECT_EQ(rule("unix:").family, AccessRule::Family::unix_domain);
    const AccessRule host = rule("192.168.1.7");
    EXPECT_EQ(host.family, AccessRule::Family::inet);
    EXPECT_EQ(host.addr[0], 192);
    EXPECT_EQ(host.addr[3], 7);
    EXPECT_EQ(host.mask[3], 0xFF);  // a bare address is a /32
    const AccessRule net = rule("10.1.0.0/16");
    EXPECT_EQ(net.mask[1], 0xFF);
    EXPECT_EQ(net.mask[2], 0);
    const AccessRule odd = rule("10.1.128.0/17");
    EXPECT_EQ(odd.mask[2], 0x80);
    EXPECT_EQ(rule("2001:db8::/32").family, AccessRule::Family::inet6);
    EXPECT_EQ(rule("::1").mask[15], 0xFF);
    EXPECT_EQ(rule("0.0.0.0/0").mask[0], 0);
    EXPECT_TRUE(rule("10.0.0.0/8", true).deny);
    EXPECT_EQ(rule("10.0.0.0/008").mask[1], 0);  // leading zeros, as nginx's ngx_atoi
}

TEST(AccessRuleParseTest, RejectsInvalidAddresses) {
    for (const char* bad : {"", "300.1.1.1", "1.2.3", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/-1",
                            "1.2.3.4/8x", "::1/129", "localhost", "unix", "unix:/path", "ALL",
                            "1.2.3.4 ", "/8", "1.2.3.4/99999999999", "g::1"}) {
        bool low = false;
        EXPECT_FALSE(parse_access_rule(bad, false, &low).has_value()) << '"' << bad << '"';
    }
}

TEST(AccessRuleParseTest, LowBitsAreClearedAndReported) {
    bool low = false;
    auto r = parse_access_rule("127.0.0.1/8", false, &low);
    ASSERT_TRUE(r);
    EXPECT_TRUE(low);
    EXPECT_EQ(r->addr[0], 127);
    EXPECT_EQ(r->addr[3], 0);
    r = parse_access_rule("2001:db8::1/64", false, &low);
    ASSERT_TRUE(r);
    EXPECT_TRUE(low);
    EXPECT_EQ(r->addr[15], 0);
    r = parse_access_rule("10.0.0.0/8", false, &low);
    ASSERT_TRUE(r);
    EXPECT_FALSE(low);
    r = parse_access_rule("127.0.0.1", false, &low);
    ASSERT_TRUE(r);
    EXPECT_FALSE(low);
}

TEST(AccessAllowedTest, FirstMatchWins) {
    const std::vector<AccessRule> rules = {rule("127.0.0.2", true), rule("127.0.0.0/8"),
                                           rule("all", true)};
    EXPECT_FALSE(allowed(rules, v4("127.0.0.2")));
    EXPECT_TRUE(allowed(rules, v4("127.0.0.1")));
    EXPECT_TRUE(allowed(rules, v4("127.255.0.1")));
    EXPECT_FALSE(allowed(rules, v4("128.0.0.1")));
    EXPECT_FALSE(allowed(rules, v6("::1")));  // only "all" applies to IPv6
    EXPECT_FALSE(allowed(rules, unix_peer()));
}

TEST(AccessAllowedTest, NoMatchAllows) {
    EXPECT_TRUE(allowed({}, v4("1.2.3.4")));
    EXPECT_TRUE(allowed({rule("10.0.0.0/8", true)}, v4("11.0.0.1")));
    EXPECT_FALSE(allowed({rule("10.0.0.0/8", true)}, v4("10.200.3.4")));
}

TEST(AccessAllowedTest, CidrBoundaries) {
    const std::vector<AccessRule> rules = {rule("192.168.4.0/22", true)};
    EXPECT_TRUE(allowed(rules, v4("192.168.3.255")));
    EXPECT_FALSE(allowed(rules, v4("192.168.4.0")));
    EXPECT_FALSE(allowed(rules, v4("192.168.7.255")));
    EXPECT_TRUE(allowed(rules, v4("192.168.8.0")));
    EXPECT_FALSE(allowed({rule("0.0.0.0/0", true)}, v4("8.8.8.8")));
}

TEST(AccessAllowedTest, Ipv6Prefixes) {
    const std::vector<AccessRule> rules = {rule("2001:db8:abcd::/48", true), rule("::1"),
                                           rule("all", true)};
    EXPECT_FALSE(allowed(rules, v6("2001:db8:abcd:1::5")));
    EXPECT_FALSE(allowed(rules, v6("2001:db8:abce::5")));  // falls to "deny all"
    EXPECT_TRUE(allowed(rules, v6("::1")));
    EXPECT_FALSE(allowed(rules, v6("::2")));
    EXPECT_FALSE(allowed({rule("2001:db8::/127", true)}, v6("2001:db8::1")));
    EXPECT_TRUE(allowed({rule("2001:db8::/128", true)}, v6("2001:db8::1")));
}

TEST(AccessAllowedTest, MappedIpv4UsesIpv4Rules) {
    const std::vector<AccessRule> rules = {rule("127.0.0.1"), rule("::ffff:0:0/96", true),
                                           rule("all", true)};
    EXPECT_TRUE(allowed(rules, v6("::ffff:127.0.0.1")));
    EXPECT_FALSE(allowed(rules, v6("::ffff:127.0.0.2")));
    // The IPv6 rules do not see a mapped address, as in nginx.
    EXPECT_TRUE(allowed({rule("::ffff:0:0/96", true)}, v6("::ffff:10.0.0.1")));
}

TEST(AccessAllowedTest, UnixRuleMatchesOnlyUnixClients) {
    const std::vector<AccessRule> rules = {rule("unix:", true)};
    EXPECT_FALSE(allowed(rules, unix_peer()));
    EXPECT_TRUE(allowed(rules, v4("127.0.0.1")));
    EXPECT_TRUE(allowed({rule("127.0.0.1", true)}, unix_peer()));
}

}  // namespace
}  // namespace evs::http
