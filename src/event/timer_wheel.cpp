#include "event/timer_wheel.hpp"

#include <bit>

namespace evs::event {

namespace {

// The bits of a time below level `level`'s block: level 0 blocks are 256 ms,
// level 1 blocks 65536 ms, ..., the top level's block is the whole 32-bit range.
constexpr std::uint32_t block_mask(int level) {
    return level >= 3 ? UINT32_MAX : (1u << (8 * (level + 1))) - 1;
}

}  // namespace

TimerWheel::TimerWheel(std::uint32_t now) : now_(now) {}

void TimerWheel::insert(Event* ev) {
    place(ev);
    ++count_;
    ev->timer_set = 1;
}

void TimerWheel::remove(Event* ev) {
    // The slot's occupied bit stays set; find_occupied() clears it lazily. That
    // keeps removal to an unlink, which matters: most timers are removed, not run
    // (a read arrives before the client_header_timeout fires).
    ev->timer_node.unlink();
    --count_;
    ev->timer_set = 0;
}

void TimerWheel::place(Event* ev) {
    // A deadline already past goes into the current slot, which expire() is
    // running or will run first.
    const std::uint32_t deadline = before(ev->deadline, now_) ? now_ : ev->deadline;
    const std::uint32_t diff = deadline ^ now_;
    const int level = diff == 0 ? 0 : (31 - std::countl_zero(diff)) / k_bits;
    const std::uint32_t slot = (deadline >> (k_bits * level)) & (k_slots - 1);
    Level& lv = levels_[static_cast<std::size_t>(level)];
    lv.slots[slot].push_back(&ev->timer_node);
    lv.occupied[slot / 64] |= std::uint64_t{1} << (slot % 64);
}

int TimerWheel::find_occupied(int level, std::uint32_t from) {
    Level& lv = levels_[static_cast<std::size_t>(level)];
    for (std::uint32_t word = from / 64; word < k_slots / 64; ++word) {
        std::uint64_t bits = lv.occupied[word];
        if (word == from / 64) {
            bits &= ~std::uint64_t{0} << (from % 64);
        }
        while (bits != 0) {
            const std::uint32_t slot =
                word * 64 + static_cast<std::uint32_t>(std::countr_zero(bits));
            if (!lv.slots[slot].empty()) {
                return static_cast<int>(slot);
            }
            // Stale hint left by remove(): clear it now that we have looked.
            lv.occupied[word] &= ~(std::uint64_t{1} << (slot % 64));
            bits &= bits - 1;
        }
    }
    return -1;
}

void TimerWheel::run_slot(std::uint32_t slot) {
    Level& lv = levels_[0];
    core::List& list = lv.slots[slot];
    // A handler may add a timer that is already due; it lands in this slot and runs
    // in this pass, as in nginx, where expiry loops while the earliest timer is due.
    while (core::ListNode* node = list.pop_front()) {
        Event* ev = Event::from_timer_node(node);
        --count_;
        ev->timer_set = 0;
        ev->timedout = 1;
        ev->handler(ev);
    }
    lv.occupied[slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
}

void TimerWheel::cascade(int level) {
    Level& lv = levels_[static_cast<std::size_t>(level)];
    const std::uint32_t slot = (now_ >> (k_bits * level)) & (k_slots - 1);
    core::List moving;
    moving.splice_back(lv.slots[slot]);
    lv.occupied[slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
    while (core::ListNode* node = moving.pop_front()) {
        place(Event::from_timer_node(node));
    }
}

// The earliest time after now_ at which the wheel has work: the next occupied slot
// of level 0 in the current block, else the start of the next occupied slot of the
// lowest level that has one in its current block, else the top level's wraparound
// (time 0). Every slot in between is empty, so the wheel may jump straight there.
std::uint32_t TimerWheel::next_point() {
    for (int level = 0; level < k_levels; ++level) {
        const std::uint32_t index = (now_ >> (k_bits * level)) & (k_slots - 1);
        const int slot = index + 1 < k_slots ? find_occupied(level, index + 1) : -1;
        if (slot >= 0) {
            const std::uint32_t base = now_ & ~block_mask(level);
            return base | (static_cast<std::uint32_t>(slot) << (k_bits * level));
        }
    }
    return 0;
}

std::uint32_t TimerWheel::next_delay(std::uint32_t now) {
    if (count_ == 0) {
        return k_infinite;
    }
    if (!levels_[0].slots[now_ & (k_slots - 1)].empty()) {
        return 0;
    }
    const std::uint32_t point = next_point();
    return before(now, point) ? point - now : 0;
}

void TimerWheel::expire(std::uint32_t now) {
    if (before(now, now_)) {
        return;
    }
    for (;;) {
        run_slot(now_ & (k_slots - 1));
        if (now_ == now) {
            return;
        }
        if (count_ == 0) {
            now_ = now;
            return;
        }
        const std::uint32_t point = next_point();
        if (before(now, point)) {
            // Nothing is due before `now` and no occupied slot is crossed on the way.
            now_ = now;
            return;
        }
        now_ = point;
        if ((now_ & (k_slots - 1)) == 0) {
            // Entering a new level-0 block: move the timers of each level whose slot
            // has just become current down, the highest level first.
            int top = 1;
            while (top < k_levels - 1 && ((now_ >> (k_bits * top)) & (k_slots - 1)) == 0) {
                ++top;
            }
            for (int level = top; level >= 1; --level) {
                cascade(level);
            }
        }
    }
}

bool TimerWheel::only_cancelable_left() {
    for (Level& lv : levels_) {
        for (core::List& list : lv.slots) {
            for (core::ListNode* node = list.front(); node != list.end(); node = node->next) {
                if (!Event::from_timer_node(node)->cancelable) {
                    return false;
                }
            }
        }
    }
    return true;
}

}  // namespace evs::event
