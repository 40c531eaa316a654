// listen's notsent_lowat parameter (TCP_NOTSENT_LOWAT on the listener, inherited by
// every connection accepted there), seen from outside the server: a large file sent
// to a client that reads nothing leaves at most about that much queued and unsent in
// the server's socket (read with sock_diag, as `ss -ti` shows it as "notsent"), where
// the same listener without it queues as much as the send buffer takes; the file still
// arrives whole and exact once the client reads, in the many passes the limit makes.
// A bad value is a configuration error naming the file and line.
//
// One server (one worker) for the suite, with two listeners over the same site that
// differ only by notsent_lowat. See server_fixture.hpp and tcp_info.hpp.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "integration/server_fixture.hpp"
#include "integration/tcp_info.hpp"

namespace evs::test {
namespace {

constexpr std::size_t k_file_size = 4 * 1024 * 1024;
constexpr std::uint32_t k_lowat = 16 * 1024;
// What one sendfile() may queue past the limit: the kernel checks it before each
// new segment buffer, and a loopback segment buffer holds up to 64 KiB.
constexpr std::uint32_t k_overshoot = 128 * 1024;

std::string file_content() {
    std::string text(k_file_size, '\0');
    std::uint32_t x = 2463534242U;  // xorshift32: no two 64 KiB blocks alike
    for (char& ch : text) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ch = static_cast<char>(x);
    }
    return text;
}

class HttpNotsentLowatTest : public SharedServerSuite<HttpNotsentLowatTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        plain_port_ = free_port();
        // The same send buffer for both, so that only notsent_lowat differs.
        const std::string http =
            "    default_type application/octet-stream;\n"
            "    sendfile on;\n"
            "    tcp_nopush on;\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) + " sndbuf=2m notsent_lowat=" + std::to_string(k_lowat) +
            ";\n"
            "        listen 127.0.0.1:" +
            std::to_string(plain_port_) +
            " sndbuf=2m;\n"
            "        server_name localhost;\n"
            "        root html;\n"
            "    }\n";
        ASSERT_TRUE(server_->configure(TestServer::config(http)) &&
                    server_->write("html/big", file_content()))
            << "cannot build the site";
        ASSERT_TRUE(server_->start());
    }

    // Requests the big file with a small receive buffer and reads nothing until the
    // server has queued what it will; returns the server's unsent bytes then, and
    // checks that the whole file arrives afterwards.
    static std::uint32_t unsent_while_client_waits(std::uint16_t port) {
        HttpClient c(port);
        EXPECT_TRUE(c.ok()) << c.error();
        const int rcvbuf = 64 * 1024;
        ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        sockaddr_in local{};
        socklen_t len = sizeof(local);
        ::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&local), &len);
        const std::uint16_t client_port = ntohs(local.sin_port);
        EXPECT_TRUE(c.send(http_get("/big", "localhost", "Connection: close\r\n"))) << c.error();

        // The server is done queueing when its unsent bytes stop changing.
        std::uint32_t unsent = 0;
        std::uint32_t previous = UINT32_MAX;
        const bool settled = wait_until(
            [&] {
                const auto info = loopback_tcp_info(port, client_port);
                if (!info || info->notsent_bytes == 0) {
                    return false;
                }
                const bool same = info->notsent_bytes == previous;
                previous = unsent = info->notsent_bytes;
                if (!same) {
                    std::this_thread::sleep_for(50ms);
                }
                return same;
            },
            5s);
        EXPECT_TRUE(settled) << "port " << port << ": nothing queued unsent within 5 s";

        const auto r = c.read_response(false, 30s);
        EXPECT_TRUE(r.has_value()) << "port " << port << ": " << c.error();
        if (r) {
            EXPECT_EQ(r->status, 200);
            EXPECT_EQ(r->body.size(), k_file_size);
            EXPECT_TRUE(r->body == file_content()) << "port " << port << ": the body differs";
        }
        return unsent;
    }

    static inline std::uint16_t plain_port_ = 0;
};

TEST_F(HttpNotsentLowatTest, BoundsWhatTheSocketHoldsUnsent) {
    const std::uint32_t limited = unsent_while_client_waits(port_);
    const std::uint32_t plain = unsent_while_client_waits(plain_port_);
    EXPECT_GT(limited, 0u);
    EXPECT_LE(limited, k_lowat + k_overshoot) << "with notsent_lowat=" << k_lowat;
    // Without the limit the same socket queues far more: what a 2 MiB send buffer
    // takes, less what is in flight to a 64 KiB window.
    EXPECT_GE(plain, 1024u * 1024u) << "without notsent_lowat";
}

TEST(HttpNotsentLowatConfigTest, BadValueIsAnErrorWithFileAndLine) {
    for (const std::string value : {"lots", "3g", "-1", ""}) {
        TestServer server;
        const std::string text = TestServer::config(
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(free_port()) + " notsent_lowat=" + value +
            ";\n"
            "    }\n");
        ASSERT_TRUE(server.configure(text));
        const RunResult r = server.run_with_conf({"-t"});
        ASSERT_TRUE(r.exited);
        EXPECT_EQ(r.exit_code(), 1) << value;
        const std::string expected =
            "evserve: [emerg] invalid notsent_lowat \"" + value + "\" in " + server.conf_path() +
            ":" + std::to_string(count_of(text.substr(0, text.find("listen")), "\n") + 1) + "\n";
        EXPECT_NE(r.err.find(expected), std::string::npos)
            << "expected: " << expected << "got: " << r.err;
    }
}

}  // namespace
}  // namespace evs::test
