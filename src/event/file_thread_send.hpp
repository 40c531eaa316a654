#pragma once

// ThreadSendfile: sendfile() in a thread pool (`aio threads[=pool]` with `sendfile
// on`), nginx's "send file operations are offloaded to threads" on Linux. A page-cache
// miss then blocks a pool thread, never the loop. The socket stays non-blocking: the
// thread sends what fits and returns, EAGAIN included; the loop applies the result
// (how far the file went, whether the socket is full) when the task comes back
// through the pool's completion notification.
//
// It is a pool FileReader (event/file_thread_read.hpp) whose "read" is a send: the same
// re-entrant call (the first starts the task and returns k_io_again, the next after
// the handler has run returns the result), the same orphaning of an operation
// released in flight and dropping of a completion whose connection was closed or
// reused, the same per-operation timer and the `threads` counters.
//
// Descriptors, the point of this file: the thread must never use a descriptor number
// the loop may close, because a closed number is handed out again at once (to the next
// accepted client, or the next opened file) and a late sendfile() would send file bytes
// to another client, or another file's bytes to this one. So an operation sends from
// and to duplicates it owns (F_DUPFD_CLOEXEC, made once per response by acquire()):
// the connection may close its socket and the request its file while a task is in
// flight; the duplicates keep both open until the task is done, and are closed then.
//
// Ownership: borrows the pool and the loop; owns its operations and their duplicate
// descriptors. The pool must be stopped (its threads joined) before this is destroyed.
// Thread: the loop's thread; work() in pool threads.

#include "event/file_thread_read.hpp"

namespace evs::event {

class ThreadSendfile final : public ThreadFileReader {
public:
    ThreadSendfile(Loop& loop, ThreadPool& pool) : ThreadFileReader(loop, pool) {}

    const char* name() const override { return "thread pool sendfile"; }

    // An operation that sends from `file_fd` to `connection`'s socket, through
    // duplicates of both; nullptr with errno set (no memory, no descriptors). The
    // caller sets op->offset and op->size before each read(); a result is the bytes
    // sent, or k_io_error with errno (EAGAIN: the socket took nothing).
    FileRead* acquire_send(Connection* connection, int file_fd);
    // The owner is done with `op`: its duplicates are closed now, or once the thread
    // is done with them; then FileReader::release().
    void release_send(FileRead* op);

protected:
    const char* task_name() const override { return "thread sendfile"; }
    ThreadOp* make_op() override;
    void work(ThreadOp* op) override;
    void finished(ThreadOp* op) override;
};

}  // namespace evs::event
