// The pipes benchmark on libev (EVBACKEND_EPOLL), as its author's variant of
// bench.c: an ev_io per socket and, for the idle timeout, an ev_timer per socket
// restarted with ev_timer_again on every read (the inactivity-timeout idiom of
// libev's manual, "be smart about timeouts", method 2).

#include <ev.h>

#include <vector>

#include "event/pipe_bench.hpp"

namespace evs::bench {
namespace {

struct Watchers {
    ev_io io;
    ev_timer idle;
};

std::vector<Watchers> watchers;

class LibevEngine final : public Engine {
public:
    ~LibevEngine() override {
        if (loop_ != nullptr) {
            disarm();
            ev_loop_destroy(loop_);
        }
    }

    const char* name() const override { return "libev"; }

    bool init() override {
        loop_ = ev_loop_new(EVBACKEND_EPOLL);
        if (loop_ == nullptr || ev_backend(loop_) != EVBACKEND_EPOLL) {
            return false;
        }
        watchers.resize(g_bench.pipes.size());
        for (std::size_t i = 0; i < watchers.size(); ++i) {
            Watchers& w = watchers[i];
            ev_io_init(&w.io, on_read, g_bench.pipes[i].read_fd, EV_READ);
            w.io.data = reinterpret_cast<void*>(i);
            ev_init(&w.idle, on_idle);
            w.idle.repeat = g_bench.timeout_ms[i] / 1000.0;
        }
        return true;
    }

    void arm() override {
        for (Watchers& w : watchers) {
            ev_io_start(loop_, &w.io);
            if (g_bench.timeouts) {
                ev_timer_again(loop_, &w.idle);
            }
        }
    }

    void disarm() override {
        for (Watchers& w : watchers) {
            ev_io_stop(loop_, &w.io);
            ev_timer_stop(loop_, &w.idle);
        }
    }

    void run_once() override { ev_run(loop_, EVRUN_ONCE); }

private:
    static void on_read(struct ev_loop* loop, ev_io* io, int /*revents*/) {
        const auto idx = reinterpret_cast<std::size_t>(io->data);
        ++g_bench.callbacks;
        if (!read_one(io->fd)) {
            return;
        }
        if (g_bench.timeouts) {
            ev_timer_again(loop, &watchers[idx].idle);
        }
        transfer(idx);
    }

    static void on_idle(struct ev_loop* loop, ev_timer* timer, int /*revents*/) {
        ++g_bench.timeouts_fired;
        ev_timer_again(loop, timer);
    }

    struct ev_loop* loop_ = nullptr;
};

}  // namespace

std::unique_ptr<Engine> make_engine() {
    return std::make_unique<LibevEngine>();
}

}  // namespace evs::bench
