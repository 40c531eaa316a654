#pragma once

// Shared fixture for event-core tests: a Loop on each backend (the suites are
// instantiated once per backend), a log captured in memory so tests can assert on
// what was logged, and small helpers for sockets.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/log.hpp"
#include "core/time_cache.hpp"
#include "event/loop.hpp"

namespace evs::test {

// A Log whose lines land in an in-memory file, readable with text().
class CapturedLog {
public:
    explicit CapturedLog(core::LogLevel level = core::LogLevel::info)
        : fd_(::memfd_create("evs-test-log", MFD_CLOEXEC)), log_(fd_, level) {}
    ~CapturedLog() { ::close(fd_); }
    core::Log& log() { return log_; }
    std::string text() const {
        std::string out;
        char buf[4096];
        off_t offset = 0;
        ssize_t n;
        while ((n = ::pread(fd_, buf, sizeof(buf), offset)) > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            offset += n;
        }
        return out;
    }
    bool contains(const std::string& needle) const {
        return text().find(needle) != std::string::npos;
    }

private:
    int fd_;
    core::Log log_;
};

class LoopTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        config_.backend = GetParam();
        config_.connections = 64;
        configure(config_);
        loop_ = std::make_unique<event::Loop>(config_, captured_.log());
        ASSERT_EQ(loop_->init(), core::Status::ok) << captured_.text();
    }

    // Lets a test adjust the configuration before the loop is created.
    virtual void configure(event::LoopConfig& /*config*/) {}

    // Turns the loop until `done` returns true; false if `limit_ms` passes first.
    bool run_until(const std::function<bool()>& done, core::Msec limit_ms = 5000) {
        core::clock().update();
        const core::Msec deadline = core::clock().msec() + limit_ms;
        while (!done()) {
            core::clock().update();
            if (core::clock().msec() > deadline) {
                return false;
            }
            // Bound each turn so that a test waiting on a condition outside the
            // loop (another thread) still gets to check it.
            event::Event tick;
            tick.handler = [](event::Event*) {};
            loop_->add_timer(&tick, 20);
            loop_->process_events_and_timers();
            loop_->del_timer(&tick);
        }
        return true;
    }

    CapturedLog captured_;
    event::LoopConfig config_;
    std::unique_ptr<event::Loop> loop_;
};

// A connected pair of non-blocking unix stream sockets.
inline void socket_pair(int fds[2]) {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
}

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
    return info.param;
}

}  // namespace evs::test

#define EVS_INSTANTIATE_FOR_EACH_BACKEND(suite)                                   \
    INSTANTIATE_TEST_SUITE_P(Backends, suite, ::testing::Values("epoll", "poll"), \
                             ::evs::test::backend_name)

// Helpers for the accept, connect and pool tests: loopback sockets on both sides of
// a Listening, and clean-up that leaves no descriptor behind for the next test.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <chrono>
#include <thread>
#include <utility>

#include "event/listening.hpp"
#include "os/address.hpp"

namespace evs::test {

// A descriptor closed when it goes out of scope.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        reset(std::exchange(other.fd_, -1));
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// A Listening on 127.0.0.1 with a port the kernel chose, closed when it goes out of
// scope. Tests check `ls.fd >= 0` before using it.
struct LoopbackListening {
    explicit LoopbackListening(event::Listening::ConnectionHandler handler = nullptr,
                               void* data = nullptr) {
        ls.handler = handler;
        ls.data = data;
        EXPECT_TRUE(os::SocketAddress::parse("127.0.0.1:0", 0, &ls.address));
        const char* failed_call = "";
        const auto opened = event::open_listening(&ls, &failed_call);
        EXPECT_TRUE(opened.ok()) << failed_call << " failed: errno " << opened.error();
    }
    ~LoopbackListening() {
        if (ls.fd >= 0) {
            event::close_listening(&ls);
        }
    }
    LoopbackListening(const LoopbackListening&) = delete;
    LoopbackListening& operator=(const LoopbackListening&) = delete;

    event::Listening ls;
};

// A TCP connection to `address`, made with a blocking connect() (on loopback it
// completes in the listener's accept queue, before anyone calls accept), then
// switched to non-blocking. -1 on failure.
inline int connect_client(const os::SocketAddress& address) {
    const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (::connect(fd, address.get(), address.length) < 0 ||
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// How many connections wait in a TCP listener's accept queue (for a listening
// socket, TCP_INFO reports the queue length in tcpi_unacked); -1 on failure.
inline int accept_queue_length(int listen_fd) {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (::getsockopt(listen_fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) {
        return -1;
    }
    return static_cast<int>(info.tcpi_unacked);
}

// Waits (outside any loop) until `count` connections wait in the accept queue.
inline bool wait_accept_queue(int listen_fd, int count, int limit_ms = 2000) {
    for (int waited = 0; waited < limit_ms; ++waited) {
        if (accept_queue_length(listen_fd) >= count) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return accept_queue_length(listen_fd) >= count;
}

// Whether the peer of the non-blocking socket `fd` has closed it (end of stream or
// a reset) within `limit_ms`. Unread data in front of the end counts as "not closed".
inline bool peer_closed(int fd, int limit_ms = 2000) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, limit_ms) <= 0) {
        return false;
    }
    char byte;
    const ssize_t n = ::recv(fd, &byte, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
}

// Closes every connection still open in `loop`'s pool, listeners (shared) apart, so
// that a test leaves no descriptor behind.
inline void close_open_connections(event::Loop& loop) {
    event::ConnectionPool& pool = loop.pool();
    for (std::uint32_t i = 0; i < pool.capacity(); ++i) {
        event::Connection* c = pool.slot(i);
        if (c->fd != -1 && !c->shared) {
            loop.close_connection(c);
        }
    }
}

}  // namespace evs::test
