#pragma once

// ConnectionStats: the counters nginx's stub_status reports. The loop updates one
// set for the whole server (in the shared zone, so every worker adds to the same
// numbers) and one for its own worker. Without a server around them (tests, the
// examples) they point at the loop's private instance.
//
// Relaxed atomics: the counters are statistics, never used to synchronise.

#include <atomic>
#include <cstdint>

namespace evs::event {

struct ConnectionStats {
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> handled{0};
    std::atomic<std::int64_t> active{0};
    std::atomic<std::int64_t> reading{0};
    std::atomic<std::int64_t> writing{0};
    std::atomic<std::int64_t> waiting{0};
    std::atomic<std::uint64_t> requests{0};
};

template <typename T>
inline void stat_add(std::atomic<T>& counter, T delta) {
    counter.fetch_add(delta, std::memory_order_relaxed);
}

}  // namespace evs::event
