// timers_example: the loop's timers on their own, with no descriptor to watch.
//
// A periodic timer ticks every 100 ms and re-arms itself from its handler; the second
// tick arms a one-shot for 50 ms later; a third timer, due at 350 ms, is cancelled by
// the first tick and never fires. After the fifth tick the loop stops and the program
// exits 0. Expected output (the milliseconds may run a little late, never early):
//
//   tick 1 at 100 ms
//   cancelled the timer due at 350 ms
//   tick 2 at 200 ms
//   one-shot at 250 ms
//   tick 3 at 300 ms
//   tick 4 at 400 ms
//   tick 5 at 500 ms, stopping

#include <cstdio>
#include <initializer_list>

#include "event/loop.hpp"

namespace {

using namespace evs::event;

// An Event is a plain struct: the handler finds everything it needs through `data`.
struct Timers {
    Loop* loop = nullptr;
    evs::core::Msec start = 0;
    int ticks = 0;
    Event periodic;
    Event one_shot;
    Event cancelled;

    unsigned long long elapsed() const { return loop->time().msec() - start; }
};

Timers* timers_of(Event* ev) {
    return static_cast<Timers*>(ev->data);
}

void on_tick(Event* ev) {
    Timers* t = timers_of(ev);
    ev->timedout = 0;  // the wheel sets it before calling us; the handler clears it
    ++t->ticks;
    if (t->ticks == 5) {
        std::printf("tick %d at %llu ms, stopping\n", t->ticks, t->elapsed());
        t->loop->stop();  // no timer left to wait for: run() returns after this turn
        return;
    }
    std::printf("tick %d at %llu ms\n", t->ticks, t->elapsed());
    if (t->ticks == 1) {
        t->loop->del_timer(&t->cancelled);
        std::printf("cancelled the timer due at 350 ms\n");
    }
    // Both delays count from this same moment, so the one-shot (+50) comes before the
    // next tick (+100) however late this tick runs: the order of the output never
    // depends on how busy the machine is. Lateness does accumulate across ticks; a
    // drift-free ticker would compute its delay from `start` instead.
    if (t->ticks == 2) {
        t->loop->add_timer(&t->one_shot, 50);
    }
    t->loop->add_timer(ev, 100);
}

}  // namespace

int main() {
    // stdout may be a pipe (the test reads it): flush each line as it is printed.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    evs::core::Log log(2, evs::core::LogLevel::warn);
    LoopConfig config;
    config.connections = 16;  // no connections here, but the loop always has a pool
    Loop loop(config, log);
    if (loop.init() != evs::core::Status::ok) {
        return 1;
    }

    Timers t;
    t.loop = &loop;
    t.start = loop.time().msec();
    for (Event* ev : {&t.periodic, &t.one_shot, &t.cancelled}) {
        ev->data = &t;
    }
    t.periodic.handler = on_tick;
    t.one_shot.handler = [](Event* ev) {
        std::printf("one-shot at %llu ms\n", timers_of(ev)->elapsed());
    };
    t.cancelled.handler = [](Event*) { std::printf("the cancelled timer fired: a bug\n"); };
    loop.add_timer(&t.periodic, 100);
    loop.add_timer(&t.cancelled, 350);  // the one-shot is armed by the second tick
    loop.run();
    return t.ticks == 5 && loop.timer_count() == 0 ? 0 : 1;
}
