// 10M timers on libevent 2: an array of struct event, each evtimer_assign +
// evtimer_add (libevent keeps them in a binary min-heap of pointers).

#include <event2/event.h>
#include <event2/event_struct.h>

#include <cstdlib>

#include "timers/timers_bench.hpp"

namespace evs::bench {
namespace {

class LibeventTimers final : public TimerEngine {
public:
    const char* name() const override { return "libevent"; }

    bool start_all(std::size_t count) override {
        base_ = event_base_new();
        timers_ = static_cast<event*>(std::malloc(count * sizeof(event)));
        if (base_ == nullptr || timers_ == nullptr) {
            return false;
        }
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint32_t ms = timeout_ms(i);
            const timeval tv{static_cast<time_t>(ms / 1000),
                             static_cast<suseconds_t>((ms % 1000) * 1000)};
            evtimer_assign(&timers_[i], base_, on_timer, nullptr);
            evtimer_add(&timers_[i], &tv);
        }
        return true;
    }

    void run() override { event_base_dispatch(base_); }

private:
    static void on_timer(evutil_socket_t /*fd*/, short /*what*/, void* /*arg*/) {
        ++g_timers_fired;
    }

    event_base* base_ = nullptr;
    event* timers_ = nullptr;
};

}  // namespace

std::unique_ptr<TimerEngine> make_timer_engine() {
    return std::make_unique<LibeventTimers>();
}

}  // namespace evs::bench
