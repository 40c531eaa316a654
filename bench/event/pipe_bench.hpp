#pragma once

// The classic libevent benchmark (libevent's test/bench.c, and libev's variant of
// it), shared by every implementation: N socket pairs, A of them active, W writes.
// Each read callback takes one byte and, while writes remain, writes one byte to
// the next pair. The dispatch loop runs until every byte written has been read.
//
// Variants: `rearm` deletes and adds every watcher before each iteration (as
// bench.c), `once` registers them once (as libev's benchmark); either with or
// without an idle timeout that each read refreshes and that never fires.
// docs/BENCHMARKS.md says how each implementation does each of these.
//
// One program per implementation (libev exports libevent's symbol names, so they
// cannot share a binary); each defines make_engine() and links with this driver,
// which owns main(), the sockets, the timing and the output.
// Thread: single-threaded.

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace evs::bench {

struct Pipe {
    int read_fd = -1;   // the watched end
    int write_fd = -1;  // where the previous pipe's callback writes
};

// Global state, as bench.c's globals: the callbacks of every implementation read
// and update it the same way.
struct PipeBench {
    std::vector<Pipe> pipes;
    std::vector<std::uint32_t> timeout_ms;  // per pipe: 10 s plus up to 1 s, fixed
    bool timeouts = false;
    long count = 0;      // bytes taken by callbacks in this iteration
    long fired = 0;      // bytes written in this iteration
    long writes = 0;     // writes left
    long callbacks = 0;  // read callbacks run (one takes at most one byte; some find none)
    long failures = 0;
    long timeouts_fired = 0;  // must stay 0
};
extern PipeBench g_bench;

// One event, the same work in every implementation: a callback has taken one
// byte from pipe `idx`; count it and, while writes remain, pass a byte on to the
// next pipe.
inline void transfer(std::size_t idx) {
    ++g_bench.count;
    if (g_bench.writes > 0) {
        std::size_t next = idx + 1;
        if (next == g_bench.pipes.size()) {
            next = 0;
        }
        if (::send(g_bench.pipes[next].write_fd, "e", 1, 0) != 1) {
            ++g_bench.failures;
        }
        --g_bench.writes;
        ++g_bench.fired;
    }
}

// Level-triggered implementations read one byte per callback, as bench.c; while
// more bytes wait, the backend reports the socket again on the next wait.
inline bool read_one(int fd) {
    char ch;
    const ssize_t n = ::recv(fd, &ch, 1, 0);
    if (n == 1) {
        return true;
    }
    if (n < 0 && errno != EAGAIN) {
        ++g_bench.failures;
    }
    return false;
}

// Edge-triggered implementations cannot leave bytes behind (no new edge would
// come for them): on each edge they drain the socket into a per-pipe count, with
// as few recv() calls as possible (a short read means drained), and still take
// one byte per callback, running the callback again, without reading, while
// bytes are left. Only when chains collide (N = A) is there more than one byte.
inline std::uint32_t drain(int fd) {
    char buf[64];
    std::uint32_t total = 0;
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n > 0) {
            total += static_cast<std::uint32_t>(n);
            if (static_cast<std::size_t>(n) == sizeof(buf)) {
                continue;
            }
        } else if (n < 0 && errno != EAGAIN) {
            ++g_bench.failures;
        }
        return total;
    }
}

// What each implementation provides. Calls are per iteration or per loop turn,
// never per event, so the virtual calls cost nothing measurable.
class Engine {
public:
    virtual ~Engine() = default;
    virtual const char* name() const = 0;
    // Creates the loop and, per pipe, a read watcher and an idle timer, none of
    // them started. The variants share them: g_bench.timeouts says whether the
    // timers are used.
    virtual bool init() = 0;
    // Registers every watcher and, with g_bench.timeouts, starts every idle timer.
    virtual void arm() = 0;
    // Unregisters every watcher and stops every idle timer.
    virtual void disarm() = 0;
    // One turn of the loop: wait (there is always something ready) and dispatch.
    virtual void run_once() = 0;
};

std::unique_ptr<Engine> make_engine();

}  // namespace evs::bench
