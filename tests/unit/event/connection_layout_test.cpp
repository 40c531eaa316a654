// Connection's cache-line layout: a regression guard for what delivering a read event
// may touch. Dispatch, the handler's first loads, recv() and an idle-timer refresh
// read fd, generation, loop, data and the read event up to its timer node; those
// must stay in the slot's first 64 bytes, and slots must start on a line, or each
// event costs two cache misses instead of one once the pool outgrows L1
// (docs/BENCHMARKS.md, "Cache lines per event"). Compile-time checks, plus the one
// fact only a run can show: that the pool's slots really are aligned.

#include <cstddef>
#include <cstdint>

#include "core/list.hpp"
#include "event/connection.hpp"
#include "event/connection_pool.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::event {
namespace {

constexpr std::size_t k_line = 64;

// Offsets of the read event's fields within the slot.
constexpr std::size_t read_at(std::size_t offset_in_event) {
    return offsetof(Connection, read) + offset_in_event;
}

static_assert(alignof(Connection) == k_line, "a slot starts on a cache line");
static_assert(sizeof(Connection) % k_line == 0);

// Line 0: what dispatch and a read handler touch.
static_assert(offsetof(Connection, fd) < k_line);
static_assert(offsetof(Connection, generation) < k_line);
static_assert(offsetof(Connection, loop) + sizeof(Loop*) <= k_line);
static_assert(offsetof(Connection, data) + sizeof(void*) <= k_line);
static_assert(read_at(offsetof(Event, data)) + sizeof(void*) <= k_line);
static_assert(read_at(offsetof(Event, handler)) + sizeof(EventHandler) <= k_line);
static_assert(read_at(offsetof(Event, deadline)) + sizeof(std::uint32_t) <= k_line);
// The flag word (bit-fields, so no offsetof) sits between deadline and timer_node:
// with the timer node inside line 0, so are the flags.
static_assert(offsetof(Event, deadline) < offsetof(Event, timer_node));
static_assert(read_at(offsetof(Event, timer_node)) + sizeof(core::ListNode) <= k_line);

// Line 1: the write event's fields that dispatch touches, and the slot index that
// registration packs into the epoll data.
static_assert(offsetof(Connection, write) + offsetof(Event, timer_node) <= 2 * k_line);
static_assert(offsetof(Connection, index) < 2 * k_line);

// An Event stays within one line's worth of bytes, so a standalone one (a timer)
// spans at most two.
static_assert(sizeof(Event) <= k_line);

TEST(ConnectionLayout, PoolSlotsStartOnACacheLine) {
    test::CapturedLog log;
    ConnectionPool pool(nullptr, 5, &log.log());
    for (std::uint32_t i = 0; i < pool.slot_count(); ++i) {
        const auto address = reinterpret_cast<std::uintptr_t>(pool.slot(i));
        EXPECT_EQ(address % k_line, 0u) << "slot " << i;
        // The hot fields of every slot share its first line.
        const auto fd = reinterpret_cast<std::uintptr_t>(&pool.slot(i)->fd);
        const auto timer_node = reinterpret_cast<std::uintptr_t>(&pool.slot(i)->read.timer_node);
        EXPECT_EQ(fd / k_line, (timer_node + sizeof(core::ListNode) - 1) / k_line) << "slot " << i;
    }
}

}  // namespace
}  // namespace evs::event
