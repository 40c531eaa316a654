// A reload keeps a listening socket whose address is unchanged (its accept queue
// carries over) and sets the new configuration's listen parameters on it, as nginx
// does: backlog, sndbuf, deferred and notsent_lowat are read back from the master's
// own socket (pidfd_getfd) after each HUP, and a reload that drops deferred and
// notsent_lowat takes them off again.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

// What the kernel says about one listening socket.
struct ListenerState {
    ino_t inode = 0;
    int deferred = -1;       // TCP_DEFER_ACCEPT (0: off)
    int notsent_lowat = -1;  // TCP_NOTSENT_LOWAT (0: the sysctl's)
    int sndbuf = -1;         // SO_SNDBUF (the kernel doubles what was set)
    std::uint32_t backlog = 0;

    bool operator==(const ListenerState&) const = default;
};

std::ostream& operator<<(std::ostream& os, const ListenerState& s) {
    return os << "{inode " << s.inode << ", deferred " << s.deferred << ", notsent_lowat "
              << s.notsent_lowat << ", sndbuf " << s.sndbuf << ", backlog " << s.backlog << "}";
}

// A copy of process `pid`'s descriptor `fd` (pidfd_getfd: the same open socket).
int copy_fd(pid_t pid, int fd) {
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        return -1;
    }
    const int copy = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
    ::close(pidfd);
    return copy;
}

// The state of the socket process `pid` listens on at 127.0.0.1:port, if any.
std::optional<ListenerState> listener_of(pid_t pid, std::uint16_t port) {
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        const int fd = copy_fd(pid, std::stoi(entry.path().filename().string()));
        if (fd < 0) {
            continue;
        }
        int listening = 0;
        socklen_t len = sizeof(listening);
        sockaddr_in addr{};
        socklen_t alen = sizeof(addr);
        const bool ours = ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
                          listening &&
                          ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) == 0 &&
                          addr.sin_family == AF_INET && ntohs(addr.sin_port) == port;
        if (!ours) {
            ::close(fd);
            continue;
        }
        ListenerState s;
        struct stat st {};
        ::fstat(fd, &st);
        s.inode = st.st_ino;
        len = sizeof(int);
        ::getsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &s.deferred, &len);
        len = sizeof(int);
        ::getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &s.notsent_lowat, &len);
        len = sizeof(int);
        ::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s.sndbuf, &len);
        // For a listening socket the kernel reports its backlog as tcpi_sacked.
        tcp_info info{};
        len = sizeof(info);
        ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len);
        s.backlog = info.tcpi_sacked;
        ::close(fd);
        return s;
    }
    return std::nullopt;
}

std::string site(std::uint16_t port, std::string_view params) {
    return "    server {\n"
           "        listen 127.0.0.1:" +
           std::to_string(port) + std::string(params) +
           ";\n"
           "        root html;\n"
           "    }\n";
}

// Writes `conf`, sends HUP, and returns the listener's state once `settled` accepts
// it (the master sets the options before it starts the new workers), bounded at 10 s.
std::optional<ListenerState> reload(TestServer& server, std::uint16_t port, const std::string& conf,
                                    bool (*settled)(const ListenerState&)) {
    if (!server.configure(conf) || !server.signal(SIGHUP)) {
        ADD_FAILURE() << "cannot write the configuration or signal the master";
        return std::nullopt;
    }
    std::optional<ListenerState> state;
    EXPECT_TRUE(wait_until(
        [&] {
            state = listener_of(server.master(), port);
            return state && settled(*state);
        },
        10s))
        << "after HUP: " << (state ? ::testing::PrintToString(*state) : "no socket") << "\n"
        << server.error_log();
    return state;
}

TEST(ListenReloadTest, AReloadSetsTheNewListenParametersOnTheSameSocket) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(site(port, ""))));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    ASSERT_EQ(status_of(port, "/"), 200);

    const auto plain = listener_of(server.master(), port);
    ASSERT_TRUE(plain.has_value()) << "no listening socket on port " << port << " in the master";
    EXPECT_EQ(plain->deferred, 0);
    EXPECT_EQ(plain->notsent_lowat, 0);
    EXPECT_EQ(plain->backlog, 511u) << "nginx's default backlog";

    // Reload with parameters: the same socket, with them set.
    const auto tuned =
        reload(server, port,
               TestServer::config(site(port, " backlog=77 sndbuf=256k deferred notsent_lowat=16k")),
               [](const ListenerState& st) { return st.notsent_lowat == 16384; });
    ASSERT_TRUE(tuned.has_value());
    EXPECT_EQ(tuned->inode, plain->inode) << "the reload opened a new socket";
    EXPECT_GT(tuned->deferred, 0);
    EXPECT_EQ(tuned->backlog, 77u);
    EXPECT_EQ(tuned->sndbuf, 2 * 256 * 1024);  // the kernel doubles SO_SNDBUF
    EXPECT_EQ(status_of(port, "/"), 200);

    // Reload without them: deferred and the unsent limit come off, the backlog is the
    // default again; the send buffer stays (no "unset" in the kernel, nginx's too).
    const auto back = reload(server, port, TestServer::config(site(port, "")),
                             [](const ListenerState& st) { return st.notsent_lowat == 0; });
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->inode, plain->inode);
    EXPECT_EQ(back->deferred, 0);
    EXPECT_EQ(back->backlog, 511u);
    EXPECT_EQ(back->sndbuf, tuned->sndbuf);
    EXPECT_EQ(status_of(port, "/"), 200);

    server.stop(SIGQUIT);
    EXPECT_EQ(server.error_log().find("[alert]"), std::string::npos) << server.error_log();
}

}  // namespace
}  // namespace evs::test
