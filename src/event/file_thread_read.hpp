#pragma once

// ThreadFileReader: file reads in a thread pool (`aio threads[=pool]`), nginx's
// ngx_thread_read. submit() hands the pread() to the pool; the pool hands the
// finished task back to the loop through its CompletedTasks notification, and the
// operation's event is posted like any other completion (file_read.hpp). A full
// queue (max_queue) is an error for that read alone, as nginx's "thread pool queue
// overflow": the request fails, the worker goes on.
//
// Ownership: borrows the pool and the loop; owns its operations. The pool must be
// stopped (its threads joined) before the reader is destroyed, so that no thread
// still writes into a buffer. Thread: the loop's thread; run() in pool threads.

#include "event/file_read.hpp"
#include "event/thread_pool.hpp"

namespace evs::event {

class ThreadFileReader final : public FileReader {
public:
    ThreadFileReader(Loop& loop, ThreadPool& pool) : FileReader(loop), pool_(pool) {}

    const char* name() const override { return "thread pool"; }
    ThreadPool& pool() { return pool_; }

protected:
    core::Status submit(FileRead* op) override;
    FileRead* new_op() override;
    FileIoCounters* counters() override;

private:
    static void run(void* ctx);
    static void done(Event* ev);

    ThreadPool& pool_;
};

}  // namespace evs::event
