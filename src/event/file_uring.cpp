// UringFileReader: the ring, its eventfd in the loop, submission with the
// synchronous fallbacks, the bounded drain of the completion queue, and the
// destructor that waits for the kernel (see file_uring.hpp). Loop thread only.

#include "event/file_uring.hpp"

#include <liburing.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "event/loop.hpp"

namespace evs::event {

using core::LogLevel;
using core::Status;

namespace {

int native_queue_init(unsigned entries, io_uring* ring, io_uring_params* params) {
    return io_uring_queue_init_params(entries, ring, params);
}
int native_submit(io_uring* ring) {
    return io_uring_submit(ring);
}

const UringCalls k_native{native_queue_init, native_submit};

// Completions copied out of the queue at a time.
constexpr unsigned k_batch = 32;

// The flags asked of the kernel, best first: a single issuer lets the kernel skip
// locking, cooperative task running spares the loop thread an interrupt for each
// completion (it is woken anyway, its epoll_wait sees the eventfd). A kernel that
// does not know a flag refuses the ring with EINVAL; the next set is tried.
constexpr unsigned k_flag_sets[] = {
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
    0,
};

}  // namespace

const UringCalls& native_uring_calls() {
    return k_native;
}

UringFileReader::UringFileReader(Loop& loop, unsigned max_requests, const UringCalls& calls)
    : FileReader(loop),
      calls_(calls),
      max_requests_(std::clamp(max_requests, 1u, k_max_entries)),
      ring_(std::make_unique<io_uring>()) {}

UringFileReader::~UringFileReader() {
    if (ring_ready_) {
        wait_for_in_flight();
        io_uring_queue_exit(ring_.get());
        ring_ready_ = false;
    }
    unwatch_eventfd();
}

// The kernel may write into the buffer of any operation still in flight (one of its
// workers may be in the middle of the copy): they are cancelled, and every
// completion is waited for, before the base class frees the buffers. A read of a
// regular file cannot always be cancelled, but it ends; one of a pipe or a socket
// (a test's) is cancelled. Kernels before 5.19 refuse IORING_ASYNC_CANCEL_ANY
// (EINVAL in its completion): the reads are then waited for.
void UringFileReader::wait_for_in_flight() {
    if (in_flight() == 0) {
        return;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
    if (sqe == nullptr) {
        calls_.submit(ring_.get());
        sqe = io_uring_get_sqe(ring_.get());
    }
    if (sqe != nullptr) {
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
        io_uring_sqe_set_data64(sqe, 0);
    }
    // Whatever is queued goes in, or the waits below would never see it complete.
    while (io_uring_sq_ready(ring_.get()) > 0) {
        const int n = calls_.submit(ring_.get());
        if (n < 0 && n != -EINTR && n != -EAGAIN && n != -EBUSY) {
            break;
        }
    }
    while (in_flight() > 0) {
        io_uring_cqe* cqe = nullptr;
        const int err = io_uring_wait_cqe(ring_.get(), &cqe);
        if (err == -EINTR) {
            continue;
        }
        if (err < 0) {
            // Nothing more can be learnt from the ring: better an alert than a hang.
            loop_.log().write(LogLevel::alert, -err,
                              "io_uring_wait_cqe() failed with %zu file reads in flight",
                              in_flight());
            return;
        }
        if (auto* op = static_cast<FileRead*>(io_uring_cqe_get_data(cqe)); op != nullptr) {
            complete(op, cqe->res);
        }
        io_uring_cqe_seen(ring_.get(), cqe);
    }
}

int UringFileReader::create_ring() {
    entries_ = std::bit_ceil(max_requests_);
    int err = 0;
    for (const unsigned flags : k_flag_sets) {
        io_uring_params params;
        std::memset(&params, 0, sizeof(params));
        params.flags = flags;
        err = calls_.queue_init(entries_, ring_.get(), &params);
        if (err == 0) {
            setup_flags_ = flags;
            return 0;
        }
        if (err != -EINVAL) {
            break;
        }
    }
    return -err;
}

Status UringFileReader::init() {
    if (const int err = create_ring(); err != 0) {
        // ENOSYS: no io_uring in this kernel, or a seccomp filter; EPERM:
        // kernel.io_uring_disabled; ENOMEM: RLIMIT_MEMLOCK on kernels before 5.12.
        setup_error_ = err;
        if (loop_.log().enabled(LogLevel::debug)) {
            loop_.log().write(LogLevel::debug, err, "io_uring: io_uring_queue_init(%u) failed",
                              entries_);
        }
        return Status::declined;
    }
    ring_ready_ = true;
    if (const Status s = watch_eventfd("io_uring", on_eventfd); s != Status::ok) {
        setup_error_ = s == Status::declined ? errno : 0;
        return s;
    }
    if (const int err = io_uring_register_eventfd(ring_.get(), eventfd()); err < 0) {
        setup_error_ = -err;
        loop_.log().write(LogLevel::alert, -err, "io_uring_register_eventfd() failed");
        return Status::declined;
    }
    enabled_ = true;
    if (loop_.log().enabled(LogLevel::debug)) {
        loop_.log().write(LogLevel::debug, 0,
                          "io_uring: ring of %u entries, flags 0x%x, eventfd %d, %u reads in "
                          "flight at most",
                          entries_, setup_flags_, eventfd(), max_requests_);
    }
    return Status::ok;
}

unsigned UringFileReader::ready_completions() const {
    return ring_ready_ ? io_uring_cq_ready(ring_.get()) : 0;
}

FileIoCounters* UringFileReader::counters() {
    return &loop_.file_io_stats().io_uring;
}

Status UringFileReader::submit(FileRead* op) {
    if (!enabled_) {
        return Status::declined;
    }
    if (in_flight() >= max_requests_) {
        if (loop_.log().enabled(LogLevel::debug)) {
            loop_.log().write(LogLevel::debug, 0,
                              "io_uring: %u operations in flight (worker_aio_requests), fd %d "
                              "read synchronously",
                              max_requests_, op->fd);
        }
        return Status::declined;
    }
    io_uring* ring = ring_.get();
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (sqe == nullptr) {
        // Entries left behind by a submission that failed: they go in first.
        calls_.submit(ring);
        sqe = io_uring_get_sqe(ring);
        if (sqe == nullptr) {
            if (loop_.log().enabled(LogLevel::debug)) {
                loop_.log().write(LogLevel::debug, 0,
                                  "io_uring: submission queue full, fd %d read synchronously",
                                  op->fd);
            }
            return Status::declined;
        }
    }
    io_uring_prep_read(sqe, op->fd, op->buf, static_cast<unsigned>(op->size),
                       static_cast<std::uint64_t>(op->offset));
    io_uring_sqe_set_data(sqe, op);
    const int n = calls_.submit(ring);
    if (io_uring_sq_ready(ring) == 0) {
        // The kernel has taken every entry, ours (the last) included.
        started(op);
        if (loop_.log().enabled(LogLevel::debug)) {
            loop_.log().write(LogLevel::debug, 0, "io_uring: submit fd %d, %zu bytes at %lld",
                              op->fd, op->size, static_cast<long long>(op->offset));
        }
        return Status::again;
    }
    // Not taken (EAGAIN or EBUSY: the kernel is short of memory or of completion
    // space). The entry stays in the queue, where the kernel will read it with the
    // next submission: it becomes a no-op that names no operation, and the read is
    // done synchronously now.
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data(sqe, nullptr);
    const int err = n < 0 ? -n : EAGAIN;
    const LogLevel level =
        err == EAGAIN || err == EBUSY || err == EINTR ? LogLevel::debug : LogLevel::alert;
    if (loop_.log().enabled(level)) {
        loop_.log().write(level, err, "io_uring: io_uring_submit() fd %d, read synchronously",
                          op->fd);
    }
    return Status::declined;
}

void UringFileReader::on_eventfd(Event* ev) {
    Connection* c = connection_of(ev);
    auto* self = static_cast<UringFileReader*>(reader_of(ev));
    io_uring* ring = self->ring_.get();
    // The count itself says nothing the queue does not: it is read to re-arm the
    // edge (EAGAIN when this run was posted for the leftovers of the last one).
    std::uint64_t count = 0;
    if (::read(c->fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
        self->loop_.log().write(LogLevel::alert, errno, "read() of the io_uring eventfd failed");
    }
    ev->ready = 0;
    unsigned taken = 0;
    io_uring_cqe* cqes[k_batch];
    while (taken < k_completions_per_turn) {
        const unsigned got =
            io_uring_peek_batch_cqe(ring, cqes, std::min(k_batch, k_completions_per_turn - taken));
        if (got == 0) {
            break;
        }
        for (unsigned i = 0; i < got; ++i) {
            // No-ops and cancellations name no operation.
            if (auto* op = static_cast<FileRead*>(io_uring_cqe_get_data(cqes[i])); op != nullptr) {
                self->complete(op, cqes[i]->res);
            }
        }
        io_uring_cq_advance(ring, got);
        taken += got;
    }
    if (io_uring_cq_ready(ring) > 0) {
        // The rest on the next turn: the eventfd's edge has been spent already.
        if (self->loop_.log().enabled(LogLevel::debug)) {
            self->loop_.log().write(LogLevel::debug, 0,
                                    "io_uring: %u completions taken, %u left for the next turn",
                                    taken, io_uring_cq_ready(ring));
        }
        self->loop_.post(ev, PostedQueue::next);
    }
}

}  // namespace evs::event
