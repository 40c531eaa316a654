// ThreadFileReader: the pool task of a file operation and its hand-back (see
// file_thread_read.hpp). Thread: the loop's, except work().

#include "event/file_thread_read.hpp"

#include <unistd.h>

#include <cerrno>
#include <new>

#include "event/loop.hpp"

namespace evs::event {

using core::LogLevel;
using core::Status;

ThreadOp* ThreadFileReader::make_op() {
    return new (std::nothrow) ThreadOp;
}

FileRead* ThreadFileReader::new_op() {
    ThreadOp* op = make_op();
    if (op != nullptr) {
        op->task.run = run;
        op->task.ctx = op;
        op->task.event.handler = done;
        op->task.event.data = op;
    }
    return op;
}

FileIoCounters* ThreadFileReader::counters() {
    return &loop_.file_io_stats().threads;
}

Status ThreadFileReader::submit(FileRead* op) {
    auto* task = static_cast<ThreadOp*>(op);
    if (pool_.post(loop_, &task->task) != Status::ok) {
        // Logged by the pool ("queue overflow"); this operation fails, nothing else.
        errno = EAGAIN;
        return Status::error;
    }
    started(op);
    if (loop_.log().enabled(LogLevel::debug)) {
        loop_.log().write(LogLevel::debug, 0, "%s: fd %d, %zu bytes at %lld in \"%s\"", task_name(),
                          op->fd, op->size, static_cast<long long>(op->offset),
                          pool_.name().c_str());
    }
    return Status::again;
}

// In a pool thread: the only thing done there is the system call.
void ThreadFileReader::work(ThreadOp* op) {
    ssize_t n;
    do {
        n = ::pread(op->fd, op->buf, op->size, op->offset);
    } while (n < 0 && errno == EINTR);
    op->thread_result = n < 0 ? -errno : n;
}

void ThreadFileReader::run(void* ctx) {
    auto* op = static_cast<ThreadOp*>(ctx);
    static_cast<ThreadFileReader*>(op->reader)->work(op);
}

void ThreadFileReader::done(Event* ev) {
    auto* op = static_cast<ThreadOp*>(ev->data);
    auto* self = static_cast<ThreadFileReader*>(op->reader);
    self->finished(op);
    self->complete(op, op->thread_result);
}

}  // namespace evs::event
