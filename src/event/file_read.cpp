#include "event/file_read.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <new>

#include "event/backends/backend.hpp"
#include "event/io.hpp"
#include "event/loop.hpp"
#include "os/socket.hpp"

namespace evs::event {

using core::LogLevel;
using core::Status;

FileRead::~FileRead() {
    std::free(buf);
}

FileReader::FileReader(Loop& loop) : loop_(loop) {}

FileReader::~FileReader() {
    // An implementation's destructor has waited for the kernel (io_destroy) or its
    // threads before this runs: no operation can be written to any more.
    while (all_ != nullptr) {
        FileRead* op = all_;
        all_ = op->next_all;
        loop_.del_timer(&op->event);
        loop_.delete_posted(&op->event);
        delete op;
    }
}

FileRead* FileReader::new_op() {
    return new (std::nothrow) FileRead;
}

Status FileReader::submit(FileRead*) {
    return Status::declined;
}

FileRead* FileReader::acquire(std::size_t size, std::size_t alignment, Connection* connection) {
    alignment = std::max<std::size_t>(alignment, alignof(std::max_align_t));
    const std::size_t rounded =
        std::max<std::size_t>((size + alignment - 1) & ~(alignment - 1), alignment);
    FileRead* op = free_;
    if (op != nullptr) {
        free_ = op->next_free;
        --free_count_;
    } else {
        op = new_op();
        if (op == nullptr) {
            return nullptr;
        }
        op->reader = this;
        op->event.data = op;
        op->event.handler = on_event;
        op->next_all = all_;
        all_ = op;
    }
    if (op->capacity < rounded || op->alignment < alignment) {
        std::free(op->buf);
        op->buf = static_cast<char*>(std::aligned_alloc(alignment, rounded));
        op->capacity = op->buf != nullptr ? rounded : 0;
        op->alignment = op->buf != nullptr ? alignment : 0;
        if (op->buf == nullptr) {
            recycle(op);
            return nullptr;
        }
    }
    op->in_use = true;
    op->orphaned = false;
    op->connection = connection;
    op->generation = connection != nullptr ? connection->generation : 0;
    op->handler = nullptr;
    op->data = nullptr;
    op->fd = -1;
    op->offset = 0;
    op->size = 0;
    op->result = 0;
    op->event.complete = 0;
    op->event.timedout = 0;
    return op;
}

void FileReader::release(FileRead* op) {
    if (op == nullptr) {
        return;
    }
    if (op->event.active) {
        // The kernel may still write into the buffer: it is ours again only when the
        // completion arrives (on_event).
        op->orphaned = true;
        op->handler = nullptr;
        op->connection = nullptr;
        return;
    }
    loop_.delete_posted(&op->event);
    loop_.del_timer(&op->event);
    op->event.complete = 0;
    recycle(op);
}

void FileReader::recycle(FileRead* op) {
    op->in_use = false;
    op->orphaned = false;
    op->handler = nullptr;
    op->connection = nullptr;
    if (free_count_ >= k_cached_ops && op->buf != nullptr) {
        // Past the cache: the record stays (it is small), the buffer goes.
        std::free(op->buf);
        op->buf = nullptr;
        op->capacity = 0;
        op->alignment = 0;
    }
    op->next_free = free_;
    free_ = op;
    ++free_count_;
}

ssize_t FileReader::read(FileRead* op) {
    if (op->event.complete) {
        // The result is taken now: the posted completion has nothing left to say.
        op->event.complete = 0;
        loop_.delete_posted(&op->event);
        if (op->result < 0) {
            errno = static_cast<int>(-op->result);
            return k_io_error;
        }
        return op->result;
    }
    if (op->event.active) {
        return k_io_again;
    }
    switch (submit(op)) {
        case Status::again:
            return k_io_again;
        case Status::declined:
            break;
        default:
            return k_io_error;
    }
    if (FileIoCounters* c = counters()) {
        stat_add<std::uint64_t>(c->fallback, 1);
    }
    return read_sync(op);
}

ssize_t FileReader::read_sync(FileRead* op) {
    for (;;) {
        const ssize_t n = ::pread(op->fd, op->buf, op->size, op->offset);
        if (n >= 0) {
            return n;
        }
        if (errno != EINTR) {
            return k_io_error;
        }
    }
}

void FileReader::started(FileRead* op) {
    op->event.active = 1;
    op->event.complete = 0;
    ++in_flight_;
    if (FileIoCounters* c = counters()) {
        stat_add<std::uint64_t>(c->submitted, 1);
    }
    loop_.add_timer(&op->event, op_timeout_);
}

void FileReader::complete(FileRead* op, ssize_t result) {
    --in_flight_;
    if (FileIoCounters* c = counters()) {
        stat_add<std::uint64_t>(c->completed, 1);
    }
    loop_.del_timer(&op->event);
    op->event.active = 0;
    op->event.complete = 1;
    op->result = result;
    loop_.post(&op->event);
}

Status FileReader::watch_eventfd(const char* what, void (*handler)(Event* ev)) {
    eventfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (eventfd_ < 0) {
        const int err = errno;
        loop_.log().write(LogLevel::alert, err, "eventfd() failed: %s is off", what);
        errno = err;
        return Status::declined;
    }
    eventfd_connection_ = loop_.pool().get_internal(eventfd_);
    if (eventfd_connection_ == nullptr) {
        loop_.log().write(LogLevel::emerg, 0, "no internal connection slot for the %s eventfd",
                          what);
        return Status::error;
    }
    eventfd_connection_->data = this;
    eventfd_connection_->immediate = 1;
    eventfd_connection_->read.handler = handler;
    return loop_.backend().add(&eventfd_connection_->read, k_clear_event) == Status::ok
               ? Status::ok
               : Status::error;
}

void FileReader::unwatch_eventfd() {
    if (Connection* c = eventfd_connection_; c != nullptr) {
        if (c->read.active) {
            loop_.backend().del(&c->read, k_close_event);
        }
        loop_.delete_posted(&c->read);
        c->fd = -1;
        eventfd_connection_ = nullptr;
    }
    os::close_fd(eventfd_);
    eventfd_ = -1;
}

FileReader* FileReader::reader_of(Event* ev) {
    return static_cast<FileReader*>(connection_of(ev)->data);
}

void FileReader::on_event(Event* ev) {
    auto* op = static_cast<FileRead*>(ev->data);
    FileReader* self = op->reader;
    if (ev->timedout) {
        // Said once: the operation stays in flight (its buffer is the kernel's until
        // it completes), and its owner's own timeouts decide what becomes of it.
        ev->timedout = 0;
        self->loop_.log().write(LogLevel::alert, 0,
                                "%s file read of %zu bytes at offset %lld from fd %d has not "
                                "completed in %llu ms",
                                self->name(), op->size, static_cast<long long>(op->offset), op->fd,
                                static_cast<unsigned long long>(self->op_timeout_));
        return;
    }
    if (op->orphaned) {
        op->event.complete = 0;
        self->recycle(op);
        return;
    }
    Connection* c = op->connection;
    if (c != nullptr && (c->fd == -1 || c->generation != op->generation)) {
        // The connection this read was for has been closed, and its slot perhaps
        // handed to another: the result must not reach the new user. The owner
        // still releases the operation.
        if (self->loop_.log().enabled(LogLevel::debug)) {
            self->loop_.log().write(LogLevel::debug, 0, "%s file read: stale completion dropped",
                                    self->name());
        }
        return;
    }
    if (op->handler != nullptr) {
        op->handler(op);
    }
}

}  // namespace evs::event
