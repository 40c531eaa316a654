#pragma once

// Helpers shared by the file I/O tests of the thread pool (reads and sendfile), on top
// of file_read_harness.hpp (TempFile, Completion): a Gate that holds a pool's thread
// so that the tasks posted after it wait in the queue (in flight, and able to fill it). Thread: the
// test's; the Gate's task runs in a pool thread.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "event/file_read.hpp"
#include "event/thread_pool.hpp"
#include "unit/event/file_read_harness.hpp"

namespace evs::test {

// A task that holds one of the pool's threads until open() (or destruction).
class Gate {
public:
    Gate() {
        task_.run = wait_at_gate;
        task_.ctx = this;
        task_.event.handler = [](event::Event*) {};
    }
    ~Gate() { open(); }
    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;

    // Posts the task and waits until a thread runs it: the pool's queue is then empty.
    bool close(event::ThreadPool& pool, event::Loop& loop) {
        if (pool.post(loop, &task_) != core::Status::ok) {
            return false;
        }
        while (!entered_) {
            std::this_thread::yield();
        }
        return true;
    }
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }

private:
    static void wait_at_gate(void* ctx) {
        auto* gate = static_cast<Gate*>(ctx);
        gate->entered_ = true;
        std::unique_lock lock(gate->mutex_);
        gate->cv_.wait(lock, [&] { return gate->open_; });
    }

    event::ThreadTask task_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
    std::atomic<bool> entered_{false};
};

}  // namespace evs::test
