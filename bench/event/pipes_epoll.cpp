// The floor: a bare edge-triggered epoll loop written for this benchmark, with
// nothing an event library adds (no slot lookup, no stale-event check, no posted
// queues, no timer structure). The pipe index is the epoll data. Like evcore it
// drains the socket on each edge and hands leftover bytes (only when chains
// collide) to further callbacks after the batch.
//
// Its idle timeout is the cheapest one that still works: a deadline per pipe,
// refreshed by a store, and a sweep of all deadlines once a second (the epoll_wait
// timeout bounds the wait by the next sweep). With timeouts the clock is read once
// per wait, as every library here does on every wait.

#include <sys/epoll.h>
#include <unistd.h>

#include <ctime>
#include <deque>
#include <vector>

#include "event/pipe_bench.hpp"

namespace evs::bench {
namespace {

std::int64_t coarse_msec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

class EpollEngine final : public Engine {
public:
    ~EpollEngine() override {
        if (ep_ >= 0) {
            ::close(ep_);
        }
    }

    const char* name() const override { return "epoll"; }

    bool init() override {
        ep_ = ::epoll_create1(EPOLL_CLOEXEC);
        pending_.assign(g_bench.pipes.size(), 0);
        deadlines_.assign(g_bench.pipes.size(), 0);
        armed_.assign(g_bench.pipes.size(), false);
        now_ = coarse_msec();
        next_sweep_ = now_ + 1000;
        return ep_ >= 0;
    }

    void arm() override {
        now_ = coarse_msec();
        next_sweep_ = now_ + 1000;
        for (std::size_t i = 0; i < g_bench.pipes.size(); ++i) {
            epoll_event ee{};
            ee.events = EPOLLIN | EPOLLET;
            ee.data.u64 = i;
            ::epoll_ctl(ep_, EPOLL_CTL_ADD, g_bench.pipes[i].read_fd, &ee);
            armed_[i] = true;
            if (g_bench.timeouts) {
                deadlines_[i] = now_ + g_bench.timeout_ms[i];
            }
        }
    }

    void disarm() override {
        for (std::size_t i = 0; i < g_bench.pipes.size(); ++i) {
            ::epoll_ctl(ep_, EPOLL_CTL_DEL, g_bench.pipes[i].read_fd, nullptr);
            armed_[i] = false;
        }
    }

    void run_once() override {
        int timeout = -1;
        if (g_bench.timeouts) {
            timeout = next_sweep_ > now_ ? static_cast<int>(next_sweep_ - now_) : 0;
        }
        const int n = ::epoll_wait(ep_, events_, k_max_events, timeout);
        if (g_bench.timeouts) {
            now_ = coarse_msec();
        }
        for (int i = 0; i < n; ++i) {
            const auto idx = static_cast<std::size_t>(events_[i].data.u64);
            pending_[idx] += drain(g_bench.pipes[idx].read_fd);
            on_byte(idx);
        }
        // Bytes left over by a collision, one per callback, until none is left.
        while (!posted_.empty()) {
            const std::size_t idx = posted_.front();
            posted_.pop_front();
            on_byte(idx);
        }
        if (g_bench.timeouts && now_ >= next_sweep_) {
            sweep();
        }
    }

private:
    void on_byte(std::size_t idx) {
        ++g_bench.callbacks;
        if (pending_[idx] == 0) {
            return;
        }
        --pending_[idx];
        if (g_bench.timeouts) {
            deadlines_[idx] = now_ + g_bench.timeout_ms[idx];
        }
        transfer(idx);
        if (pending_[idx] > 0) {
            posted_.push_back(idx);
        }
    }

    void sweep() {
        for (std::size_t i = 0; i < deadlines_.size(); ++i) {
            if (armed_[i] && deadlines_[i] <= now_) {
                ++g_bench.timeouts_fired;
                deadlines_[i] = now_ + g_bench.timeout_ms[i];
            }
        }
        next_sweep_ = now_ + 1000;
    }

    static constexpr int k_max_events = 512;  // as evcore's default epoll_events
    int ep_ = -1;
    epoll_event events_[k_max_events];
    std::vector<std::uint32_t> pending_;  // drained bytes not yet handed to a callback
    std::deque<std::size_t> posted_;
    std::vector<std::int64_t> deadlines_;
    std::vector<bool> armed_;
    std::int64_t now_ = 0;
    std::int64_t next_sweep_ = 0;
};

}  // namespace

std::unique_ptr<Engine> make_engine() {
    return std::make_unique<EpollEngine>();
}

}  // namespace evs::bench
