#pragma once

// EpollBackend: edge-triggered epoll with the semantics of nginx's epoll module.
//
// - Read is EPOLLIN|EPOLLRDHUP, write is EPOLLOUT, edge is EPOLLET. Adding one
//   direction while the other is registered is EPOLL_CTL_MOD with both masks;
//   otherwise EPOLL_CTL_ADD (epoll keeps one registration per fd, so which call is
//   right depends on the *other* direction's `active` flag).
// - add_conn registers IN|OUT|ET|RDHUP once for the connection's whole life.
// - del with k_close_event makes no syscall: closing the fd removes it.
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
    core::Status notify() override { return notify_.wake(); }
    core::Status process_events(core::Msec timer, unsigned flags) override;

private:
    bool probe_rdhup();
    core::Status control(int op, Connection* c, std::uint32_t events);
    template <bool Post>
    void dispatch(int n);

    int ep_ = -1;
    std::vector<epoll_event> events_;
    NotifyChannel notify_;
};

}  // namespace evs::event
