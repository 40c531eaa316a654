#pragma once

// SharedZone: the memory every process of one server shares, created by the master
// before it forks and kept across reloads, as nginx's shared zones are. It holds:
//
// - the accept mutex: one word holding the owner's pid, taken with a compare-and-
//   swap from 0 and never waited for (trylock only); the master clears it when
//   the owner dies, so a crashed worker cannot stop everyone accepting;
// - the stub_status counters for the whole server, and the same counters per
//   worker slot (so tests and the status page can see how load spread);
// - response counts per status, bytes sent and file I/O counters, server-wide.
//
// Ownership: the master maps it; children inherit the mapping. Thread: any
// process of the server; every field is an atomic.

#include <sys/types.h>

#include <atomic>
#include <cstddef>

#include "event/loop.hpp"
#include "event/stats.hpp"

namespace evs::server {

inline constexpr std::size_t k_max_workers = 64;

struct SharedZoneLayout {
    alignas(64) std::atomic<pid_t> accept_mutex{0};
    alignas(64) event::ConnectionStats server;
    // Server-wide only (not per worker): response counts and file I/O, for the
    // status endpoints.
    alignas(64) event::HttpResponseStats responses;
    alignas(64) event::FileIoStats file_io;
    struct Worker {
        alignas(64) std::atomic<pid_t> pid{0};
        event::ConnectionStats stats;
    };
    Worker workers[k_max_workers];
};

// Takes what a worker still counts in the gauges (active, reading, writing,
// waiting) out of the server's totals and zeroes its own: called when the worker
// exits and again by the master when it reaps it, so connections a worker never
// closed (fast shutdown, a crash) do not stay counted. nginx leaves them counted.
inline void retire_worker_gauges(SharedZoneLayout* zone, std::size_t slot) {
    event::ConnectionStats& mine = zone->workers[slot].stats;
    for (auto gauge : {&event::ConnectionStats::active, &event::ConnectionStats::reading,
                       &event::ConnectionStats::writing, &event::ConnectionStats::waiting}) {
        const std::int64_t left = (mine.*gauge).exchange(0, std::memory_order_relaxed);
        if (left != 0) {
            event::stat_add<std::int64_t>(zone->server.*gauge, -left);
        }
    }
}

class SharedZone {
public:
    SharedZone() = default;
    ~SharedZone();
    SharedZone(const SharedZone&) = delete;
    SharedZone& operator=(const SharedZone&) = delete;

    // Maps and initialises the zone; errno on failure.
    int create();
    SharedZoneLayout* get() { return layout_; }

private:
    SharedZoneLayout* layout_ = nullptr;
};

// The accept mutex as the event loop sees it.
class SharedAcceptMutex final : public event::AcceptMutex {
public:
    SharedAcceptMutex(std::atomic<pid_t>* word, pid_t self) : word_(word), self_(self) {}

    bool try_lock() override {
        pid_t expected = 0;
        return word_->load(std::memory_order_relaxed) == 0 &&
               word_->compare_exchange_strong(expected, self_, std::memory_order_acquire);
    }
    void unlock() override {
        pid_t expected = self_;
        word_->compare_exchange_strong(expected, 0, std::memory_order_release);
    }

    // The master, when `dead` has exited: free the lock if it died holding it.
    static bool force_unlock(std::atomic<pid_t>* word, pid_t dead) {
        pid_t expected = dead;
        return word->compare_exchange_strong(expected, 0, std::memory_order_release);
    }

private:
    std::atomic<pid_t>* word_;
    pid_t self_;
};

}  // namespace evs::server
