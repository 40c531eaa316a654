#pragma once

// ConnectionPool: `capacity` connection slots allocated once (worker_connections),
// plus a few internal slots for the loop's own descriptors (notify eventfd, the
// timer_resolution timerfd, the AIO eventfd, the signalfd, the open file cache's
// inotify descriptor), which are never on the free list.
//
// get() pops the free list (LIFO, so a just-freed slot is the next one reused: the
// case stale-event detection exists for). Idle connections sit in a reusable
// queue, oldest first; when free slots fall to capacity/16, get() asks the oldest
// idle connections to close (sets `close`, calls their read handler), as nginx's
// ngx_drain_connections(). Thread: the owning loop's thread only.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/list.hpp"
#include "core/log.hpp"
#include "core/time_cache.hpp"
#include "event/connection.hpp"

namespace evs::event {

class ConnectionPool {
public:
    static constexpr std::size_t k_internal_slots = 8;

    ConnectionPool(Loop* loop, std::size_t capacity, core::Log* log);
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;

    // A free slot for `fd`, or nullptr (logged) when none can be found.
    Connection* get(int fd);
    // Returns the slot to the free list. The caller has closed or handed off the fd.
    void free(Connection* c);
    // One of the internal slots (index >= capacity), or nullptr when all are used.
    Connection* get_internal(int fd);

    // Marks `c` idle (reusable) or not.
    void set_reusable(Connection* c, bool reusable);
    // Closes the oldest idle connections when free slots are scarce.
    void drain();
    // Asks every idle connection to close (graceful shutdown).
    void close_idle();

    Connection* slot(std::uint32_t index) { return &slots_[index]; }
    std::size_t slot_count() const { return capacity_ + k_internal_slots; }
    std::size_t capacity() const { return capacity_; }
    std::size_t free_count() const { return free_count_; }
    std::size_t reusable_count() const { return reusable_count_; }

private:
    Loop* loop_;
    core::Log* log_;
    std::size_t capacity_;
    std::unique_ptr<Connection[]> slots_;
    Connection* free_ = nullptr;
    std::size_t free_count_ = 0;
    std::size_t internal_used_ = 0;
    core::List reusable_;
    std::size_t reusable_count_ = 0;
    std::uint64_t next_number_ = 1;
    core::Msec last_drain_warning_ = 0;
};

}  // namespace evs::event
