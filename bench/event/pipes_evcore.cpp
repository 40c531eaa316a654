// The pipes benchmark on evcore's epoll backend, written as an evcore user would:
// a connection slot per socket from the loop's pool, its read event registered
// edge-triggered, reads through evs::event::recv while the event is `ready` (recv
// knows, from EPOLLRDHUP support, that a short read drained the socket), the idle
// timeout on the read event itself with Loop::add_timer (re-arms within 300 ms are
// lazy, as nginx's), and leftover bytes handled by posting the event again.

#include <vector>

#include "core/log.hpp"
#include "event/io.hpp"
#include "event/loop.hpp"
#include "event/pipe_bench.hpp"

namespace evs::bench {
namespace {

using event::Connection;
using event::Event;

// Bytes drained from each socket and not yet handed to a callback (see drain()).
std::vector<std::uint32_t> pending;

class EvcoreEngine final : public Engine {
public:
    const char* name() const override { return "evcore"; }

    bool init() override {
        event::LoopConfig config;
        config.backend = "epoll";
        config.connections = g_bench.pipes.size() + 16;
        loop_ = std::make_unique<event::Loop>(config, log_);
        if (loop_->init() != core::Status::ok) {
            return false;
        }
        pending.assign(g_bench.pipes.size(), 0);
        for (std::size_t i = 0; i < g_bench.pipes.size(); ++i) {
            Connection* c = loop_->pool().get(g_bench.pipes[i].read_fd);
            if (c == nullptr) {
                return false;
            }
            c->data = reinterpret_cast<void*>(i);
            c->read.handler = on_read;
            connections_.push_back(c);
        }
        return true;
    }

    void arm() override {
        for (std::size_t i = 0; i < connections_.size(); ++i) {
            Event* rev = &connections_[i]->read;
            loop_->backend().add(rev, event::k_clear_event);
            if (g_bench.timeouts) {
                loop_->add_timer(rev, g_bench.timeout_ms[i]);
            }
        }
    }

    void disarm() override {
        for (Connection* c : connections_) {
            loop_->backend().del(&c->read, 0);
            loop_->del_timer(&c->read);
        }
    }

    void run_once() override { loop_->process_events_and_timers(); }

private:
    static void on_read(Event* rev) {
        Connection* c = event::connection_of(rev);
        const auto idx = reinterpret_cast<std::size_t>(c->data);
        ++g_bench.callbacks;
        if (rev->timedout) {
            rev->timedout = 0;
            ++g_bench.timeouts_fired;
            c->loop->add_timer(rev, g_bench.timeout_ms[idx]);
            return;
        }
        // `ready` is set when the backend reports an edge and cleared by recv() once
        // the socket is drained; a posted call finds it clear and reads nothing.
        char buf[64];
        while (rev->ready) {
            const ssize_t n = event::recv(c, buf, sizeof(buf));
            if (n > 0) {
                pending[idx] += static_cast<std::uint32_t>(n);
            } else if (n == event::k_io_error) {
                ++g_bench.failures;
            }
        }
        if (pending[idx] == 0) {
            return;
        }
        --pending[idx];
        if (g_bench.timeouts) {
            c->loop->add_timer(rev, g_bench.timeout_ms[idx]);
        }
        transfer(idx);
        if (pending[idx] > 0) {
            // One byte per callback: the rest in later callbacks of this turn.
            c->loop->post(rev);
        }
    }

    core::Log log_{2, core::LogLevel::error};
    std::unique_ptr<event::Loop> loop_;
    std::vector<Connection*> connections_;
};

}  // namespace

std::unique_ptr<Engine> make_engine() {
    return std::make_unique<EvcoreEngine>();
}

}  // namespace evs::bench
