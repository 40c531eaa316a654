// UringFileReader: reads through the ring and its eventfd, re-entrant results, the
// synchronous fallbacks (worker_aio_requests, a submission the kernel does not take,
// a full submission queue, through a replaced io_uring_submit), the setup flags
// probe and a kernel without io_uring (a replaced io_uring_queue_init), the bounded
// drain of the completion queue, and the lifetime rules: an operation released in
// flight is recycled only after its completion, a completion for a closed (and
// reused) connection never reaches the new user, and the destructor cancels and
// waits for reads still in flight (reads of an empty pipe, which never end by
// themselves). Once per backend. Skipped where the kernel refuses io_uring.

#include "event/file_uring.hpp"

#include <fcntl.h>
#include <liburing.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "unit/event/file_read_harness.hpp"

namespace evs::event {
namespace {

using core::Status;
using test::Completion;
using test::count_completion;
using test::count_of;
using test::TempFile;

// Replaceable liburing calls: liburing's, unless a test sets one of these.
struct Fakes {
    int submit_result = 0;       // io_uring_submit returns this (<0) without submitting
    int setup_result = 0;        // io_uring_queue_init returns this (<0)
    unsigned refused_flags = 0;  // io_uring_queue_init refuses these flags with EINVAL
    int submit_calls = 0;
};
Fakes g_fakes;

int fake_queue_init(unsigned entries, io_uring* ring, io_uring_params* params) {
    if (g_fakes.setup_result != 0) {
        return g_fakes.setup_result;
    }
    if ((params->flags & g_fakes.refused_flags) != 0) {
        return -EINVAL;
    }
    return native_uring_calls().queue_init(entries, ring, params);
}
int fake_submit(io_uring* ring) {
    ++g_fakes.submit_calls;
    if (g_fakes.submit_result != 0) {
        return g_fakes.submit_result;
    }
    return native_uring_calls().submit(ring);
}
const UringCalls k_fake{fake_queue_init, fake_submit};

// Whether this kernel (and its seccomp filter) lets us have a ring at all.
bool kernel_has_io_uring() {
    io_uring ring;
    if (io_uring_queue_init(2, &ring, 0) != 0) {
        return false;
    }
    io_uring_queue_exit(&ring);
    return true;
}

// A pipe whose read end blocks: an io_uring read of it stays in flight until
// something is written.
class Pipe {
public:
    Pipe() {
        if (::pipe2(fds_, O_CLOEXEC) != 0) {
            ADD_FAILURE() << "pipe2 failed";
        }
    }
    ~Pipe() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    int read_end() const { return fds_[0]; }
    int write_end() const { return fds_[1]; }

private:
    int fds_[2] = {-1, -1};
};

FileIoCounters& uring_counters(Loop& loop) {
    return loop.file_io_stats().io_uring;
}

class FileUringTest : public test::FileReadTest {
protected:
    void SetUp() override {
        g_fakes = Fakes{};
        if (!kernel_has_io_uring()) {
            GTEST_SKIP() << "io_uring is not available here";
        }
        test::FileReadTest::SetUp();
    }
    void TearDown() override { g_fakes = Fakes{}; }

    FileRead* prepare(FileReader& reader, int fd, off_t offset, std::size_t size, Completion& done,
                      Connection* c = nullptr) {
        FileRead* op = reader.acquire(size, 512, c);
        if (op != nullptr) {
            op->handler = count_completion;
            op->data = &done;
            op->fd = fd;
            op->offset = offset;
            op->size = size;
        }
        return op;
    }
};

TEST_P(FileUringTest, ReadsThroughTheEventfdAndReturnsTheResultOnTheSecondCall) {
    TempFile file(1024 * 1024 + 7);
    UringFileReader uring(*loop_, 4);
    ASSERT_EQ(uring.init(), Status::ok) << captured_.text();
    EXPECT_TRUE(uring.enabled());
    EXPECT_EQ(uring.entries(), 4u);
    Completion done;
    FileRead* op = prepare(uring, file.fd(), 8192, 65536, done);
    ASSERT_NE(op, nullptr);

    EXPECT_EQ(uring.read(op), k_io_again);
    EXPECT_EQ(uring.read(op), k_io_again) << "in flight: again, without a second submit";
    EXPECT_EQ(uring.in_flight(), 1u);
    EXPECT_EQ(uring_counters(*loop_).submitted.load(), 1u);
    ASSERT_TRUE(run_until([&] { return done.calls > 0; }));
    EXPECT_EQ(done.calls, 1);
    EXPECT_EQ(uring.read(op), 65536);
    EXPECT_EQ(std::string(op->buf, 65536), file.slice(8192, 65536));
    EXPECT_EQ(uring.in_flight(), 0u);
    EXPECT_EQ(uring_counters(*loop_).completed.load(), 1u);
    EXPECT_EQ(uring_counters(*loop_).fallback.load(), 0u);

    // The file's end: a short read of what is there, then end of file.
    op->offset = 1024 * 1024;
    op->size = 4096;
    EXPECT_EQ(read_through_loop(uring, op, done), 7);
    EXPECT_EQ(std::string(op->buf, 7), file.slice(1024 * 1024, 7));
    op->offset = 1024 * 1024 + 7;
    EXPECT_EQ(read_through_loop(uring, op, done), 0);
    uring.release(op);
}

TEST_P(FileUringTest, ReadsWithODirectWhereTheFileSystemTakesIt) {
    TempFile file(256 * 1024);
    const int direct = file.open_direct();
    if (direct < 0) {
        GTEST_SKIP() << "/tmp refuses O_DIRECT";
    }
    UringFileReader uring(*loop_, 8);
    ASSERT_EQ(uring.init(), Status::ok);
    Completion done;
    FileRead* op = uring.acquire(65536, 4096, nullptr);
    op->handler = count_completion;
    op->data = &done;
    op->fd = direct;
    op->offset = 4096;
    op->size = 65536;
    EXPECT_EQ(read_through_loop(uring, op, done), 65536);
    EXPECT_EQ(std::string(op->buf, 65536), file.slice(4096, 65536));
    uring.release(op);
    ::close(direct);
}

TEST_P(FileUringTest, AnErrorIsReturnedWithErrno) {
    Pipe pipe;
    UringFileReader uring(*loop_, 4);
    ASSERT_EQ(uring.init(), Status::ok);
    Completion done;
    // A write-only descriptor cannot be read: the kernel's EBADF, through the ring.
    FileRead* op = prepare(uring, pipe.write_end(), 0, 16, done);
    errno = 0;
    EXPECT_EQ(read_through_loop(uring, op, done), k_io_error);
    EXPECT_EQ(errno, EBADF);
    uring.release(op);
}

TEST_P(FileUringTest, ReadsPastWorkerAioRequestsFallBackToSynchronousReads) {
    TempFile file(256 * 1024);
    Pipe pipe;
    UringFileReader uring(*loop_, 2);
    ASSERT_EQ(uring.init(), Status::ok);
    Completion done;
    // Two reads of an empty pipe hold both slots.
    FileRead* held[2];
    for (FileRead*& op : held) {
        op = prepare(uring, pipe.read_end(), 0, 1, done);
        ASSERT_EQ(uring.read(op), k_io_again);
    }
    for (int i = 0; i < 3; ++i) {
        FileRead* op = prepare(uring, file.fd(), i * 4096, 4096, done);
        EXPECT_EQ(uring.read(op), 4096) << "read " << i;
        EXPECT_EQ(std::string(op->buf, 4096), file.slice(static_cast<std::size_t>(i) * 4096, 4096));
        uring.release(op);
    }
    EXPECT_EQ(uring_counters(*loop_).fallback.load(), 3u);
    EXPECT_EQ(uring_counters(*loop_).submitted.load(), 2u);
    ASSERT_EQ(::write(pipe.write_end(), "ab", 2), 2);
    ASSERT_TRUE(run_until([&] { return done.calls == 2; }));
    std::string got;
    for (FileRead* op : held) {
        ASSERT_EQ(uring.read(op), 1);
        got += op->buf[0];
        uring.release(op);
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, "ab");
    EXPECT_EQ(uring_counters(*loop_).completed.load(), 2u);
}

// io_uring_submit failing (EBUSY) leaves the entry in the queue: it becomes a no-op,
// the read is synchronous. Once the queue is full of them, the next read submits
// what is queued, and when that fails too, the read is synchronous without an
// entry; when the kernel takes them again, the no-ops complete naming nothing and
// the read goes through the ring.
TEST_P(FileUringTest, AFullSubmissionQueueIsSubmittedAndRetriedThenReadSynchronously) {
    TempFile file(64 * 1024);
    UringFileReader uring(*loop_, 2, k_fake);
    ASSERT_EQ(uring.init(), Status::ok);
    ASSERT_EQ(uring.entries(), 2u);
    g_fakes.submit_result = -EBUSY;
    Completion done;
    for (int i = 0; i < 3; ++i) {
        FileRead* op = prepare(uring, file.fd(), i * 1000, 1000, done);
        EXPECT_EQ(uring.read(op), 1000) << "read " << i;
        EXPECT_EQ(std::string(op->buf, 1000), file.slice(static_cast<std::size_t>(i) * 1000, 1000));
        uring.release(op);
    }
    // Reads 0 and 1 each submitted once; read 2 found no entry, submitted the
    // queue (refused again) and gave up without a second try.
    EXPECT_EQ(g_fakes.submit_calls, 3);
    EXPECT_EQ(uring_counters(*loop_).fallback.load(), 3u);
    EXPECT_EQ(uring_counters(*loop_).submitted.load(), 0u);
    EXPECT_EQ(uring.in_flight(), 0u);

    g_fakes.submit_result = 0;
    FileRead* op = prepare(uring, file.fd(), 5000, 3000, done);
    EXPECT_EQ(read_through_loop(uring, op, done), 3000);
    EXPECT_EQ(std::string(op->buf, 3000), file.slice(5000, 3000));
    EXPECT_EQ(done.calls, 1) << "a no-op's completion reached an operation";
    EXPECT_EQ(uring_counters(*loop_).submitted.load(), 1u);
    EXPECT_EQ(uring_counters(*loop_).completed.load(), 1u);
    run_until([] { return false; }, 50);
    EXPECT_EQ(uring.ready_completions(), 0u) << "the no-ops' completions were not drained";
    uring.release(op);
}

TEST_P(FileUringTest, AKernelWithoutIoUringLeavesTheReaderDisabledAndReadsSynchronous) {
    TempFile file(8192);
    g_fakes.setup_result = -ENOSYS;
    UringFileReader uring(*loop_, 8, k_fake);
    EXPECT_EQ(uring.init(), Status::declined);
    EXPECT_FALSE(uring.enabled());
    EXPECT_EQ(uring.setup_error(), ENOSYS);
    EXPECT_EQ(count_of(captured_.text(), "[warn]"), 0u)
        << "the worker says it, with what it does instead";
    Completion done;
    FileRead* op = prepare(uring, file.fd(), 0, 4096, done);
    EXPECT_EQ(uring.read(op), 4096);
    EXPECT_EQ(std::string(op->buf, 4096), file.slice(0, 4096));
    EXPECT_EQ(g_fakes.submit_calls, 0);
    EXPECT_EQ(uring_counters(*loop_).fallback.load(), 1u);
    uring.release(op);
}

TEST_P(FileUringTest, SetupFlagsTheKernelRefusesAreDroppedOneSetAtATime) {
    TempFile file(8192);
    g_fakes.refused_flags = IORING_SETUP_SINGLE_ISSUER;
    UringFileReader uring(*loop_, 8, k_fake);
    ASSERT_EQ(uring.init(), Status::ok);
    EXPECT_EQ(uring.setup_flags(), IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
    Completion done;
    FileRead* op = prepare(uring, file.fd(), 100, 4000, done);
    EXPECT_EQ(read_through_loop(uring, op, done), 4000);
    EXPECT_EQ(std::string(op->buf, 4000), file.slice(100, 4000));
    uring.release(op);

    g_fakes.refused_flags = IORING_SETUP_COOP_TASKRUN;
    UringFileReader plain(*loop_, 8, k_fake);
    ASSERT_EQ(plain.init(), Status::ok);
    EXPECT_EQ(plain.setup_flags(), 0u);
    op = prepare(plain, file.fd(), 0, 8192, done);
    EXPECT_EQ(read_through_loop(plain, op, done), 8192);
    EXPECT_EQ(std::string(op->buf, 8192), file.slice(0, 8192));
    plain.release(op);
}

// 200 completions waiting at once: one run of the handler takes 128 of them, the
// next turn the rest.
TEST_P(FileUringTest, TheDrainIsBoundedPerTurn) {
    TempFile file(200 * 512);
    UringFileReader uring(*loop_, 256);
    ASSERT_EQ(uring.init(), Status::ok);
    Completion done;
    std::vector<FileRead*> ops;
    for (int i = 0; i < 200; ++i) {
        ops.push_back(prepare(uring, file.fd(), i * 512, 512, done));
        ASSERT_EQ(uring.read(ops.back()), k_io_again) << i;
    }
    for (int i = 0; i < 500 && uring.ready_completions() < 200; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_EQ(uring.ready_completions(), 200u);
    loop_->process_events_and_timers();
    EXPECT_EQ(done.calls, static_cast<int>(UringFileReader::k_completions_per_turn));
    EXPECT_EQ(uring.ready_completions(), 200u - UringFileReader::k_completions_per_turn);
    loop_->process_events_and_timers();
    EXPECT_EQ(done.calls, 200);
    for (std::size_t i = 0; i < ops.size(); ++i) {
        ASSERT_EQ(uring.read(ops[i]), 512);
        EXPECT_EQ(std::string(ops[i]->buf, 512), file.slice(i * 512, 512)) << i;
        uring.release(ops[i]);
    }
}

TEST_P(FileUringTest, ACompletionForAClosedAndReusedConnectionNeverReachesIt) {
    Pipe pipe;
    UringFileReader uring(*loop_, 8);
    ASSERT_EQ(uring.init(), Status::ok);
    int pair[2];
    test::socket_pair(pair);
    Connection* c = loop_->pool().get(pair[0]);
    ASSERT_NE(c, nullptr);
    Completion done;
    FileRead* op = prepare(uring, pipe.read_end(), 0, 64, done, c);
    ASSERT_EQ(uring.read(op), k_io_again);

    // The client goes away while the read is in flight; its slot goes to the next
    // connection at once (LIFO); then the read completes.
    loop_->close_connection(c);
    int pair2[2];
    test::socket_pair(pair2);
    Connection* reused = loop_->pool().get(pair2[0]);
    ASSERT_EQ(reused, c) << "the pool hands the slot out again";
    ASSERT_EQ(::write(pipe.write_end(), "late", 4), 4);

    ASSERT_TRUE(run_until([&] { return uring.in_flight() == 0; }));
    run_until([] { return false; }, 50);  // the posted completion runs
    EXPECT_EQ(done.calls, 0) << "a stale completion reached the slot's new user";
    uring.release(op);
    loop_->close_connection(reused);
    ::close(pair[1]);
    ::close(pair2[1]);
}

TEST_P(FileUringTest, AnOperationReleasedInFlightIsRecycledOnlyAfterItsCompletion) {
    Pipe pipe;
    UringFileReader uring(*loop_, 8);
    ASSERT_EQ(uring.init(), Status::ok);
    Completion done;
    FileRead* op = prepare(uring, pipe.read_end(), 0, 64, done);
    ASSERT_EQ(uring.read(op), k_io_again);
    uring.release(op);  // the owner is gone; the kernel is not done with the buffer

    FileRead* other = uring.acquire(4096, 512, nullptr);
    EXPECT_NE(other, op) << "an operation in flight was handed out again";
    uring.release(other);
    ASSERT_EQ(::write(pipe.write_end(), "data", 4), 4);
    ASSERT_TRUE(run_until([&] { return uring.in_flight() == 0; }));
    run_until([] { return false; }, 50);
    EXPECT_EQ(done.calls, 0) << "the completion reached a released operation's owner";
    FileRead* again = uring.acquire(4096, 512, nullptr);
    FileRead* after = uring.acquire(4096, 512, nullptr);
    EXPECT_TRUE(again == op || after == op) << "the completed operation was not recycled";
    uring.release(again);
    uring.release(after);
}

TEST_P(FileUringTest, AnOperationThatDoesNotCompleteRaisesOneAlert) {
    Pipe pipe;
    UringFileReader uring(*loop_, 8);
    ASSERT_EQ(uring.init(), Status::ok);
    uring.set_op_timeout(30);
    Completion done;
    FileRead* op = prepare(uring, pipe.read_end(), 0, 64, done);
    ASSERT_EQ(uring.read(op), k_io_again);
    ASSERT_TRUE(run_until([&] { return captured_.contains("[alert]"); }, 2000)) << captured_.text();
    run_until([] { return false; }, 100);
    EXPECT_EQ(count_of(captured_.text(), "[alert]"), 1u) << captured_.text();
    EXPECT_TRUE(captured_.contains("io_uring file read of 64 bytes at offset 0"))
        << captured_.text();
    EXPECT_EQ(done.calls, 0);
    EXPECT_EQ(uring.read(op), k_io_again) << "still in flight";
    uring.release(op);  // orphaned; the destructor cancels it
}

// Reads that would never end (an empty pipe) and reads of a file, all in flight when
// the reader goes: the destructor cancels and waits (ASan would see a buffer freed
// under the kernel only as corruption; the pipe shows the cancelled reads took
// nothing), and returns.
TEST_P(FileUringTest, TheDestructorCancelsAndWaitsForReadsInFlight) {
    TempFile file(1024 * 1024);
    Pipe pipe;
    Completion done;
    {
        UringFileReader uring(*loop_, 16);
        ASSERT_EQ(uring.init(), Status::ok);
        for (int i = 0; i < 4; ++i) {
            FileRead* op = prepare(uring, pipe.read_end(), 0, 8, done);
            ASSERT_EQ(uring.read(op), k_io_again);
            if (i % 2 == 0) {
                uring.release(op);  // orphaned, as a request that ended
            }
        }
        for (int i = 0; i < 8; ++i) {
            FileRead* op = prepare(uring, file.fd(), i * 65536, 65536, done);
            ASSERT_EQ(uring.read(op), k_io_again);
        }
        EXPECT_EQ(uring.in_flight(), 12u);
    }
    EXPECT_EQ(done.calls, 0) << "no owner hears of a read after its reader is gone";
    ASSERT_EQ(::write(pipe.write_end(), "intact", 6), 6);
    char back[8] = {};
    EXPECT_EQ(::read(pipe.read_end(), back, sizeof(back)), 6);
    EXPECT_EQ(std::string(back, 6), "intact");
    run_until([] { return false; }, 30);  // nothing posted by the reader is left to run
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(FileUringTest);

}  // namespace
}  // namespace evs::event
