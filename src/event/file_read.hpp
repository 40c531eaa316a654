#pragma once

// FileRead and FileReader: reading a file without blocking the loop, whatever does
// the reading. One interface, several implementations chosen per location:
//
//   FileReader        synchronous pread(): what `aio off` gets, and what every
//                     other reader falls back to;
//   FileAio           Linux native AIO (`aio on`): io_submit with an eventfd
//                     (event/file_aio.hpp);
//   ThreadFileReader  a thread pool (`aio threads`, event/file_thread_read.hpp);
//   UringFileReader   io_uring (`aio io_uring`, event/file_uring.hpp): each
//                     overrides submit() and reports completions through complete().
//
// read() is re-entrant, as nginx's ngx_file_aio_read: the first call starts the
// read and returns k_io_again; the operation's handler runs on the loop thread
// when it has finished, and the next call returns its result. A read that cannot
// be started asynchronously (a full queue, no kernel support) is done at once with
// pread() and its result returned by that first call: the caller never needs to
// know which happened.
//
// Lifetime, the point of this file: the kernel (or a pool thread) may write into an
// operation's buffer until the read completes, whatever happens to its owner. So
// operations and their buffers belong to the reader, never to a request: the owner
// acquire()s one and release()s it when done; released while in flight, it is
// orphaned and goes back to the pool only when its completion arrives. A completion
// whose owner's connection was closed or handed to someone else (the slot's
// generation changed) is dropped the same way and never reaches the new user.
//
// Ownership: the reader owns every operation and buffer; it borrows the Loop.
// Thread: the loop's thread only.

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "core/status.hpp"
#include "core/time_cache.hpp"
#include "event/connection.hpp"
#include "event/event.hpp"
#include "event/io.hpp"
#include "event/stats.hpp"

namespace evs::event {

class Loop;
class FileReader;

struct FileRead {
    // What to read, set by the owner before the first read() call.
    int fd = -1;
    off_t offset = 0;
    std::size_t size = 0;

    // Where the bytes go: `capacity` bytes aligned to `alignment` (O_DIRECT needs
    // both the buffer and the sizes aligned). Owned by the reader.
    char* buf = nullptr;
    std::size_t capacity = 0;
    std::size_t alignment = 0;

    // Who waits: `handler(op)` runs on the loop thread when a read that returned
    // k_io_again has finished (the next read() returns the result). `connection`
    // and its `generation` at acquire() time let a completion for a connection that
    // has since been closed or reused be dropped.
    void (*handler)(FileRead* op) = nullptr;
    void* data = nullptr;
    Connection* connection = nullptr;
    std::uint32_t generation = 0;

    // The reader's state: `event` is posted when the read completes (complete set;
    // active while in flight) and carries the per-operation timer.
    Event event;
    ssize_t result = 0;  // bytes read, or -errno
    bool orphaned = false;
    bool in_use = false;
    FileReader* reader = nullptr;
    FileRead* next_free = nullptr;
    FileRead* next_all = nullptr;  // every operation of the reader, for its destructor

    virtual ~FileRead();
};

// A k_io_error that a thread pool's full queue caused, already logged by the pool
// ("queue overflow"): the caller fails the request without a line of its own, as
// nginx does. `err` is errno right after the call.
inline bool pool_refused(ssize_t n, int err) {
    return n == k_io_error && err == EAGAIN;
}

class FileReader {
public:
    // How long an operation may stay in flight before an [alert] says so (nginx has
    // no such check; a read that never completes would otherwise go unnoticed).
    static constexpr core::Msec k_default_op_timeout = 60000;
    // Released operations kept with their buffers for the next acquire().
    static constexpr std::size_t k_cached_ops = 32;

    explicit FileReader(Loop& loop);
    virtual ~FileReader();
    FileReader(const FileReader&) = delete;
    FileReader& operator=(const FileReader&) = delete;

    virtual const char* name() const { return "sync"; }

    // An operation with a buffer of at least `size` bytes aligned to `alignment` (a
    // power of two), for `connection` (or nullptr); nullptr when out of memory.
    FileRead* acquire(std::size_t size, std::size_t alignment, Connection* connection);
    // The owner is done with `op`: it goes back to the pool now, or, while the
    // kernel may still write into it, when its completion arrives.
    void release(FileRead* op);

    // Reads op->size bytes at op->offset of op->fd into op->buf. Returns the bytes
    // read (0 at end of file), k_io_again (op->handler will run; call again then),
    // or k_io_error with errno set. A thread pool whose queue is full refuses a new
    // operation with k_io_error and EAGAIN (a read never fails with EAGAIN otherwise)
    // and has logged it: see pool_refused().
    ssize_t read(FileRead* op);

    void set_op_timeout(core::Msec timeout) { op_timeout_ = timeout; }
    // Operations started and not yet completed.
    std::size_t in_flight() const { return in_flight_; }
    Loop& loop() { return loop_; }

protected:
    // Starts `op` asynchronously: again (complete() will be called), declined (the
    // reader cannot take it now: read it synchronously, counted as a fallback), or
    // error (errno set). The base reader declines everything, uncounted.
    virtual core::Status submit(FileRead* op);
    // Allocates an operation of the implementation's own type.
    virtual FileRead* new_op();
    // The implementation's counters, or nullptr (the synchronous reader has none).
    virtual FileIoCounters* counters() { return nullptr; }

    // Called by the implementation, on the loop thread, once `op` has finished:
    // records the result and posts the operation's event.
    void complete(FileRead* op, ssize_t result);
    // Called by the implementation once submit() has started `op`.
    void started(FileRead* op);

    // For the implementations whose completions signal an eventfd (native AIO,
    // io_uring): creates it and registers it with the loop, edge-triggered, in an
    // internal connection slot whose data is this reader; `handler` runs at once,
    // even while the loop posts events (accept mutex held), since the completions'
    // own handlers are posted anyway. ok; declined when eventfd() fails; error
    // (logged) when no internal slot is left or the backend refuses it.
    core::Status watch_eventfd(const char* what, void (*handler)(Event* ev));
    // Unregisters and closes it (the implementation's destructor, once the kernel
    // will signal it no more).
    void unwatch_eventfd();
    int eventfd() const { return eventfd_; }
    static FileReader* reader_of(Event* ev);

    Loop& loop_;

private:
    static void on_event(Event* ev);
    ssize_t read_sync(FileRead* op);
    void recycle(FileRead* op);

    FileRead* all_ = nullptr;  // every operation ever made (FileRead::next_all)
    FileRead* free_ = nullptr;
    std::size_t free_count_ = 0;
    std::size_t in_flight_ = 0;
    core::Msec op_timeout_ = k_default_op_timeout;
    int eventfd_ = -1;
    Connection* eventfd_connection_ = nullptr;
};

}  // namespace evs::event
