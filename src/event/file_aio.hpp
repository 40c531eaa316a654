#pragma once

// FileAio: Linux native AIO for one loop (`aio on`), as nginx's epoll module does it
// (ngx_epoll_aio_init, ngx_epoll_eventfd_handler, ngx_file_aio_read):
//
//   - io_setup(worker_aio_requests) creates the context, and an eventfd is
//     registered with the loop, edge-triggered, in an internal connection slot;
//   - a read is one io_submit() of an IOCB_CMD_PREAD whose IOCB_FLAG_RESFD makes
//     the kernel add 1 to the eventfd when it completes;
//   - the eventfd's handler reads the 8-byte count and drains io_getevents() (at
//     least 1, at most 64 at a time, zero timeout), marks each operation complete
//     and posts its event: the owner resumes from the posted queue.
//
// The system calls are made directly (no libaio), through a table a test can
// replace. At most worker_aio_requests operations are in flight: the kernel rounds
// io_setup()'s count up (to whole pages of events), so the limit is kept here, and
// a read past it (or an io_submit() EAGAIN) is done synchronously and counted as a
// fallback. A kernel without AIO (ENOSYS from io_setup or io_submit) disables it
// with one [warn]; reads are then synchronous.
//
// Without O_DIRECT the kernel reads inside io_submit(), which then blocks: nginx's
// documentation says as much, and so does `directio` here.
//
// Ownership: owns the AIO context, the eventfd and its operations; borrows an
// internal slot of the loop's pool. Thread: the loop's thread.

#include <linux/aio_abi.h>
#include <time.h>

#include "core/status.hpp"
#include "event/file_read.hpp"

namespace evs::event {

// The four system calls, as functions returning -1 with errno set on failure.
struct AioSyscalls {
    long (*setup)(unsigned nr_events, aio_context_t* ctx);
    long (*destroy)(aio_context_t ctx);
    long (*submit)(aio_context_t ctx, long count, iocb** iocbs);
    long (*getevents)(aio_context_t ctx, long min_nr, long nr, io_event* events, timespec* timeout);
};

// The kernel's.
const AioSyscalls& native_aio_syscalls();

class FileAio final : public FileReader {
public:
    FileAio(Loop& loop, unsigned max_requests, const AioSyscalls& syscalls = native_aio_syscalls());
    ~FileAio() override;

    // Creates the context and registers the eventfd. ok; declined when native AIO is
    // not available (logged; reads are synchronous); error when the loop has no
    // internal slot left or the backend refuses the eventfd.
    core::Status init();

    const char* name() const override { return "native AIO"; }
    bool enabled() const { return enabled_; }
    unsigned max_requests() const { return max_requests_; }

protected:
    core::Status submit(FileRead* op) override;
    FileRead* new_op() override;
    FileIoCounters* counters() override;

private:
    static void on_eventfd(Event* ev);
    void disable(const char* call);

    AioSyscalls sys_;
    unsigned max_requests_;
    aio_context_t ctx_ = 0;
    bool enabled_ = false;
};

}  // namespace evs::event
