// 10M timers on libev: an array of ev_timer, each ev_timer_init + ev_timer_start
// (libev keeps them in a 4-ary heap with the deadline cached beside each pointer).

#include <ev.h>

#include <cstdlib>

#include "timers/timers_bench.hpp"

namespace evs::bench {
namespace {

class LibevTimers final : public TimerEngine {
public:
    const char* name() const override { return "libev"; }

    bool start_all(std::size_t count) override {
        loop_ = ev_loop_new(EVBACKEND_EPOLL);
        timers_ = static_cast<ev_timer*>(std::malloc(count * sizeof(ev_timer)));
        if (loop_ == nullptr || timers_ == nullptr) {
            return false;
        }
        for (std::size_t i = 0; i < count; ++i) {
            ev_timer_init(&timers_[i], on_timer, timeout_ms(i) / 1000.0, 0.);
            ev_timer_start(loop_, &timers_[i]);
        }
        return true;
    }

    void run() override { ev_run(loop_, 0); }

private:
    static void on_timer(struct ev_loop* /*loop*/, ev_timer* /*timer*/, int /*revents*/) {
        ++g_timers_fired;
    }

    struct ev_loop* loop_ = nullptr;
    ev_timer* timers_ = nullptr;
};

}  // namespace

std::unique_ptr<TimerEngine> make_timer_engine() {
    return std::make_unique<LibevTimers>();
}

}  // namespace evs::bench
