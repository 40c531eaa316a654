#pragma once

// Backend: how a loop asks the kernel about readiness. This is nginx's event
// actions table (ngx_event_actions_t) as an interface, chosen at run time by the
// `use` directive: epoll (edge-triggered, the default), poll (a level-triggered
// fallback) and, later, io_uring.
//
//   add / del        register or drop one direction of a connection (ev->write says
//                    which); `flags` carry k_clear (edge), k_level, k_exclusive, and
//                    for del k_close (the fd is about to be closed: no syscall needed
//                    where closing the fd unregisters it, as with epoll).
//   enable / disable the same for backends that have no cheaper toggle.
//   add_conn / del_conn  both directions at once (epoll: one EPOLL_CTL_ADD of
//                    IN|OUT|ET|RDHUP for the connection's whole life).
//   release_conn     the slot is about to be freed: a backend that defers changes
//                    (epoll's change list) drops them when k_close_event says the fd
//                    is about to be closed and nothing else holds it, and applies them
//                    at once otherwise (a shared fd: closing ours would not remove it).
//   notify           wakes the loop from any thread (an eventfd write); the loop
//                    then runs the Notifications that were signalled.
//   process_events   waits up to `timer` ms and dispatches: each ready event's
//                    handler runs at once, or with k_post_events goes to the posted
//                    accept or posted queue. Events of a stale user of a slot are
//                    dropped. With k_update_time the time cache is refreshed after
//                    the wait.
//   init / done      set up and tear down (epoll_create, the RDHUP probe, ...).
//
// Capabilities say what the backend is; callers branch on them (as nginx's
// ngx_event_flags), never on the backend's name.
// Thread: the loop's thread, except notify(), which any thread may call.

#include <cstdint>

#include "core/status.hpp"
#include "core/time_cache.hpp"

namespace evs::event {

class Loop;
struct Connection;
struct Event;

// Flags for add/del/enable/disable.
inline constexpr unsigned k_close_event = 0x1;
inline constexpr unsigned k_clear_event = 0x2;  // edge-triggered
inline constexpr unsigned k_level_event = 0x4;
inline constexpr unsigned k_exclusive_event = 0x8;  // EPOLLEXCLUSIVE (listening sockets)

// Flags for process_events.
inline constexpr unsigned k_update_time = 0x1;
inline constexpr unsigned k_post_events = 0x2;

// Capabilities.
inline constexpr unsigned k_use_clear = 0x1;       // edge-triggered: add once, read to EAGAIN
inline constexpr unsigned k_use_level = 0x2;       // level-triggered: remove while ready
inline constexpr unsigned k_use_add_conn = 0x4;    // add_conn registers both directions
inline constexpr unsigned k_use_rdhup = 0x8;       // reports a peer's shutdown (pending_eof)
inline constexpr unsigned k_use_exclusive = 0x10;  // EPOLLEXCLUSIVE available

inline constexpr core::Msec k_timer_infinite = ~core::Msec{0};

class Backend {
public:
    virtual ~Backend() = default;

    virtual const char* name() const = 0;
    unsigned capabilities() const { return capabilities_; }

    virtual core::Status init() = 0;
    virtual void done() = 0;

    virtual core::Status add(Event* ev, unsigned flags) = 0;
    virtual core::Status del(Event* ev, unsigned flags) = 0;
    virtual core::Status enable(Event* ev, unsigned flags) { return add(ev, flags); }
    virtual core::Status disable(Event* ev, unsigned flags) { return del(ev, flags); }
    virtual core::Status add_conn(Connection* c) = 0;
    virtual core::Status del_conn(Connection* c, unsigned flags) = 0;
    virtual void release_conn(Connection* /*c*/, unsigned /*flags*/) {}
    virtual core::Status notify() = 0;
    virtual core::Status process_events(core::Msec timer, unsigned flags) = 0;

protected:
    explicit Backend(Loop& loop) : loop_(loop) {}
    Loop& loop_;
    unsigned capabilities_ = 0;
};

}  // namespace evs::event
