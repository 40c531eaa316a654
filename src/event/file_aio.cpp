#include "event/file_aio.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <new>

#include "event/loop.hpp"

namespace evs::event {

using core::LogLevel;
using core::Status;

namespace {

// nginx calls these through syscall() too: libaio is not needed for four calls.
long sys_io_setup(unsigned nr_events, aio_context_t* ctx) {
    return ::syscall(SYS_io_setup, nr_events, ctx);
}
long sys_io_destroy(aio_context_t ctx) {
    return ::syscall(SYS_io_destroy, ctx);
}
long sys_io_submit(aio_context_t ctx, long count, iocb** iocbs) {
    return ::syscall(SYS_io_submit, ctx, count, iocbs);
}
long sys_io_getevents(aio_context_t ctx, long min_nr, long nr, io_event* events,
                      timespec* timeout) {
    return ::syscall(SYS_io_getevents, ctx, min_nr, nr, events, timeout);
}

const AioSyscalls k_native{sys_io_setup, sys_io_destroy, sys_io_submit, sys_io_getevents};

// An operation with the control block the kernel reads at io_submit().
struct AioRead final : FileRead {
    iocb cb{};
};

constexpr long k_events_per_call = 64;

}  // namespace

const AioSyscalls& native_aio_syscalls() {
    return k_native;
}

FileAio::FileAio(Loop& loop, unsigned max_requests, const AioSyscalls& syscalls)
    : FileReader(loop), sys_(syscalls), max_requests_(max_requests > 0 ? max_requests : 1) {}

FileAio::~FileAio() {
    if (ctx_ != 0) {
        // Blocks until every operation still in flight has completed or been
        // cancelled: after it, no buffer can be written to, and the base class
        // frees them.
        sys_.destroy(ctx_);
        ctx_ = 0;
    }
    unwatch_eventfd();
}

Status FileAio::init() {
    if (sys_.setup(max_requests_, &ctx_) < 0) {
        const int err = errno;
        ctx_ = 0;
        // ENOSYS: a kernel built without AIO; EAGAIN: fs.aio-max-nr is exhausted.
        loop_.log().write(err == ENOSYS ? LogLevel::warn : LogLevel::alert, err,
                          "io_setup(%u) failed: native AIO is off, files are read synchronously",
                          max_requests_);
        return Status::declined;
    }
    if (const Status s = watch_eventfd("native AIO", on_eventfd); s != Status::ok) {
        return s;
    }
    enabled_ = true;
    if (loop_.log().enabled(LogLevel::debug)) {
        loop_.log().write(LogLevel::debug, 0, "native AIO: io_setup(%u), eventfd %d", max_requests_,
                          eventfd());
    }
    return Status::ok;
}

FileRead* FileAio::new_op() {
    return new (std::nothrow) AioRead;
}

FileIoCounters* FileAio::counters() {
    return &loop_.file_io_stats().native;
}

void FileAio::disable(const char* call) {
    // Once: every later read is synchronous without asking the kernel again.
    enabled_ = false;
    loop_.log().write(LogLevel::warn, ENOSYS,
                      "%s failed: native AIO is not supported, files are read synchronously", call);
}

Status FileAio::submit(FileRead* op) {
    if (!enabled_) {
        return Status::declined;
    }
    if (in_flight() >= max_requests_) {
        if (loop_.log().enabled(LogLevel::debug)) {
            loop_.log().write(LogLevel::debug, 0,
                              "native AIO: %u operations in flight (worker_aio_requests), "
                              "fd %d read synchronously",
                              max_requests_, op->fd);
        }
        return Status::declined;
    }
    auto* aio = static_cast<AioRead*>(op);
    aio->cb = iocb{};
    aio->cb.aio_data = reinterpret_cast<std::uintptr_t>(op);
    aio->cb.aio_lio_opcode = IOCB_CMD_PREAD;
    aio->cb.aio_fildes = static_cast<std::uint32_t>(op->fd);
    aio->cb.aio_buf = reinterpret_cast<std::uintptr_t>(op->buf);
    aio->cb.aio_nbytes = op->size;
    aio->cb.aio_offset = op->offset;
    aio->cb.aio_flags = IOCB_FLAG_RESFD;
    aio->cb.aio_resfd = static_cast<std::uint32_t>(eventfd());
    iocb* list[1] = {&aio->cb};
    const long n = sys_.submit(ctx_, 1, list);
    if (n == 1) {
        started(op);
        if (loop_.log().enabled(LogLevel::debug)) {
            loop_.log().write(LogLevel::debug, 0, "native AIO: io_submit fd %d, %zu bytes at %lld",
                              op->fd, op->size, static_cast<long long>(op->offset));
        }
        return Status::again;
    }
    const int err = n < 0 ? errno : EAGAIN;  // 0 submitted: the queue is full
    if (err == EAGAIN) {
        if (loop_.log().enabled(LogLevel::debug)) {
            loop_.log().write(LogLevel::debug, EAGAIN,
                              "native AIO: io_submit() fd %d, read synchronously", op->fd);
        }
        return Status::declined;
    }
    if (err == ENOSYS) {
        disable("io_submit()");
        return Status::declined;
    }
    loop_.log().write(LogLevel::crit, err, "io_submit() fd %d failed", op->fd);
    errno = err;
    return Status::error;
}

void FileAio::on_eventfd(Event* ev) {
    Connection* c = connection_of(ev);
    auto* self = static_cast<FileAio*>(reader_of(ev));
    std::uint64_t ready = 0;
    const ssize_t n = ::read(c->fd, &ready, sizeof(ready));
    ev->ready = 0;
    if (n != sizeof(ready)) {
        if (n < 0 && errno != EAGAIN) {
            self->loop_.log().write(LogLevel::alert, errno, "read() of the AIO eventfd failed");
        }
        return;
    }
    io_event events[k_events_per_call];
    while (ready > 0) {
        timespec zero{0, 0};
        const long got = self->sys_.getevents(self->ctx_, 1, k_events_per_call, events, &zero);
        if (got > 0) {
            // More may have been collected than the count said (completions that
            // arrived after the read): their eventfd increments then find nothing.
            ready = static_cast<std::uint64_t>(got) >= ready
                        ? 0
                        : ready - static_cast<std::uint64_t>(got);
            for (long i = 0; i < got; ++i) {
                auto* op = reinterpret_cast<FileRead*>(static_cast<std::uintptr_t>(events[i].data));
                self->complete(op, static_cast<ssize_t>(events[i].res));
            }
            continue;
        }
        if (got == 0) {
            return;
        }
        if (errno == EINTR) {
            continue;
        }
        self->loop_.log().write(LogLevel::alert, errno, "io_getevents() failed");
        return;
    }
}

}  // namespace evs::event
