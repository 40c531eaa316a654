// allow/deny seen from real clients: first match wins, CIDR blocks around 127.0.0.1
// (the only loopback address a test can connect from), inheritance from http to server
// to location (an inner level with any rule replaces the outer rules), `return` running
// before the access check as in nginx, unix-domain clients, IPv6 on ::1 and an
// IPv4-mapped client on a dual-stack listener, the 403 and its error log line, and the
// configuration errors and the low-bits warning with file:line.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

// Whether this machine can listen on ::1.
bool ipv6_loopback_available() {
    const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

// One request with "Connection: close" over any kind of socket; the status code of the
// answer, or -1. Every wait is bounded by `timeout`.
int status_over(int family, const sockaddr* addr, socklen_t len, std::string_view path,
                std::chrono::milliseconds timeout = 5s) {
    const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int status = -1;
    if (::connect(fd, addr, len) == 0) {
        const std::string req = http_get(path, "localhost", "Connection: close\r\n");
        if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
            std::string answer;
            char buf[4096];
            const auto deadline = Clock::now() + timeout;
            while (answer.find("\r\n") == std::string::npos && Clock::now() < deadline) {
                const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
                if (n <= 0) {
                    break;
                }
                answer.append(buf, static_cast<std::size_t>(n));
            }
            if (answer.starts_with("HTTP/1.1 ") && answer.size() >= 12) {
                status = std::atoi(answer.c_str() + 9);
            }
        }
    }
    ::close(fd);
    return status;
}

int status_v6(std::uint16_t port, std::string_view path) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    addr.sin6_port = htons(port);
    return status_over(AF_INET6, reinterpret_cast<sockaddr*>(&addr), sizeof(addr), path);
}

int status_unix(const std::string& socket_path, std::string_view path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(addr.sun_path)) {
        return -1;
    }
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    return status_over(AF_UNIX, reinterpret_cast<sockaddr*>(&addr), sizeof(addr), path);
}

class AccessTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        TestServer& s = *server_;
        port_ = free_port();
        http_level_port_ = free_port();
        v6_ = ipv6_loopback_available();
        v6_port_ = free_port();
        mapped_port_ = free_port();
        unix_path_ = s.path("logs/access.sock");
        std::string http =
            "    deny all;\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        listen unix:" +
            unix_path_ +
            ";\n"
            "        server_name localhost;\n"
            "        root html;\n"
            "        allow all;\n"
            "        location /open/ { }\n"
            "        location /first-allow/ { allow 127.0.0.1; deny all; }\n"
            "        location /first-deny/ { deny 127.0.0.1; allow all; }\n"
            "        location /other-host/ { allow 127.0.0.2; deny all; }\n"
            "        location /net-deny/ { deny 127.0.0.0/8; allow all; }\n"
            "        location /net-allow/ { allow 127.0.0.0/8; deny all; }\n"
            "        location /neighbours/ { deny 127.0.0.2/31; deny 10.0.0.0/8; deny ::1; "
            "deny 127.0.0.0/32; allow 127.0.0.1/32; deny all; }\n"
            "        location /low-bits/ { deny 127.0.0.5/8; allow all; }\n"
            "        location /unix-only/ { allow unix:; deny all; }\n"
            "        location /unix-deny/ { deny unix:; allow all; }\n"
            "        location /v6-only/ { allow ::/0; deny all; }\n"
            "        location /nested/ {\n"
            "            deny all;\n"
            "            location /nested/open/ { allow 127.0.0.1; }\n"
            "            location /nested/inherits/ { }\n"
            "        }\n"
            "        location = /returned { deny all; return 200 \"returned\"; }\n"
            "    }\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(http_level_port_) +
            ";\n"
            "        root html;\n"
            "        location / { }\n"
            "        location /own/ { allow 127.0.0.1; }\n"
            "    }\n";
        if (v6_) {
            http +=
                "    server {\n"
                "        listen [::1]:" +
                std::to_string(v6_port_) +
                ";\n"
                "        root html;\n"
                "        allow all;\n"
                "        location /v6-deny/ { deny ::1; allow all; }\n"
                "        location /v6-allow/ { allow ::1/128; deny all; }\n"
                "        location /v4-rule/ { allow 127.0.0.1; deny all; }\n"
                "        location /v6-net/ { deny fe80::/10; allow ::/127; deny all; }\n"
                "    }\n"
                "    server {\n"
                "        listen [::]:" +
                std::to_string(mapped_port_) +
                " ipv6only=off;\n"
                "        root html;\n"
                "        allow 127.0.0.1;\n"
                "        deny all;\n"
                "        location /v6-rules/ { deny ::ffff:0:0/96; deny ::/0; allow all; }\n"
                "        location /v4-deny/ { deny 127.0.0.0/24; allow all; }\n"
                "    }\n";
        }
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        for (const char* dir :
             {"open",        "first-allow",     "first-deny", "other-host", "net-deny", "net-allow",
              "neighbours",  "low-bits",        "unix-only",  "unix-deny",  "v6-only",  "nested",
              "nested/open", "nested/inherits", "own",        "v6-deny",    "v6-allow", "v4-rule",
              "v6-net",      "v6-rules",        "v4-deny"}) {
            ASSERT_TRUE(s.write("html/" + std::string(dir) + "/index.html", "ok"));
        }
        ASSERT_TRUE(s.write("html/index.html", "root"));
        ASSERT_TRUE(s.start());
        // The pid file appears once the master listens, before its worker runs: the
        // first request waits in the backlog until the worker starts, which on a loaded
        // machine takes longer than a test's 3 s per request. The worker's first answer
        // says it serves every listener (all are set up before its loop runs).
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/open/") == 200; }, 30s))
            << "the worker did not answer within 30 s";
    }

    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }

    void TearDown() override {
        server_->expect_no_sanitizer_reports();
        if (HasFailure()) {
            std::cerr << server_->error_log();
        }
    }

    static TestServer* server_;
    static std::uint16_t port_;
    static std::uint16_t http_level_port_;
    static std::uint16_t v6_port_;
    static std::uint16_t mapped_port_;
    static bool v6_;
    static std::string unix_path_;
};

TestServer* AccessTest::server_ = nullptr;
std::uint16_t AccessTest::port_ = 0;
std::uint16_t AccessTest::http_level_port_ = 0;
std::uint16_t AccessTest::v6_port_ = 0;
std::uint16_t AccessTest::mapped_port_ = 0;
bool AccessTest::v6_ = false;
std::string AccessTest::unix_path_;

TEST_F(AccessTest, FirstMatchingRuleDecides) {
    EXPECT_EQ(status_of(port_, "/open/"), 200);
    EXPECT_EQ(status_of(port_, "/first-allow/"), 200);
    EXPECT_EQ(status_of(port_, "/first-deny/"), 403);
    EXPECT_EQ(status_of(port_, "/other-host/"), 403);  // 127.0.0.2 does not match: deny all
}

TEST_F(AccessTest, CidrBlocks) {
    EXPECT_EQ(status_of(port_, "/net-deny/"), 403);
    EXPECT_EQ(status_of(port_, "/net-allow/"), 200);
    // 127.0.0.2/31, 10/8, ::1 and 127.0.0.0/32 miss 127.0.0.1; its /32 allows.
    EXPECT_EQ(status_of(port_, "/neighbours/"), 200);
    // 127.0.0.5/8 is taken as 127.0.0.0/8.
    EXPECT_EQ(status_of(port_, "/low-bits/"), 403);
    // IPv6 rules and unix: do not apply to an IPv4 client.
    EXPECT_EQ(status_of(port_, "/v6-only/"), 403);
    EXPECT_EQ(status_of(port_, "/unix-only/"), 403);
    EXPECT_EQ(status_of(port_, "/unix-deny/"), 200);
}

TEST_F(AccessTest, DeniedRequestGets403PageAndLogLine) {
    const auto r = fetch(port_, http_get("/first-deny/x"), nullptr, 5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
    EXPECT_NE(r->body.find("<title>403 Forbidden</title>"), std::string::npos) << r->body;
    EXPECT_TRUE(server_->wait_for_text(
        "logs/error.log",
        "access forbidden by rule, client: 127.0.0.1, server: localhost, request: \"GET "
        "/first-deny/x HTTP/1.1\", host: \"localhost\""));
    for (const std::string& line : split_lines(server_->error_log())) {
        if (line.find("access forbidden by rule") != std::string::npos) {
            EXPECT_NE(line.find(" [error] "), std::string::npos) << line;
        }
    }
    // A request that is let through logs nothing of the kind.
    const std::string before = server_->error_log();
    EXPECT_EQ(status_of(port_, "/first-allow/"), 200);
    EXPECT_EQ(count_of(server_->error_log(), "access forbidden"),
              count_of(before, "access forbidden"));
}

TEST_F(AccessTest, InnerRulesReplaceOuterRules) {
    // http: deny all; a server without rules inherits it, a location with its own
    // rules does not.
    EXPECT_EQ(status_of(http_level_port_, "/"), 403);
    EXPECT_EQ(status_of(http_level_port_, "/own/"), 200);
    // location /nested/ denies; its nested locations with and without rules.
    EXPECT_EQ(status_of(port_, "/nested/"), 403);
    EXPECT_EQ(status_of(port_, "/nested/open/"), 200);
    EXPECT_EQ(status_of(port_, "/nested/inherits/"), 403);
}

TEST_F(AccessTest, ReturnRunsBeforeTheAccessCheck) {
    const auto r = fetch(port_, http_get("/returned"), nullptr, 5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "returned");
}

TEST_F(AccessTest, UnixDomainClients) {
    EXPECT_EQ(status_unix(unix_path_, "/unix-only/"), 200);
    EXPECT_EQ(status_unix(unix_path_, "/unix-deny/"), 403);
    EXPECT_EQ(status_unix(unix_path_, "/first-deny/"), 200);  // an IPv4 rule, then allow all
    EXPECT_EQ(status_unix(unix_path_, "/first-allow/"), 403);
    EXPECT_TRUE(
        server_->wait_for_text("logs/error.log", "access forbidden by rule, client: unix:"));
}

TEST_F(AccessTest, Ipv6Clients) {
    if (!v6_) {
        GTEST_SKIP() << "no IPv6 loopback on this machine";
    }
    EXPECT_EQ(status_v6(v6_port_, "/v6-allow/"), 200);
    EXPECT_EQ(status_v6(v6_port_, "/v6-deny/"), 403);
    EXPECT_EQ(status_v6(v6_port_, "/v4-rule/"), 403);  // 127.0.0.1 is not ::1
    EXPECT_EQ(status_v6(v6_port_, "/v6-net/"), 200);   // fe80::/10 misses, ::/127 holds ::1
    EXPECT_TRUE(server_->wait_for_text("logs/error.log", "access forbidden by rule, client: ::1"));
}

TEST_F(AccessTest, MappedIpv4ClientsUseIpv4Rules) {
    if (!v6_) {
        GTEST_SKIP() << "no IPv6 on this machine";
    }
    // Over a dual-stack socket 127.0.0.1 arrives as ::ffff:127.0.0.1.
    EXPECT_EQ(status_of(mapped_port_, "/"), 200);
    EXPECT_EQ(status_of(mapped_port_, "/v6-rules/"), 200);
    EXPECT_EQ(status_of(mapped_port_, "/v4-deny/"), 403);
}

// ---------------------------------------------------------------------------
// The configuration

struct BadRule {
    const char* directive;
    const char* message;
};

class AccessConfigErrorTest : public ::testing::TestWithParam<BadRule> {};

TEST_P(AccessConfigErrorTest, NamesFileAndLine) {
    TestServer server;
    const std::string http =
        "    server {\n        listen 127.0.0.1:" + std::to_string(free_port()) +
        ";\n        location / {\n            " + GetParam().directive + "\n        }\n    }\n";
    EXPECT_TRUE(config_text_fails(server, TestServer::config(http), GetParam().directive,
                                  GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Rules, AccessConfigErrorTest,
    ::testing::Values(BadRule{"allow 300.1.1.1;", "invalid parameter \"300.1.1.1\""},
                      BadRule{"deny 10.0.0.0/33;", "invalid parameter \"10.0.0.0/33\""},
                      BadRule{"deny ::1/129;", "invalid parameter \"::1/129\""},
                      BadRule{"allow localhost;", "invalid parameter \"localhost\""},
                      BadRule{"deny 10.0.0.1/;", "invalid parameter \"10.0.0.1/\""},
                      BadRule{"allow 1.2.3.4 5.6.7.8;",
                              "invalid number of arguments in \"allow\" directive"}),
    [](const auto& p) { return "Case" + std::to_string(p.index); });

TEST(AccessConfigTest, LowAddressBitsWarn) {
    TestServer server;
    const std::string http =
        "    server {\n        listen 127.0.0.1:" + std::to_string(free_port()) +
        ";\n        allow 127.0.0.1/8;\n        deny 2001:db8::1/32;\n"
        "        deny 10.0.0.0/8;\n    }\n";
    const std::string text = TestServer::config(http);
    ASSERT_TRUE(server.configure(text));
    const RunResult r = server.run_with_conf({"-t"});
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_NE(r.err.find("evserve: [warn] low address bits of 127.0.0.1/8 are meaningless in " +
                         server.conf_path() + ":" +
                         std::to_string(line_of(text, "allow 127.0.0.1/8")) + "\n"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("low address bits of 2001:db8::1/32 are meaningless"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("10.0.0.0/8"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace evs::test
