// The pipes benchmark on libuv: a uv_poll_t per socket (libuv's way to watch a
// descriptor it does not read itself) and, for the idle timeout, a uv_timer_t per
// socket restarted with uv_timer_start on every read.

#include <uv.h>

#include <vector>

#include "event/pipe_bench.hpp"

namespace evs::bench {
namespace {

struct Handles {
    uv_poll_t poll;
    uv_timer_t idle;
};

std::vector<Handles> handles;

class LibuvEngine final : public Engine {
public:
    ~LibuvEngine() override {
        // Handles must be closed, and the close callbacks run, before the loop
        // can be closed.
        for (Handles& h : handles) {
            uv_close(reinterpret_cast<uv_handle_t*>(&h.poll), nullptr);
            uv_close(reinterpret_cast<uv_handle_t*>(&h.idle), nullptr);
        }
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
    }

    const char* name() const override { return "libuv"; }

    bool init() override {
        if (uv_loop_init(&loop_) != 0) {
            return false;
        }
        handles.resize(g_bench.pipes.size());
        for (std::size_t i = 0; i < handles.size(); ++i) {
            Handles& h = handles[i];
            if (uv_poll_init(&loop_, &h.poll, g_bench.pipes[i].read_fd) != 0 ||
                uv_timer_init(&loop_, &h.idle) != 0) {
                return false;
            }
            h.poll.data = reinterpret_cast<void*>(i);
            h.idle.data = reinterpret_cast<void*>(i);
        }
        return true;
    }

    void arm() override {
        for (std::size_t i = 0; i < handles.size(); ++i) {
            uv_poll_start(&handles[i].poll, UV_READABLE, on_read);
            if (g_bench.timeouts) {
                uv_timer_start(&handles[i].idle, on_idle, g_bench.timeout_ms[i], 0);
            }
        }
    }

    void disarm() override {
        for (Handles& h : handles) {
            uv_poll_stop(&h.poll);
            uv_timer_stop(&h.idle);
        }
    }

    void run_once() override { uv_run(&loop_, UV_RUN_ONCE); }

private:
    static void on_read(uv_poll_t* poll, int status, int /*events*/) {
        const auto idx = reinterpret_cast<std::size_t>(poll->data);
        if (status < 0) {
            ++g_bench.failures;
            return;
        }
        ++g_bench.callbacks;
        if (!read_one(g_bench.pipes[idx].read_fd)) {
            return;
        }
        if (g_bench.timeouts) {
            uv_timer_start(&handles[idx].idle, on_idle, g_bench.timeout_ms[idx], 0);
        }
        transfer(idx);
    }

    static void on_idle(uv_timer_t* timer) {
        const auto idx = reinterpret_cast<std::size_t>(timer->data);
        ++g_bench.timeouts_fired;
        uv_timer_start(timer, on_idle, g_bench.timeout_ms[idx], 0);
    }

    uv_loop_t loop_{};
};

}  // namespace

std::unique_ptr<Engine> make_engine() {
    return std::make_unique<LibuvEngine>();
}

}  // namespace evs::bench
