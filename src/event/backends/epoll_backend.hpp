#pragma once

// EpollBackend: edge-triggered epoll with the semantics of nginx's epoll module.
//
// - Read is EPOLLIN|EPOLLRDHUP, write is EPOLLOUT, edge is EPOLLET. Adding one
//   direction while the other is registered is EPOLL_CTL_MOD with both masks;
//   otherwise EPOLL_CTL_ADD (epoll keeps one registration per fd, so which call is
//   right depends on the *other* direction's `active` flag).
// - add_conn registers IN|OUT|ET|RDHUP once for the connection's whole life.
// - del with k_close_event makes no syscall: closing the fd removes it.
// - A change list (libev's fd_change / fd_reify, for removals): del() only records
//   that a direction is no longer wanted; the net change of each recorded fd is applied
//   at the start of process_events, before the wait (one DEL or MOD, or nothing when an
//   add() took the direction back). An add() that the kernel's registration already
//   covers makes no call; any other add() is applied at once, so that its errors reach
//   the caller as before. Details, and why adds are not deferred, in epoll_changes.cpp.
// - The event's 64-bit data packs the slot index and the slot's generation; an
//   event whose slot now has another generation, or fd -1, is stale and dropped.
// - ERR and HUP are delivered as IN|OUT so that an active handler sees the error
//   on its next read or write; RDHUP sets pending_eof.
// - With k_post_events, events go to the posted accept queue (listening sockets)
//   or the posted queue instead of running.
// - EPOLLRDHUP support is probed at init with a socketpair.
// Thread: the loop's thread, except notify().

#include <sys/epoll.h>

#include <vector>

#include "event/backends/backend.hpp"
#include "event/notify.hpp"

namespace evs::event {

class EpollBackend final : public Backend {
public:
    explicit EpollBackend(Loop& loop) : Backend(loop) {}
    ~EpollBackend() override { done(); }

    const char* name() const override { return "epoll"; }
    core::Status init() override;
    void done() override;
    core::Status add(Event* ev, unsigned flags) override;
    core::Status del(Event* ev, unsigned flags) override;
    core::Status add_conn(Connection* c) override;
    core::Status del_conn(Connection* c, unsigned flags) override;
    void release_conn(Connection* c, unsigned flags) override;
    core::Status notify() override { return notify_.wake(); }
    core::Status process_events(core::Msec timer, unsigned flags) override;

    // epoll_ctl() calls made so far, by operation (EPOLL_CTL_ADD, _DEL, _MOD: 1, 2, 3):
    // a counting seam for the change-list tests, and one increment per call.
    std::uint64_t ctl_calls(int op) const { return ctl_calls_[op & 3]; }
    // Connections with a recorded change not yet applied (tests).
    std::size_t pending_changes() const { return changes_.size(); }

private:
    // What the kernel holds for one slot's fd (indexed by Connection::index).
    struct Registration {
        std::uint32_t events = 0;      // the mask last given to epoll_ctl (0: none)
        std::uint32_t generation = 0;  // the slot's user it was registered for
        std::uint8_t queued = 0;       // in changes_
        std::uint8_t dropped = 0;      // deleted during dispatch: an edge may have been dropped
    };

    bool probe_rdhup();
    core::Status control(int op, Connection* c, std::uint32_t events);
    template <bool Post>
    void dispatch(int n);

    // The change list (epoll_changes.cpp).
    Registration& registration(Connection* c);
    std::uint32_t wanted(const Connection* c, bool exclusive) const;
    core::Status want(Connection* c, bool exclusive, bool ready);
    core::Status sync(Connection* c, Registration& r, std::uint32_t events);
    void queue(Connection* c, Registration& r);
    void apply_changes();

    int ep_ = -1;
    std::vector<epoll_event> events_;
    std::vector<Registration> registrations_;
    std::vector<Connection*> changes_;
    std::uint64_t ctl_calls_[4] = {};
    bool dispatching_ = false;
    NotifyChannel notify_;
};

}  // namespace evs::event
