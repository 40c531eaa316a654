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

// Hot and cold. Delivering a read event (the stale check, the handler call, a read,
// refreshing an idle timer) touches only the first 64 bytes: fd, generation, loop,
// data and the read event up to and including its timer node. A slot is aligned to a
// cache line so that those 64 bytes are one line, not two: unaligned (new[] gives
// 16 bytes), the 224-byte slots could straddle a line boundary, and in the pipes
// benchmark every one did, so that with more connections than fit in L1 each event
// cost two misses where one will do (cachegrind; docs/BENCHMARKS.md). The second line holds the
// read event's posted node, the connection's flags and the write event's fields up to its timer
// node (a write event or a post touches lines 0 and 1); the cold rest follows.
//
// The slot's size is an odd number of lines (5: 320 bytes), not the 4 its fields
// round up to: with a 256-byte stride every slot's first line would fall in the same
// quarter of the sets of L1 and L2 (whose set index starts at address bit 6), so
// 10,000 connections' hot lines would compete for a quarter of L2 and miss it, where
// an odd stride spreads them over all sets. `spare` pads to the odd size and is
// room for new fields; if fields outgrow it, shrink it or grow it by a line so that
// the count stays odd (a static_assert below says so). Still less than nginx spends
// per connection (ngx_connection_t and its two ngx_event_t, about 420 bytes). The
// static_asserts in tests/unit/event/connection_layout_test.cpp guard the order.
struct alignas(64) Connection {
    // Line 0.
    int fd = -1;
    std::uint32_t generation = 0;  // bumped each time the slot is handed out
    Loop* loop = nullptr;
    void* data = nullptr;  // the user's state; the next free slot while free
    Event read;            // its posted_node spills into line 1

    // Line 1.
    std::uint32_t index = 0;  // the slot's position in its pool (read when registering)

    std::uint32_t reusable : 1 = 0;  // idle: may be closed to make room
    std::uint32_t close : 1 = 0;     // the pool asks the owner to close (drain, shutdown)
    std::uint32_t idle : 1 = 0;
    std::uint32_t timedout : 1 = 0;
    std::uint32_t error : 1 = 0;
    std::uint32_t immediate : 1 = 0;  // internal: handlers run even under post_events
    std::uint32_t shared : 1 = 0;     // fd belongs to someone else: close() leaves it open

    Event write;

    // Line 2 on: set up on accept, read when logging or closing; `sent` and
    // `requests` change once or a few times per response, not per event.
    Listening* listening = nullptr;  // the socket it was accepted on, if any
    core::ListNode queue_node;       // in the pool's reusable (idle) queue
    std::uint64_t number = 0;        // serial number for log lines ("*N")
    std::uint64_t sent = 0;
    PeerAddress peer;
    std::uint32_t requests = 0;
    unsigned char spare[64];  // see above: pads the slot to an odd number of lines

    static Connection* from_queue_node(core::ListNode* node) {
        return core::owner_of<Connection>(node, offsetof(Connection, queue_node));
    }
};

static_assert(sizeof(Connection) / alignof(Connection) % 2 == 1,
              "keep Connection an odd number of cache lines: resize spare");

// The connection an I/O event belongs to.
inline Connection* connection_of(Event* ev) {
    return static_cast<Connection*>(ev->data);
}

}  // namespace evs::event
