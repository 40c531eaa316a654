#pragma once

// TimerWheel: the loop's timers, a hierarchical timing wheel over 32-bit
// millisecond deadlines (4 levels of 256 slots, as the Linux kernel's timer wheel
// and h2o's lib/common/timerwheel.c).
//
// A timer whose deadline shares all but its lowest 8 bits with the wheel's current
// time sits in level 0, one slot per millisecond; otherwise it sits at the level of
// the highest byte in which it differs, and is moved down ("cascaded") when the
// wheel's time reaches its slot. Adding and removing are O(1) and touch only the
// event and its two neighbours: no allocation, no array beside the events. Each
// level keeps a bitmap of slots that may be non-empty, so finding the next deadline
// and skipping idle stretches look at words, not at 256 list heads.
//
// Deadlines compare wraparound-safe (as signed 32-bit differences), so the clock
// may wrap; a timer may be at most k_max_duration ms in the future.
// Thread: the owning loop's thread only.

#include <array>
#include <cstdint>

#include "core/list.hpp"
#include "event/event.hpp"

namespace evs::event {

class TimerWheel {
public:
    static constexpr std::uint32_t k_max_duration = 0x7fffff00u;  // ~24.8 days
    static constexpr std::uint32_t k_infinite = UINT32_MAX;

    explicit TimerWheel(std::uint32_t now);

    // Inserts `ev` (not currently set) with ev->deadline already filled in.
    void insert(Event* ev);
    void remove(Event* ev);

    // Milliseconds from `now` until the earliest timer may be due (0 if one is due),
    // or k_infinite when no timer is set. May be earlier than the real deadline
    // when the earliest timer sits in a coarse level: waking early is harmless.
    std::uint32_t next_delay(std::uint32_t now);

    // Runs the handler of every timer due at or before `now`, in deadline order.
    void expire(std::uint32_t now);

    std::size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    std::uint32_t now() const { return now_; }
    // Moves the wheel's clock; only while no timer is set.
    void set_now(std::uint32_t now) {
        if (count_ == 0) {
            now_ = now;
        }
    }

    // True when every timer set is cancelable (a graceful shutdown may exit).
    bool only_cancelable_left();

    static bool before(std::uint32_t a, std::uint32_t b) {
        return static_cast<std::int32_t>(a - b) < 0;
    }

private:
    static constexpr int k_levels = 4;
    static constexpr int k_bits = 8;
    static constexpr std::uint32_t k_slots = 1u << k_bits;

    struct Level {
        std::array<core::List, k_slots> slots;
        std::array<std::uint64_t, k_slots / 64> occupied{};  // a hint: may be stale-set
    };

    void place(Event* ev);
    void cascade(int level);
    // First slot index >= from in `level` whose list is non-empty, or -1.
    int find_occupied(int level, std::uint32_t from);
    void run_slot(std::uint32_t slot);
    std::uint32_t next_point();

    std::array<Level, k_levels> levels_;
    std::uint32_t now_;
    std::size_t count_ = 0;
};

}  // namespace evs::event
