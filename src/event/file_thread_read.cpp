#include "event/file_thread_read.hpp"

#include <unistd.h>

#include <cerrno>
#include <new>

#include "event/loop.hpp"

namespace evs::event {

using core::LogLevel;
using core::Status;

namespace {

struct ThreadRead final : FileRead {
    ThreadTask task;
    ssize_t thread_result = 0;  // written by the pool thread, read after the hand-back
};

}  // namespace

FileRead* ThreadFileReader::new_op() {
    auto* op = new (std::nothrow) ThreadRead;
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
    auto* read = static_cast<ThreadRead*>(op);
    if (pool_.post(loop_, &read->task) != Status::ok) {
        // Logged by the pool ("queue overflow"); this read fails, nothing else.
        errno = EAGAIN;
        return Status::error;
    }
    started(op);
    if (loop_.log().enabled(LogLevel::debug)) {
        loop_.log().write(LogLevel::debug, 0, "thread read: fd %d, %zu bytes at %lld to \"%s\"",
                          op->fd, op->size, static_cast<long long>(op->offset),
                          pool_.name().c_str());
    }
    return Status::again;
}

// In a pool thread: the only thing done there is the system call.
void ThreadFileReader::run(void* ctx) {
    auto* op = static_cast<ThreadRead*>(ctx);
    ssize_t n;
    do {
        n = ::pread(op->fd, op->buf, op->size, op->offset);
    } while (n < 0 && errno == EINTR);
    op->thread_result = n < 0 ? -errno : n;
}

void ThreadFileReader::done(Event* ev) {
    auto* op = static_cast<ThreadRead*>(ev->data);
    static_cast<ThreadFileReader*>(op->reader)->complete(op, op->thread_result);
}

}  // namespace evs::event
