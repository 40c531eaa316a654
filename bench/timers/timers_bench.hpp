#pragma once

// libuv's benchmark-million-timers, at 10 million: a timer handle each, the
// timeout starting at 1 ms and growing by 1 ms every 1000 timers (so the last
// ones fire after 10 s), all started, then the loop runs until every one has fired.
// One program per library, each in its own process, so that its peak RSS is its
// own; the driver (timers_bench.cpp) times the phases and reports the process's
// CPU time (user + system, including the page faults of its allocations) and
// ru_maxrss.
// Thread: single-threaded.

#include <cstddef>
#include <cstdint>
#include <memory>

namespace evs::bench {

// What each library provides.
class TimerEngine {
public:
    virtual ~TimerEngine() = default;
    virtual const char* name() const = 0;
    // Allocates `count` timers and starts them with timeout_ms(i).
    virtual bool start_all(std::size_t count) = 0;
    // Runs the loop until every timer has fired.
    virtual void run() = 0;
};

std::unique_ptr<TimerEngine> make_timer_engine();

// libuv's schedule: 1 ms for the first 1000 timers, 2 ms for the next 1000, ...
inline std::uint32_t timeout_ms(std::size_t i) {
    return static_cast<std::uint32_t>(i / 1000 + 1);
}

// Timer callbacks count here; the driver checks that every timer fired once.
extern std::size_t g_timers_fired;

}  // namespace evs::bench
