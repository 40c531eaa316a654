// Runs examples/echo_server.cpp, once per backend, and talks to it over 127.0.0.1:
//
//   - 1000 connections at once, 100 messages each (1..4096 bytes, content derived
//     from the connection and message numbers), every byte of every echo checked;
//   - a client that writes without reading: its writes must stall (the server stops
//     reading instead of buffering) while other clients are still served, then every
//     byte comes back intact;
//   - more idle connections than slots: the oldest idle ones are closed to make room;
//   - SIGINT with connections open, one of them waiting to write.
//
// Each test stops the server with SIGTERM (or SIGINT) and expects exit status 0. The
// clients are plain sockets and a level-triggered epoll loop, independent of the code
// under test.

#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "integration/child_process.hpp"

namespace evs::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char k_echo_server[] = EVS_BINARY_DIR "/examples/echo_server";

std::uint32_t mix(std::uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

// Message `seq` of connection `conn`: its size, and its byte at `offset`. Every byte
// depends on all three, so a byte lost, duplicated, reordered or crossed over from
// another connection is caught where it lands.
std::size_t message_size(std::uint32_t conn, std::uint32_t seq) {
    return 1 + mix(conn * 7919u + seq * 104729u + 1) % 4096;
}

std::uint8_t message_byte(std::uint32_t conn, std::uint32_t seq, std::size_t offset) {
    return static_cast<std::uint8_t>(
        mix((conn << 20) ^ (seq << 12) ^ static_cast<std::uint32_t>(offset)) >> 5);
}

// A position in one connection's stream of messages.
struct Cursor {
    std::uint32_t seq = 0;
    std::size_t offset = 0;
};

void raise_fd_limit() {
    rlimit limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    limit.rlim_cur = limit.rlim_max;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
    ASSERT_GE(limit.rlim_cur, 1100u) << "the hard RLIMIT_NOFILE is too low for 1000 clients";
}

int connect_to(std::uint16_t port, bool blocking) {
    const int fd =
        ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK), 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0 &&
        errno != EINPROGRESS) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends `message` on a blocking socket; true when exactly it comes back within 5 s,
// false on end of stream, an error, other bytes, or silence.
bool echoes(int fd, std::string_view message) {
    if (::send(fd, message.data(), message.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(message.size())) {
        return false;
    }
    std::string got;
    const auto deadline = Clock::now() + 5s;
    while (got.size() < message.size() && Clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        char buf[256];
        if (::poll(&p, 1, 100) == 1) {
            const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n <= 0) {
                return false;
            }
            got.append(buf, static_cast<std::size_t>(n));
        }
    }
    return got == message;
}

// Byte `at` of the stream a writing-only client sends.
std::uint8_t stream_byte(std::size_t at) {
    return static_cast<std::uint8_t>(mix(static_cast<std::uint32_t>(at >> 10)) + at);
}

// Writes the stream on non-blocking `fd` without reading until the socket has had no
// room for half a second: the server has stopped reading. Fails if that takes more
// than 128 MB, far beyond what the kernel's socket buffers can hold.
void write_until_stalled(int fd, Clock::time_point deadline, std::size_t* written) {
    constexpr std::size_t k_unbounded = 128u << 20;
    std::vector<std::uint8_t> buf(256 * 1024);
    for (;;) {
        ASSERT_LT(Clock::now(), deadline);
        ASSERT_LT(*written, k_unbounded) << "the server kept reading while it could not write";
        for (std::size_t k = 0; k < buf.size(); ++k) {
            buf[k] = stream_byte(*written + k);
        }
        const ssize_t put = ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
        if (put > 0) {
            *written += static_cast<std::size_t>(put);
            continue;
        }
        ASSERT_EQ(errno, EAGAIN) << std::strerror(errno);
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 500) == 0) {
            return;
        }
    }
}

epoll_event interest(std::uint32_t events, std::uint32_t id) {
    epoll_event ee{};
    ee.events = events;
    ee.data.u32 = id;
    return ee;
}

class EchoTest : public ::testing::TestWithParam<std::string> {
protected:
    // Starts the server with --port 0 and learns its port from its first line.
    void start_server(std::size_t connections) {
        ASSERT_TRUE(server_.start(k_echo_server, {"--port", "0", "--backend", GetParam(),
                                                  "--connections", std::to_string(connections)}));
        const auto line = server_.read_line(20s);
        ASSERT_TRUE(line.has_value()) << "the server printed no line";
        const std::string prefix = "listening on 127.0.0.1:";
        ASSERT_EQ(line->rfind(prefix, 0), 0u) << *line;
        const int port = std::stoi(line->substr(prefix.size()));
        ASSERT_GT(port, 0);
        ASSERT_LT(port, 65536);
        port_ = static_cast<std::uint16_t>(port);
    }

    // SIGTERM (or SIGINT), then the server must exit by itself with status 0.
    void stop_server(int sig = SIGTERM) {
        ASSERT_TRUE(server_.signal(sig));
        const auto status = server_.wait(20s);
        ASSERT_TRUE(status.has_value()) << "the server did not exit within 20 s of the signal";
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_status(*status);
        const std::string log = server_.stderr_text();
        for (const char* level : {"[emerg]", "[alert]", "[crit]"}) {
            EXPECT_EQ(log.find(level), std::string::npos) << log;
        }
    }

    ChildProcess server_;
    std::uint16_t port_ = 0;
};

// 1000 clients at once, each with up to k_window messages in flight. (On loopback the
// kernel's socket buffers grow to megabytes, so this rarely makes the server wait for
// a write event: the next test does that on purpose.)
TEST_P(EchoTest, ThousandConnectionsHundredMessagesEach) {
    constexpr std::uint32_t k_clients = 1000;
    constexpr std::uint32_t k_messages = 100;
    constexpr std::uint32_t k_window = 32;
    ASSERT_NO_FATAL_FAILURE(raise_fd_limit());
    ASSERT_NO_FATAL_FAILURE(start_server(2048));

    struct Client {
        int fd = -1;
        Cursor sent;
        Cursor received;
        bool want_write = true;
    };
    std::vector<Client> clients(k_clients);
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    ASSERT_GE(ep, 0);
    for (std::uint32_t i = 0; i < k_clients; ++i) {
        clients[i].fd = connect_to(port_, false);
        ASSERT_GE(clients[i].fd, 0) << "connect " << i << ": " << std::strerror(errno);
        epoll_event ee = interest(EPOLLIN | EPOLLOUT, i);
        ASSERT_EQ(::epoll_ctl(ep, EPOLL_CTL_ADD, clients[i].fd, &ee), 0);
    }

    std::vector<std::uint8_t> buf(64 * 1024);
    std::vector<epoll_event> events(256);
    std::uint32_t finished = 0;
    std::uint64_t bytes_echoed = 0;
    std::uint64_t bytes_expected = 0;
    for (std::uint32_t i = 0; i < k_clients; ++i) {
        for (std::uint32_t seq = 0; seq < k_messages; ++seq) {
            bytes_expected += message_size(i, seq);
        }
    }
    const auto deadline = Clock::now() + 60s;

    while (finished < k_clients) {
        ASSERT_LT(Clock::now(), deadline)
            << finished << " of " << k_clients << " clients finished in 60 s, " << bytes_echoed
            << " of " << bytes_expected << " bytes echoed";
        const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
        ASSERT_GE(n, 0) << std::strerror(errno);
        for (int e = 0; e < n; ++e) {
            const std::uint32_t id = events[static_cast<std::size_t>(e)].data.u32;
            const std::uint32_t what = events[static_cast<std::size_t>(e)].events;
            Client& c = clients[id];

            if (what & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                const ssize_t got = ::recv(c.fd, buf.data(), buf.size(), 0);
                ASSERT_NE(got, 0) << "client " << id << ": the server closed the connection at "
                                  << "message " << c.received.seq;
                if (got < 0) {
                    ASSERT_EQ(errno, EAGAIN) << "client " << id << ": " << std::strerror(errno);
                }
                for (ssize_t k = 0; k < got; ++k) {
                    ASSERT_LT(c.received.seq, k_messages) << "client " << id << ": extra bytes";
                    // A plain comparison: an assertion per byte would dominate the run.
                    const std::uint8_t want = message_byte(id, c.received.seq, c.received.offset);
                    if (buf[static_cast<std::size_t>(k)] != want) {
                        FAIL() << "client " << id << " message " << c.received.seq << " byte "
                               << c.received.offset << ": got " << +buf[static_cast<std::size_t>(k)]
                               << ", expected " << +want;
                    }
                    if (++c.received.offset == message_size(id, c.received.seq)) {
                        c.received = Cursor{c.received.seq + 1, 0};
                        if (c.received.seq == k_messages) {
                            ++finished;
                        }
                    }
                }
                bytes_echoed += static_cast<std::uint64_t>(std::max<ssize_t>(got, 0));
            }

            // Fill the buffer with as much of the window as fits, send, and advance by
            // what the socket took.
            const std::uint32_t limit = std::min(k_messages, c.received.seq + k_window);
            if ((what & EPOLLOUT) && c.sent.seq < limit) {
                std::size_t filled = 0;
                for (Cursor at = c.sent; at.seq < limit && filled < buf.size(); ++at.seq) {
                    const std::size_t size = message_size(id, at.seq);
                    for (; at.offset < size && filled < buf.size(); ++at.offset) {
                        buf[filled++] = message_byte(id, at.seq, at.offset);
                    }
                    at.offset = 0;
                }
                const ssize_t put = ::send(c.fd, buf.data(), filled, MSG_NOSIGNAL);
                if (put < 0) {
                    ASSERT_EQ(errno, EAGAIN) << "client " << id << ": " << std::strerror(errno);
                }
                for (std::size_t left = static_cast<std::size_t>(std::max<ssize_t>(put, 0));
                     left > 0;) {
                    const std::size_t step =
                        std::min(left, message_size(id, c.sent.seq) - c.sent.offset);
                    left -= step;
                    c.sent.offset += step;
                    if (c.sent.offset == message_size(id, c.sent.seq)) {
                        c.sent = Cursor{c.sent.seq + 1, 0};
                    }
                }
            }

            // Level-triggered: ask for EPOLLOUT only while there is something to send.
            const bool want_write = c.sent.seq < std::min(k_messages, c.received.seq + k_window);
            if (want_write != c.want_write) {
                c.want_write = want_write;
                epoll_event ee = interest(EPOLLIN | (want_write ? EPOLLOUT : 0u), id);
                ASSERT_EQ(::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ee), 0);
            }
        }
    }
    EXPECT_EQ(bytes_echoed, bytes_expected);
    for (Client& c : clients) {
        ::close(c.fd);
    }
    ::close(ep);
    stop_server();
}

// A client that only writes: the server echoes until the client's receive buffer and
// its own send buffer are full, then must stop reading, so the client's writes stall
// long before it has written 128 MB. Meanwhile another client is served as
// usual. Then every byte comes back intact.
TEST_P(EchoTest, StopsReadingWhileThePeerDoesNotRead) {
    ASSERT_NO_FATAL_FAILURE(start_server(64));
    const int fd = connect_to(port_, false);
    ASSERT_GE(fd, 0);
    std::vector<std::uint8_t> buf(256 * 1024);
    const auto deadline = Clock::now() + 60s;
    std::size_t written = 0;
    ASSERT_NO_FATAL_FAILURE(write_until_stalled(fd, deadline, &written));
    EXPECT_GT(written, 0u);

    // The stalled connection waits for its write event; the loop goes on serving others.
    const int other = connect_to(port_, true);
    ASSERT_GE(other, 0);
    EXPECT_TRUE(echoes(other, "ping")) << "another client got no echo within 5 s";
    ::close(other);

    // Now read it all back, checking every byte.
    std::size_t received = 0;
    while (received < written) {
        ASSERT_LT(Clock::now(), deadline) << received << " of " << written << " bytes echoed";
        pollfd p{fd, POLLIN, 0};
        ASSERT_GE(::poll(&p, 1, 100), 0);
        const ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
        ASSERT_NE(got, 0) << "the server closed the connection";
        if (got < 0) {
            ASSERT_EQ(errno, EAGAIN) << std::strerror(errno);
            continue;
        }
        for (ssize_t k = 0; k < got; ++k, ++received) {
            if (buf[static_cast<std::size_t>(k)] != stream_byte(received)) {
                FAIL() << "byte " << received << " corrupted";
            }
        }
    }
    EXPECT_EQ(received, written);
    ::close(fd);
    stop_server();
}

// With 16 slots (two taken by the listener and the signalfd), 20 idle clients do not
// fit: accepting a new one closes the oldest idle ones (ConnectionPool::drain, which
// sets Connection::close and calls the read handler).
TEST_P(EchoTest, ClosesTheOldestIdleConnectionsWhenSlotsRunOut) {
    constexpr int k_clients = 20;
    ASSERT_NO_FATAL_FAILURE(start_server(16));
    std::array<int, k_clients> fds{};
    for (int i = 0; i < k_clients; ++i) {
        fds[static_cast<std::size_t>(i)] = connect_to(port_, true);
        ASSERT_GE(fds[static_cast<std::size_t>(i)], 0);
        // Echoed: accepted, served, and idle again, in the order the clients came.
        ASSERT_TRUE(echoes(fds[static_cast<std::size_t>(i)], "a")) << "client " << i;
    }

    int open = 0;
    int first_open = -1;
    for (int i = 0; i < k_clients; ++i) {
        if (echoes(fds[static_cast<std::size_t>(i)], "b")) {
            ++open;
            if (first_open < 0) {
                first_open = i;
            }
        } else {
            EXPECT_LT(first_open, 0)
                << "client " << i << " was closed but older client " << first_open << " was kept";
        }
        ::close(fds[static_cast<std::size_t>(i)]);
    }
    EXPECT_GT(first_open, 0) << "the oldest idle client was not closed";
    EXPECT_LE(open, 14);
    EXPECT_EQ(open, k_clients - first_open);
    stop_server();
    EXPECT_NE(server_.stderr_text().find("worker_connections are not enough, reusing connections"),
              std::string::npos)
        << server_.stderr_text();
}

// SIGINT while connections are open, one of them waiting to write: the server closes
// them all and exits 0 (under the sanitizer build, without a leak).
TEST_P(EchoTest, ExitsZeroWithConnectionsOpen) {
    ASSERT_NO_FATAL_FAILURE(start_server(64));
    const int stalled = connect_to(port_, false);
    ASSERT_GE(stalled, 0);
    std::size_t written = 0;
    ASSERT_NO_FATAL_FAILURE(write_until_stalled(stalled, Clock::now() + 60s, &written));
    std::array<int, 3> idle{};
    for (int& fd : idle) {
        fd = connect_to(port_, true);
        ASSERT_GE(fd, 0);
        ASSERT_TRUE(echoes(fd, "hello"));
    }
    stop_server(SIGINT);
    for (int fd : idle) {
        // The server closed the connection: end of stream (or a reset), no echo.
        EXPECT_FALSE(echoes(fd, "bye"));
        ::close(fd);
    }
    ::close(stalled);
}

std::string backend_name(const ::testing::TestParamInfo<std::string>& param) {
    return param.param;
}

INSTANTIATE_TEST_SUITE_P(Backends, EchoTest, ::testing::Values("epoll", "poll"), backend_name);

}  // namespace
}  // namespace evs::test
