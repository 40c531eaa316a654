#pragma once

// ThreadFileReader: file reads in a thread pool (`aio threads[=pool]`), nginx's
// ngx_thread_read. submit() hands the pread() to the pool; the pool hands the
// finished task back to the loop through its CompletedTasks notification, and the
// operation's event is posted like any other completion (file_read.hpp). A full
// queue (max_queue) is an error for that read alone, as nginx's "thread pool queue
// overflow": the request fails, the worker goes on.
//
// It is also the base of the other file operations done in a pool (sendfile,
// file_thread_send.hpp): they make their own ThreadOp and say what the thread does
// (work()) and what the loop does when it is back (finished()).
//
// Ownership: borrows the pool and the loop; owns its operations. The pool must be
// stopped (its threads joined) before the reader is destroyed, so that no thread
// still writes into a buffer. Thread: the loop's thread; work() in pool threads.

#include "event/file_read.hpp"
#include "event/thread_pool.hpp"

namespace evs::event {

// An operation that runs as a pool task.
struct ThreadOp : FileRead {
    ThreadTask task;
    ssize_t thread_result = 0;  // written by the pool thread, read after the hand-back
};

class ThreadFileReader : public FileReader {
public:
    ThreadFileReader(Loop& loop, ThreadPool& pool) : FileReader(loop), pool_(pool) {}

    const char* name() const override { return "thread pool"; }
    ThreadPool& pool() { return pool_; }

protected:
    core::Status submit(FileRead* op) override;
    FileRead* new_op() override;
    FileIoCounters* counters() override;

    // What the debug line of a started task calls it.
    virtual const char* task_name() const { return "thread read"; }
    // The operation of the implementation's own type, with its task unset.
    virtual ThreadOp* make_op();
    // In a pool thread: the system call, its result in op->thread_result (-errno).
    virtual void work(ThreadOp* op);
    // On the loop thread, when the task is back, before the completion is posted.
    virtual void finished(ThreadOp*) {}

private:
    static void run(void* ctx);
    static void done(Event* ev);

    ThreadPool& pool_;
};

}  // namespace evs::event
