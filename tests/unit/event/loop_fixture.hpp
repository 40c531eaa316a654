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
