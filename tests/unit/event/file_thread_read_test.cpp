// ThreadFileReader (`aio threads`): a read runs in a pool thread and completes on the
// loop thread through the posted event, re-entrant like native AIO; a full queue
// fails that read alone; an operation released in flight is recycled only after
// the thread is done with its buffer. Once per backend; the suite's name puts it in
// the ThreadSanitizer run (ctest -R ThreadPool).

#include "event/file_thread_read.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "event/io.hpp"
#include "unit/event/file_read_harness.hpp"

namespace evs::event {
namespace {

using core::Status;

using test::Completion;
using test::plan_read;
using test::TempFile;

class ThreadPoolFileReadTest : public test::FileReadTest {};

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
        plan_read(op, file.fd(), 100001, 65536, &done);
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

// A task that holds the pool's only thread until released, so the queue fills.
struct Gate {
    std::mutex mutex;
    std::condition_variable cv;
    bool open = false;
    std::atomic<bool> entered{false};
};

void wait_at_gate(void* ctx) {
    auto* gate = static_cast<Gate*>(ctx);
    gate->entered = true;
    std::unique_lock lock(gate->mutex);
    gate->cv.wait(lock, [&] { return gate->open; });
}

void ignore(Event*) {}

TEST_P(ThreadPoolFileReadTest, AFullQueueFailsThatReadAloneAndReleasedReadsWaitForTheThread) {
    TempFile file(65536);
    core::Log log(2, core::LogLevel::emerg);
    ThreadPool pool("tiny", 1, 1, log);
    ASSERT_EQ(pool.start(), Status::ok);
    Gate gate;
    ThreadTask blocker;
    blocker.run = wait_at_gate;
    blocker.ctx = &gate;
    blocker.event.handler = ignore;
    {
        ThreadFileReader reader(*loop_, pool);
        ASSERT_EQ(pool.post(*loop_, &blocker), Status::ok);
        while (!gate.entered) {
            std::this_thread::yield();
        }
        Completion done;
        FileRead* queued = reader.acquire(4096, 512, nullptr);
        plan_read(queued, file.fd(), 0, 4096, &done);
        ASSERT_EQ(reader.read(queued), k_io_again);

        FileRead* overflow = reader.acquire(4096, 512, nullptr);
        plan_read(overflow, file.fd(), 0, 4096);
        EXPECT_EQ(reader.read(overflow), k_io_error) << "max_queue 1 is full";
        reader.release(overflow);

        // The owner goes away while the read waits in the queue.
        reader.release(queued);
        FileRead* other = reader.acquire(4096, 512, nullptr);
        EXPECT_NE(other, queued) << "a queued operation was handed out again";
        reader.release(other);
        {
            std::lock_guard lock(gate.mutex);
            gate.open = true;
        }
        gate.cv.notify_all();
        ASSERT_TRUE(drain(reader));
        EXPECT_EQ(done.calls, 0) << "a released read reached its owner";
        pool.stop();
    }
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(ThreadPoolFileReadTest);

}  // namespace
}  // namespace evs::event
