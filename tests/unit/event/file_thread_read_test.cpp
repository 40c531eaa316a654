// ThreadFileReader (`aio threads`): a read runs in a pool thread and completes on the
// loop thread through the posted event, re-entrant like native AIO; a full queue
// fails that read alone; an operation released in flight is recycled only after
// the thread is done with its buffer. Once per backend; the suite's name puts it in
// the ThreadSanitizer run (ctest -R ThreadPool).

#include "event/file_thread_read.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "event/io.hpp"
#include "unit/event/file_test_support.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::event {
namespace {

using core::Status;
using test::Completion;
using test::count_completion;
using test::Gate;
using test::TempFile;

class ThreadPoolFileReadTest : public test::LoopTest {};

TEST_P(ThreadPoolFileReadTest, ReadsInAPoolThreadAndCompletesOnTheLoopThread) {
    TempFile file(300000);
    core::Log log;
    ThreadPool pool("disk", 2, 16, log);
    ASSERT_EQ(pool.start(), Status::ok);
    {
        ThreadFileReader reader(*loop_, pool);
        Completion done;
        FileRead* op = reader.acquire(65536, 512, nullptr);
        ASSERT_NE(op, nullptr);
        op->handler = count_completion;
        op->data = &done;
        op->fd = file.fd();
        op->offset = 100001;
        op->size = 65536;
        ASSERT_EQ(reader.read(op), k_io_again);
        EXPECT_EQ(reader.read(op), k_io_again);
        ASSERT_TRUE(run_until([&] { return done.calls > 0; }));
        EXPECT_EQ(done.thread, std::this_thread::get_id());
        EXPECT_EQ(reader.read(op), 65536);
        EXPECT_EQ(std::string(op->buf, 65536), file.slice(100001, 65536));
        const FileIoCounters& counters = loop_->file_io_stats().threads;
        EXPECT_EQ(counters.submitted.load(), 1u);
        EXPECT_EQ(counters.completed.load(), 1u);
        EXPECT_EQ(counters.fallback.load(), 0u);
        reader.release(op);
        pool.stop();
    }
}

TEST_P(ThreadPoolFileReadTest, AFullQueueFailsThatReadAloneAndReleasedReadsWaitForTheThread) {
    TempFile file(65536);
    core::Log log(2, core::LogLevel::emerg);
    ThreadPool pool("tiny", 1, 1, log);
    ASSERT_EQ(pool.start(), Status::ok);
    Gate gate;
    {
        ThreadFileReader reader(*loop_, pool);
        ASSERT_TRUE(gate.close(pool, *loop_));
        Completion done;
        FileRead* queued = reader.acquire(4096, 512, nullptr);
        queued->handler = count_completion;
        queued->data = &done;
        queued->fd = file.fd();
        queued->size = 4096;
        ASSERT_EQ(reader.read(queued), k_io_again);

        FileRead* overflow = reader.acquire(4096, 512, nullptr);
        overflow->fd = file.fd();
        overflow->size = 4096;
        EXPECT_EQ(reader.read(overflow), k_io_error) << "max_queue 1 is full";
        reader.release(overflow);

        // The owner goes away while the read waits in the queue.
        reader.release(queued);
        FileRead* other = reader.acquire(4096, 512, nullptr);
        EXPECT_NE(other, queued) << "a queued operation was handed out again";
        reader.release(other);
        gate.open();
        ASSERT_TRUE(run_until([&] { return reader.in_flight() == 0; }));
        run_until([] { return false; }, 50);
        EXPECT_EQ(done.calls, 0) << "a released read reached its owner";
        pool.stop();
    }
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(ThreadPoolFileReadTest);

}  // namespace
}  // namespace evs::event
