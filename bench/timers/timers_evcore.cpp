// 10M timers on evcore: an array of plain Events, each armed with Loop::add_timer.
// An Event is the whole timer (the wheel links it through its intrusive node), so
// the array is all the memory there is besides the wheel's 4 x 256 list heads.

#include <memory>

#include "core/log.hpp"
#include "event/loop.hpp"
#include "timers/timers_bench.hpp"

namespace evs::bench {
namespace {

using event::Event;

class EvcoreTimers final : public TimerEngine {
public:
    const char* name() const override { return "evcore"; }

    bool start_all(std::size_t count) override {
        event::LoopConfig config;
        config.backend = "epoll";
        config.connections = 16;
        loop_ = std::make_unique<event::Loop>(config, log_);
        if (loop_->init() != core::Status::ok) {
            return false;
        }
        timers_ = std::make_unique<Event[]>(count);
        for (std::size_t i = 0; i < count; ++i) {
            timers_[i].handler = on_timer;
            loop_->add_timer(&timers_[i], timeout_ms(i));
        }
        return true;
    }

    void run() override {
        while (loop_->timer_count() > 0) {
            loop_->process_events_and_timers();
        }
    }

private:
    static void on_timer(Event* /*ev*/) { ++g_timers_fired; }

    core::Log log_{2, core::LogLevel::error};
    std::unique_ptr<event::Loop> loop_;
    std::unique_ptr<Event[]> timers_;
};

}  // namespace

std::unique_ptr<TimerEngine> make_timer_engine() {
    return std::make_unique<EvcoreTimers>();
}

}  // namespace evs::bench
