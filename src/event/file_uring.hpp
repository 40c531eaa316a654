#pragma once

// UringFileReader: file reads through io_uring for one loop (`aio io_uring`), the
// one reader here that nginx does not have:
//
//   - one ring per worker (liburing), worker_aio_requests entries rounded up to a
//     power of two as the kernel does; its completions signal an eventfd
//     (io_uring_register_eventfd) that is registered with the loop, edge-triggered,
//     in an internal connection slot, as FileAio registers its own;
//   - a read is one IORING_OP_READ submitted at once (one io_uring_enter per read:
//     the simplest order, and the operation is in the kernel's hands when read()
//     returns; batching per loop turn would save a system call per read but hold
//     reads back until the loop comes round, see docs/AIO.md). No O_DIRECT is
//     needed: a read the page cache cannot serve goes to the kernel's own workers,
//     the loop never blocks; with directio the read is truly asynchronous;
//   - the eventfd's handler reads the counter, then drains the completion queue in
//     place (io_uring_peek_batch_cqe, io_uring_cq_advance: no system call), at most
//     k_completions_per_turn per turn; what is left is taken on the next turn
//     (the handler posts itself to the loop's next-turn queue), so that a burst of
//     completions cannot starve the connections;
//   - at most worker_aio_requests operations are in flight; past that, or when the
//     submission queue stays full after submitting what is queued, a read is done
//     synchronously and counted as a fallback.
//
// The ring is created with IORING_SETUP_SINGLE_ISSUER and COOP_TASKRUN where the
// kernel knows them (6.0, 5.19; EINVAL otherwise, then without). A kernel without
// io_uring (ENOSYS, EPERM from seccomp or kernel.io_uring_disabled) leaves the
// reader disabled: init() says so, and the worker sends those locations to a thread
// pool with one [warn].
//
// The destructor cancels what is still in flight and waits for every completion
// before the buffers go (a kernel worker could otherwise write into freed memory).
//
// Ownership: owns the ring, the eventfd and its operations; borrows an internal slot
// of the loop's pool. Thread: the loop's thread (the ring's single issuer).

#include <memory>

#include "core/status.hpp"
#include "event/file_read.hpp"

struct io_uring;
struct io_uring_params;

namespace evs::event {

// The two liburing calls a test may replace, with liburing's conventions (0 or the
// count on success, -errno on failure).
struct UringCalls {
    int (*queue_init)(unsigned entries, io_uring* ring, io_uring_params* params);
    int (*submit)(io_uring* ring);
};

// liburing's.
const UringCalls& native_uring_calls();

class UringFileReader final : public FileReader {
public:
    // Completions taken by one run of the eventfd handler.
    static constexpr unsigned k_completions_per_turn = 128;
    // io_uring's own limit on entries (IORING_MAX_ENTRIES).
    static constexpr unsigned k_max_entries = 32768;

    UringFileReader(Loop& loop, unsigned max_requests,
                    const UringCalls& calls = native_uring_calls());
    ~UringFileReader() override;

    // Creates the ring and registers the eventfd. ok; declined when io_uring is not
    // available (setup_error() says why; reads are synchronous until someone else
    // takes them); error when the loop has no internal slot left or the backend
    // refuses the eventfd.
    core::Status init();

    const char* name() const override { return "io_uring"; }
    bool enabled() const { return enabled_; }
    unsigned max_requests() const { return max_requests_; }
    unsigned entries() const { return entries_; }
    // The errno of the failed ring setup (0: none), and the setup flags in use.
    int setup_error() const { return setup_error_; }
    unsigned setup_flags() const { return setup_flags_; }
    // Completions waiting in the queue, not yet taken by the handler.
    unsigned ready_completions() const;

protected:
    core::Status submit(FileRead* op) override;
    FileIoCounters* counters() override;

private:
    static void on_eventfd(Event* ev);
    int create_ring();
    void wait_for_in_flight();

    UringCalls calls_;
    unsigned max_requests_;
    unsigned entries_ = 0;
    unsigned setup_flags_ = 0;
    int setup_error_ = 0;
    std::unique_ptr<io_uring> ring_;
    bool ring_ready_ = false;
    bool enabled_ = false;
};

}  // namespace evs::event
