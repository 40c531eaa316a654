#pragma once

// Connection: one slot of a loop's preallocated connection pool: a descriptor, its
// read and write events, and what the owner (HTTP, the echo example) hangs off it.
//
// Slots are allocated once, when the loop starts, and recycled through the pool's
// free list; they are never returned to the system while the loop runs, so an event
// the kernel reports for a slot always points at valid memory. What may be stale is
// the *user*: the backend records the slot's generation when it registers the fd,
// and dispatch drops an event whose generation is not the slot's current one, or
// whose slot has fd -1 (nginx's `instance` bit, widened to 32 bits).
//
// Ownership: the pool owns the slot; `data` belongs to the user of the slot. The
// Connection does not own `listening`. Thread: the owning loop's thread only.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "core/list.hpp"
#include "event/event.hpp"

namespace evs::event {

class Loop;
struct Listening;

// A peer address small enough to keep in every slot (sockaddr_storage is 128 bytes).
struct PeerAddress {
    union {
        sockaddr sa;
        sockaddr_in in;
        sockaddr_in6 in6;
    } addr{};
    socklen_t length = 0;
};

struct Connection {
    // What dispatch checks (fd, generation) and what every handler follows (loop,
    // data) share the first cache line with the start of the read event.
    int fd = -1;
    std::uint32_t generation = 0;  // bumped each time the slot is handed out
    std::uint32_t index = 0;       // the slot's position in its pool
    Loop* loop = nullptr;
    void* data = nullptr;  // the user's state; the next free slot while free
    Event read;
    Event write;
    Listening* listening = nullptr;  // the socket it was accepted on, if any
    core::ListNode queue_node;       // in the pool's reusable (idle) queue
    std::uint64_t number = 0;        // serial number for log lines ("*N")
    std::uint64_t sent = 0;
    PeerAddress peer;
    std::uint32_t requests = 0;

    std::uint32_t reusable : 1 = 0;  // idle: may be closed to make room
    std::uint32_t close : 1 = 0;     // the pool asks the owner to close (drain, shutdown)
    std::uint32_t idle : 1 = 0;
    std::uint32_t timedout : 1 = 0;
    std::uint32_t error : 1 = 0;
    std::uint32_t immediate : 1 = 0;  // internal: handlers run even under post_events
    std::uint32_t shared : 1 = 0;     // fd belongs to someone else: close() leaves it open

    static Connection* from_queue_node(core::ListNode* node) {
        return core::owner_of<Connection>(node, offsetof(Connection, queue_node));
    }
};

// The connection an I/O event belongs to.
inline Connection* connection_of(Event* ev) {
    return static_cast<Connection*>(ev->data);
}

}  // namespace evs::event
