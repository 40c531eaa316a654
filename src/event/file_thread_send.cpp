// ThreadSendfile: the sendfile() a pool thread makes, and the duplicate descriptors
// it sends through (see file_thread_send.hpp). Thread: the loop's, except work().

#include "event/file_thread_send.hpp"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "event/loop.hpp"

namespace evs::event {

using core::LogLevel;

namespace {

struct ThreadSend final : ThreadOp {
    int socket_fd = -1;  // duplicates, owned; FileRead::fd is the file's

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

ThreadOp* ThreadSendfile::make_op() {
    return new (std::nothrow) ThreadSend;
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
    // In flight, release() orphans it and finished() closes the duplicates.
    release(op);
}

// In a pool thread: one sendfile() on the non-blocking socket, nothing else. The
// operation's offset is left alone: the loop advances the response by the result.
void ThreadSendfile::work(ThreadOp* op) {
    auto* send = static_cast<ThreadSend*>(op);
    off_t offset = op->offset;
    ssize_t n;
    do {
        n = ::sendfile(send->socket_fd, op->fd, &offset, op->size);
    } while (n < 0 && errno == EINTR);
    op->thread_result = n < 0 ? -errno : n;
}

void ThreadSendfile::finished(ThreadOp* op) {
    if (!op->orphaned) {
        return;
    }
    // Its owner is gone (the connection closed while the task was in flight): the
    // thread is done with the duplicates, so the socket and the file really close now.
    static_cast<ThreadSend*>(op)->close_duplicates();
    if (loop_.log().enabled(LogLevel::debug)) {
        loop_.log().write(LogLevel::debug, 0,
                          "thread sendfile: orphaned task done, descriptors closed");
    }
}

}  // namespace evs::event
