#pragma once

// PollBackend: a level-triggered fallback over poll(2), passing the same test suite
// as epoll. Level-triggered means an event that is ready is reported on every wait,
// so Loop::handle_read_event() unregisters a ready event until its handler has
// drained it (nginx's NGX_USE_LEVEL_EVENT). The pollfd array holds one entry per
// fd; a parallel array remembers each entry's slot and generation, and readiness
// is collected before any handler runs, so handlers may add or remove entries and
// stale events are dropped exactly as with epoll.
// Thread: the loop's thread, except notify().

#include <poll.h>

#include <cstdint>
#include <vector>

#include "event/backends/backend.hpp"
#include "event/notify.hpp"

namespace evs::event {

class PollBackend final : public Backend {
public:
    explicit PollBackend(Loop& loop) : Backend(loop) {}
    ~PollBackend() override { done(); }

    const char* name() const override { return "poll"; }
    core::Status init() override;
    void done() override;
    core::Status add(Event* ev, unsigned flags) override;
    core::Status del(Event* ev, unsigned flags) override;
    core::Status add_conn(Connection* c) override;
    core::Status del_conn(Connection* c, unsigned flags) override;
    core::Status notify() override { return notify_.wake(); }
    core::Status process_events(core::Msec timer, unsigned flags) override;

private:
    struct Owner {
        std::uint32_t index;
        std::uint32_t generation;
    };
    struct Ready {
        Owner owner;
        short revents;
    };

    std::vector<pollfd> fds_;
    std::vector<Owner> owners_;  // parallel to fds_
    std::vector<int> position_;  // fd -> index in fds_, or -1
    std::vector<Ready> ready_;
    NotifyChannel notify_;
};

}  // namespace evs::event
