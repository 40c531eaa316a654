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

// File reads that must not block the loop (issue #6), per mode: operations
// submitted, completed, and those that fell back to a synchronous read (native AIO's
// io_submit EAGAIN, a full io_uring queue) or to another mode. Filled by the file
// I/O layer, exported by the status endpoints.
struct FileIoCounters {
    std::atomic<std::uint64_t> submitted{0};
    std::atomic<std::uint64_t> completed{0};
    std::atomic<std::uint64_t> fallback{0};
};

struct FileIoStats {
    FileIoCounters native;    // aio on (io_submit, O_DIRECT)
    FileIoCounters threads;   // aio threads
    FileIoCounters io_uring;  // aio io_uring
};

// HTTP responses for the Prometheus endpoint: counts per status code (100..599,
// index code - 100; anything else is not sent) and bytes sent (head + body).
struct HttpResponseStats {
    static constexpr int k_first_code = 100;
    static constexpr int k_codes = 500;
    std::atomic<std::uint64_t> by_status[k_codes]{};
    std::atomic<std::uint64_t> bytes_sent{0};
};

template <typename T>
inline void stat_add(std::atomic<T>& counter, T delta) {
    counter.fetch_add(delta, std::memory_order_relaxed);
}

}  // namespace evs::event
