#pragma once

// Event: one direction of readiness (a connection's read or write side), or a
// timer, or a posted callback. A plain struct, as nginx's ngx_event_t: a handler,
// the owner in `data`, bit flags, and two intrusive nodes (timer wheel slot, posted
// queue), so that arming a timer or posting never allocates.
//
// Ownership: an Event is owned by whoever embeds it (a Connection embeds its read
// and write events); the loop only links it into its timer wheel and posted queues,
// and the owner must remove it from both (Loop::cancel) before freeing it.
// Thread: only the thread running the owning Loop touches an Event.

#include <cstddef>
#include <cstdint>

#include "core/list.hpp"

namespace evs::event {

struct Event;
using EventHandler = void (*)(Event* ev);

struct Event {
    // The fields dispatch touches come first, with the flags, so that one cache
    // line serves an event's delivery; the list nodes follow, the timer node first:
    // an idle timeout refreshed per read then stays in the connection's first line
    // (see Connection), while the posted node, used far less, may spill over.
    void* data = nullptr;  // the owner: a Connection for I/O events
    EventHandler handler = nullptr;
    std::uint32_t deadline = 0;  // 32-bit msec; compared wraparound-safe

    // Flags, as nginx's. `active`: registered with the backend. `ready`: the
    // backend reported readiness and the handler has not yet seen EAGAIN.
    std::uint32_t write : 1 = 0;
    std::uint32_t accept : 1 = 0;  // a listening socket's read event
    std::uint32_t active : 1 = 0;
    std::uint32_t ready : 1 = 0;
    std::uint32_t eof : 1 = 0;
    std::uint32_t pending_eof : 1 = 0;  // EPOLLRDHUP seen: the peer shut down writing
    std::uint32_t error : 1 = 0;
    std::uint32_t timedout : 1 = 0;
    std::uint32_t timer_set : 1 = 0;
    std::uint32_t posted : 1 = 0;
    std::uint32_t closed : 1 = 0;
    std::uint32_t complete : 1 = 0;    // an asynchronous operation finished
    std::uint32_t cancelable : 1 = 0;  // a graceful shutdown need not wait for this timer
    std::uint32_t available : 1 = 0;   // more data may be readable without waiting
    std::uint32_t delayed : 1 = 0;
    std::uint32_t edge : 1 = 0;  // registered edge-triggered (kept across EPOLL_CTL_MOD)

    core::ListNode timer_node;   // in a timer-wheel slot while timer_set
    core::ListNode posted_node;  // in a posted queue while posted

    static Event* from_timer_node(core::ListNode* node) {
        return core::owner_of<Event>(node, offsetof(Event, timer_node));
    }
    static Event* from_posted_node(core::ListNode* node) {
        return core::owner_of<Event>(node, offsetof(Event, posted_node));
    }
};

}  // namespace evs::event
