// ThreadSendfile: the pool task that calls sendfile(), and the duplicate descriptors
// it sends through (see file_thread_send.hpp). Thread: loop thread, except run().

#include "event/file_thread_send.hpp"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "event/io.hpp"
#include "event/loop.hpp"

namespace evs::event {

using core::LogLevel;
using core::Status;

namespace {

struct ThreadSend final : FileRead {
    ThreadTask task;
    int socket_fd = -1;         // duplicates, owned; FileRead::fd is the file's
    ssize_t thread_result = 0;  // written by the pool thread, read after the hand-back

    void close_duplicates() {
        if (socket_fd >= 0) {
            ::close(socket_fd);
            socket_fd = -1;
        }
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
    }
    // Only at the worker's exit, after the pool was joined: a task dropped from the
    // queue never came back, and its duplicates are closed here.
    ~ThreadSend() override { close_duplicates(); }
};

}  // namespace

FileRead* ThreadSendfile::new_op() {
    auto* op = new (std::nothrow) ThreadSend;
    if (op != nullptr) {
        op->task.run = run;
        op->task.ctx = op;
        op->task.event.handler = done;
        op->task.event.data = op;
    }
    return op;
}

FileIoCounters* ThreadSendfile::counters() {
    return &loop_.file_io_stats().threads;
}

FileRead* ThreadSendfile::acquire_send(Connection* connection, int file_fd) {
    // The operation needs no buffer; the reader's smallest one comes with it.
    auto* op = static_cast<ThreadSend*>(acquire(0, 1, connection));
    if (op == nullptr) {
        errno = ENOMEM;
        return nullptr;
    }
    op->socket_fd = ::fcntl(connection->fd, F_DUPFD_CLOEXEC, 0);
    op->fd = op->socket_fd >= 0 ? ::fcntl(file_fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (op->fd < 0) {
        const int err = errno;
        op->close_duplicates();
        release(op);
        errno = err;
        return nullptr;
    }
    return op;
}

void ThreadSendfile::release_send(FileRead* op) {
    if (op == nullptr) {
        return;
    }
    if (!op->event.active) {
        static_cast<ThreadSend*>(op)->close_duplicates();
    }
    // In flight, release() orphans it and done() closes the duplicates.
    release(op);
}

Status ThreadSendfile::submit(FileRead* op) {
    auto* send = static_cast<ThreadSend*>(op);
    if (pool_.post(loop_, &send->task) != Status::ok) {
        // Logged by the pool ("queue overflow"); this response fails, nothing else.
        errno = EAGAIN;
        return Status::error;
    }
    started(op);
    if (loop_.log().enabled(LogLevel::debug)) {
        loop_.log().write(LogLevel::debug, 0,
                          "thread sendfile: %zu bytes at %lld of fd %d to fd %d in \"%s\"",
                          op->size, static_cast<long long>(op->offset), op->fd, send->socket_fd,
                          pool_.name().c_str());
    }
    return Status::again;
}

// In a pool thread: one sendfile() on the non-blocking socket, nothing else. The
// operation's offset is left alone: the loop advances the response by the result.
void ThreadSendfile::run(void* ctx) {
    auto* op = static_cast<ThreadSend*>(ctx);
    off_t offset = op->offset;
    ssize_t n;
    do {
        n = ::sendfile(op->socket_fd, op->fd, &offset, op->size);
    } while (n < 0 && errno == EINTR);
    op->thread_result = n < 0 ? -errno : n;
}

void ThreadSendfile::done(Event* ev) {
    auto* op = static_cast<ThreadSend*>(ev->data);
    auto* self = static_cast<ThreadSendfile*>(op->reader);
    if (op->orphaned) {
        // Its owner is gone (the connection closed while the task was in flight):
        // the thread is done with the duplicates, so the socket and the file are
        // really closed now.
        op->close_duplicates();
        if (self->loop_.log().enabled(LogLevel::debug)) {
            self->loop_.log().write(LogLevel::debug, 0,
                                    "thread sendfile: orphaned task done, descriptors closed");
        }
    }
    self->complete(op, op->thread_result);
}

}  // namespace evs::event
