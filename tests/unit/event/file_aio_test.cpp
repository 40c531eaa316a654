// FileAio and FileReader: reads through the loop (io_submit, the eventfd, the
// posted completion), re-entrant results, the synchronous fallbacks (the
// worker_aio_requests limit, io_submit EAGAIN, ENOSYS from io_setup or io_submit,
// each through a replaced system call), the per-operation alert, and the lifetime
// rules: an operation released in flight is recycled only after its completion, and
// a completion for a closed (and reused) connection never reaches the new user.
// Once per backend.

#include "event/file_aio.hpp"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "event/io.hpp"
#include "unit/event/file_read_harness.hpp"

namespace evs::event {
namespace {

using core::Status;

using test::Completion;
using test::count_of;
using test::plan_read;
using test::TempFile;

// Replaceable system calls: the kernel's, unless a test sets one of these.
struct Fakes {
    int submit_errno = 0;  // io_submit fails with this
    bool swallow = false;  // io_submit "succeeds" but submits nothing
    int setup_errno = 0;   // io_setup fails with this
    int submit_calls = 0;
};
Fakes g_fakes;

long fake_setup(unsigned nr, aio_context_t* ctx) {
    if (g_fakes.setup_errno != 0) {
        errno = g_fakes.setup_errno;
        return -1;
    }
    return native_aio_syscalls().setup(nr, ctx);
}
long fake_submit(aio_context_t ctx, long count, iocb** iocbs) {
    ++g_fakes.submit_calls;
    if (g_fakes.submit_errno != 0) {
        errno = g_fakes.submit_errno;
        return -1;
    }
    if (g_fakes.swallow) {
        return count;
    }
    return native_aio_syscalls().submit(ctx, count, iocbs);
}
long real_destroy(aio_context_t ctx) {
    return native_aio_syscalls().destroy(ctx);
}
long real_getevents(aio_context_t ctx, long min_nr, long nr, io_event* events, timespec* t) {
    return native_aio_syscalls().getevents(ctx, min_nr, nr, events, t);
}
const AioSyscalls k_fake{fake_setup, real_destroy, fake_submit, real_getevents};

class FileAioTest : public test::FileReadTest {
protected:
    void SetUp() override {
        g_fakes = Fakes{};
        test::FileReadTest::SetUp();
    }
    void TearDown() override { g_fakes = Fakes{}; }
};

FileIoCounters& native_counters(Loop& loop) {
    return loop.file_io_stats().native;
}

TEST_P(FileAioTest, ReadsThroughTheEventfdAndReturnsTheResultOnTheSecondCall) {
    TempFile file(1024 * 1024 + 7);
    FileAio aio(*loop_, 4);
    ASSERT_EQ(aio.init(), Status::ok) << captured_.text();
    const int direct = file.open_direct();
    const int fd = direct >= 0 ? direct : file.fd();

    Completion done;
    FileRead* op = aio.acquire(65536, 4096, nullptr);
    ASSERT_NE(op, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(op->buf) % 4096, 0u);
    plan_read(op, fd, 8192, 65536, &done);

    EXPECT_EQ(aio.read(op), k_io_again);
    EXPECT_EQ(aio.read(op), k_io_again) << "in flight: again, without a second submit";
    EXPECT_EQ(aio.in_flight(), 1u);
    ASSERT_TRUE(run_until([&] { return done.calls > 0; }));
    EXPECT_EQ(done.calls, 1);
    EXPECT_EQ(aio.read(op), 65536);
    EXPECT_EQ(std::string(op->buf, 65536), file.slice(8192, 65536));
    EXPECT_EQ(aio.in_flight(), 0u);
    EXPECT_EQ(native_counters(*loop_).submitted.load(), 1u);
    EXPECT_EQ(native_counters(*loop_).completed.load(), 1u);
    EXPECT_EQ(native_counters(*loop_).fallback.load(), 0u);

    // The file's unaligned end: a short read of what is there.
    op->offset = 1024 * 1024;
    op->size = 4096;
    EXPECT_EQ(read_through_loop(aio, op, done), 7);
    EXPECT_EQ(std::string(op->buf, 7), file.slice(1024 * 1024, 7));
    aio.release(op);
    if (direct >= 0) {
        ::close(direct);
    }
}

TEST_P(FileAioTest, ReadsPastWorkerAioRequestsFallBackToSynchronousReads) {
    TempFile file(256 * 1024);
    FileAio aio(*loop_, 2);
    ASSERT_EQ(aio.init(), Status::ok);
    Completion done;
    std::vector<FileRead*> ops;
    std::vector<ssize_t> first;
    for (int i = 0; i < 5; ++i) {
        FileRead* op = aio.acquire(4096, 512, nullptr);
        ASSERT_NE(op, nullptr);
        plan_read(op, file.fd(), static_cast<off_t>(i) * 4096, 4096, &done);
        ops.push_back(op);
        first.push_back(aio.read(op));
    }
    EXPECT_EQ(first[0], k_io_again);
    EXPECT_EQ(first[1], k_io_again);
    for (int i = 2; i < 5; ++i) {
        EXPECT_EQ(first[static_cast<std::size_t>(i)], 4096) << "read " << i;
        EXPECT_EQ(std::string(ops[static_cast<std::size_t>(i)]->buf, 4096),
                  file.slice(static_cast<std::size_t>(i) * 4096, 4096));
    }
    EXPECT_EQ(native_counters(*loop_).fallback.load(), 3u);
    EXPECT_EQ(native_counters(*loop_).submitted.load(), 2u);
    ASSERT_TRUE(run_until([&] { return done.calls == 2; }));
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(aio.read(ops[static_cast<std::size_t>(i)]), 4096);
        EXPECT_EQ(std::string(ops[static_cast<std::size_t>(i)]->buf, 4096),
                  file.slice(static_cast<std::size_t>(i) * 4096, 4096));
    }
    EXPECT_EQ(native_counters(*loop_).completed.load(), 2u);
    for (FileRead* op : ops) {
        aio.release(op);
    }
}

TEST_P(FileAioTest, IoSubmitEagainFallsBackToASynchronousRead) {
    TempFile file(16384);
    FileAio aio(*loop_, 8, k_fake);
    ASSERT_EQ(aio.init(), Status::ok);
    g_fakes.submit_errno = EAGAIN;
    FileRead* op = aio.acquire(4096, 512, nullptr);
    plan_read(op, file.fd(), 4096, 4096);
    EXPECT_EQ(aio.read(op), 4096);
    EXPECT_EQ(std::string(op->buf, 4096), file.slice(4096, 4096));
    EXPECT_EQ(g_fakes.submit_calls, 1);
    EXPECT_EQ(native_counters(*loop_).fallback.load(), 1u);
    EXPECT_EQ(native_counters(*loop_).submitted.load(), 0u);
    EXPECT_TRUE(aio.enabled()) << "EAGAIN is a full queue, not a missing feature";
    aio.release(op);
}

TEST_P(FileAioTest, EnosysFromIoSetupLeavesReadsSynchronousWithOneWarning) {
    TempFile file(8192);
    g_fakes.setup_errno = ENOSYS;
    FileAio aio(*loop_, 8, k_fake);
    EXPECT_EQ(aio.init(), Status::declined);
    EXPECT_FALSE(aio.enabled());
    EXPECT_EQ(count_of(captured_.text(), "[warn]"), 1u) << captured_.text();
    EXPECT_TRUE(captured_.contains("io_setup(8) failed")) << captured_.text();
    FileRead* op = aio.acquire(4096, 512, nullptr);
    plan_read(op, file.fd(), 0, 4096);
    EXPECT_EQ(aio.read(op), 4096);
    EXPECT_EQ(std::string(op->buf, 4096), file.slice(0, 4096));
    EXPECT_EQ(g_fakes.submit_calls, 0);
    aio.release(op);
}

TEST_P(FileAioTest, EnosysFromIoSubmitDisablesAioOnceWithOneWarning) {
    TempFile file(8192);
    FileAio aio(*loop_, 8, k_fake);
    ASSERT_EQ(aio.init(), Status::ok);
    g_fakes.submit_errno = ENOSYS;
    FileRead* op = aio.acquire(4096, 512, nullptr);
    plan_read(op, file.fd(), 0, 4096);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(aio.read(op), 4096);
        EXPECT_EQ(std::string(op->buf, 4096), file.slice(0, 4096));
    }
    EXPECT_EQ(g_fakes.submit_calls, 1) << "disabled after the first ENOSYS";
    EXPECT_FALSE(aio.enabled());
    EXPECT_EQ(count_of(captured_.text(), "[warn]"), 1u) << captured_.text();
    EXPECT_EQ(native_counters(*loop_).fallback.load(), 3u);
    aio.release(op);
}

TEST_P(FileAioTest, ACompletionForAClosedAndReusedConnectionNeverReachesIt) {
    TempFile file(65536);
    FileAio aio(*loop_, 8);
    ASSERT_EQ(aio.init(), Status::ok);
    int pair[2];
    test::socket_pair(pair);
    Connection* c = loop_->pool().get(pair[0]);
    ASSERT_NE(c, nullptr);
    Completion done;
    FileRead* op = aio.acquire(65536, 4096, c);
    plan_read(op, file.fd(), 0, 65536, &done);
    ASSERT_EQ(aio.read(op), k_io_again);

    // The client goes away; its slot goes to the next connection at once (LIFO).
    loop_->close_connection(c);
    int pair2[2];
    test::socket_pair(pair2);
    Connection* reused = loop_->pool().get(pair2[0]);
    ASSERT_EQ(reused, c) << "the pool hands the slot out again";

    ASSERT_TRUE(drain(aio));  // the posted completion runs
    EXPECT_EQ(done.calls, 0) << "a stale completion reached the slot's new user";
    aio.release(op);
    loop_->close_connection(reused);
    ::close(pair[1]);
    ::close(pair2[1]);
}

TEST_P(FileAioTest, AnOperationReleasedInFlightIsRecycledOnlyAfterItsCompletion) {
    TempFile file(65536);
    FileAio aio(*loop_, 8);
    ASSERT_EQ(aio.init(), Status::ok);
    Completion done;
    FileRead* op = aio.acquire(65536, 4096, nullptr);
    plan_read(op, file.fd(), 0, 65536, &done);
    ASSERT_EQ(aio.read(op), k_io_again);
    aio.release(op);  // the owner is gone; the kernel is not done with the buffer

    FileRead* other = aio.acquire(4096, 512, nullptr);
    EXPECT_NE(other, op) << "an operation in flight was handed out again";
    aio.release(other);
    ASSERT_TRUE(drain(aio));
    EXPECT_EQ(done.calls, 0) << "the completion reached a released operation's owner";
    FileRead* again = aio.acquire(4096, 512, nullptr);
    FileRead* after = aio.acquire(4096, 512, nullptr);
    EXPECT_TRUE(again == op || after == op) << "the completed operation was not recycled";
    aio.release(again);
    aio.release(after);
}

TEST_P(FileAioTest, AnOperationThatDoesNotCompleteRaisesOneAlert) {
    TempFile file(8192);
    FileAio aio(*loop_, 8, k_fake);
    ASSERT_EQ(aio.init(), Status::ok);
    aio.set_op_timeout(30);
    g_fakes.swallow = true;  // accepted, never completed
    Completion done;
    FileRead* op = aio.acquire(4096, 512, nullptr);
    plan_read(op, file.fd(), 0, 4096, &done);
    ASSERT_EQ(aio.read(op), k_io_again);
    ASSERT_TRUE(run_until([&] { return captured_.contains("[alert]"); }, 2000)) << captured_.text();
    run_until([] { return false; }, 100);
    EXPECT_EQ(count_of(captured_.text(), "[alert]"), 1u) << captured_.text();
    EXPECT_TRUE(captured_.contains("has not completed in 30 ms")) << captured_.text();
    EXPECT_EQ(done.calls, 0);
    EXPECT_EQ(aio.read(op), k_io_again) << "still in flight";
    aio.release(op);  // orphaned; the destructor frees it
}

TEST_P(FileAioTest, TheSynchronousReaderReadsAtOnceAndCountsNothing) {
    TempFile file(10000);
    FileReader sync(*loop_);
    FileRead* op = sync.acquire(4096, 64, nullptr);
    plan_read(op, file.fd(), 9000, 4096);
    EXPECT_EQ(sync.read(op), 1000);
    EXPECT_EQ(std::string(op->buf, 1000), file.slice(9000, 1000));
    const FileIoStats& stats = loop_->file_io_stats();
    EXPECT_EQ(stats.native.fallback.load() + stats.native.submitted.load(), 0u);
    sync.release(op);
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(FileAioTest);

}  // namespace
}  // namespace evs::event
