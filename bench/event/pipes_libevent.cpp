// The pipes benchmark on libevent 2 (its default epoll backend), as its own
// test/bench.c: one persistent read event per socket, in an array (event_assign),
// and the idle timeout given to event_add; libevent refreshes a persistent
// event's timeout on every activation, so the callback need not.

#include <event2/event.h>
#include <event2/event_struct.h>

#include <cstring>
#include <vector>

#include "event/pipe_bench.hpp"

namespace evs::bench {
namespace {

// As bench.c's global array: the callback finds its event by the pipe index.
std::vector<event> events;

timeval to_timeval(std::uint32_t ms) {
    return {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

class LibeventEngine final : public Engine {
public:
    ~LibeventEngine() override {
        if (base_ != nullptr) {
            disarm();
            event_base_free(base_);
        }
    }

    const char* name() const override { return "libevent"; }

    bool init() override {
        base_ = event_base_new();
        if (base_ == nullptr || std::strcmp(event_base_get_method(base_), "epoll") != 0) {
            return false;
        }
        events.resize(g_bench.pipes.size());
        return true;
    }

    void arm() override {
        for (std::size_t i = 0; i < events.size(); ++i) {
            // As bench.c's event_set before each event_add. It matters here: a
            // persistent event keeps the timeout of an earlier event_add across
            // event_del and event_add(NULL), and would re-arm it after every read.
            event_assign(&events[i], base_, g_bench.pipes[i].read_fd, EV_READ | EV_PERSIST, on_read,
                         reinterpret_cast<void*>(i));
            if (g_bench.timeouts) {
                const timeval tv = to_timeval(g_bench.timeout_ms[i]);
                event_add(&events[i], &tv);
            } else {
                event_add(&events[i], nullptr);
            }
        }
    }

    void disarm() override {
        for (event& ev : events) {
            event_del(&ev);
        }
    }

    void run_once() override { event_base_loop(base_, EVLOOP_ONCE); }

private:
    static void on_read(evutil_socket_t fd, short what, void* arg) {
        const auto idx = reinterpret_cast<std::size_t>(arg);
        if (what & EV_TIMEOUT) {
            // A persistent event with a timeout re-arms itself after firing.
            ++g_bench.timeouts_fired;
            return;
        }
        ++g_bench.callbacks;
        // No event_add here for the idle timeout: libevent 2 re-arms a persistent
        // event's timeout itself, from now, each time the event becomes active.
        if (read_one(fd)) {
            transfer(idx);
        }
    }

    event_base* base_ = nullptr;
};

}  // namespace

std::unique_ptr<Engine> make_engine() {
    return std::make_unique<LibeventEngine>();
}

}  // namespace evs::bench
