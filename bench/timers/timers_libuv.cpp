// 10M timers on libuv, as its own benchmark-million-timers: an array of
// uv_timer_t, each uv_timer_init + uv_timer_start (a binary min-heap of nodes
// embedded in the handles).

#include <uv.h>

#include <cstdlib>

#include "timers/timers_bench.hpp"

namespace evs::bench {
namespace {

class LibuvTimers final : public TimerEngine {
public:
    const char* name() const override { return "libuv"; }

    bool start_all(std::size_t count) override {
        timers_ = static_cast<uv_timer_t*>(std::malloc(count * sizeof(uv_timer_t)));
        if (timers_ == nullptr || uv_loop_init(&loop_) != 0) {
            return false;
        }
        for (std::size_t i = 0; i < count; ++i) {
            if (uv_timer_init(&loop_, &timers_[i]) != 0 ||
                uv_timer_start(&timers_[i], on_timer, timeout_ms(i), 0) != 0) {
                return false;
            }
        }
        return true;
    }

    void run() override { uv_run(&loop_, UV_RUN_DEFAULT); }

private:
    static void on_timer(uv_timer_t* /*timer*/) { ++g_timers_fired; }

    uv_loop_t loop_{};
    uv_timer_t* timers_ = nullptr;
};

}  // namespace

std::unique_ptr<TimerEngine> make_timer_engine() {
    return std::make_unique<LibuvTimers>();
}

}  // namespace evs::bench
