#pragma once

// ThreadPool: named pools of threads for work that would block a loop (file reads
// from a cold disk, later). Modelled on nginx's thread pools.
//
// A ThreadTask carries the function to run in a pool thread and an Event whose
// handler runs on the posting loop's thread once the function has returned (with
// event.complete set). Finished tasks travel back through a CompletedTasks queue
// owned by that loop, which one Notification (an eventfd write) drains, so a loop
// can use several pools and a pool can serve several loops.
//
// A pool's queue holds at most max_queue waiting tasks; post() past that fails for
// that task alone, with an error logged, as nginx's "thread pool queue overflow".
//
// Ownership: the caller owns each ThreadTask until its event handler has run; the
// pool owns its threads. Thread: post() from a loop thread; run() in pool threads.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "core/status.hpp"
#include "event/event.hpp"
#include "event/loop.hpp"

namespace evs::event {

struct ThreadTask {
    ThreadTask* next = nullptr;
    void (*run)(void* ctx) = nullptr;  // runs in a pool thread
    void* ctx = nullptr;
    Event event;           // its handler runs on `loop`'s thread when `run` is done
    Loop* loop = nullptr;  // set by post()
    std::uint64_t id = 0;
};

// The tasks a loop's pools have finished; pushed from pool threads, drained on the
// loop's thread. Each loop has one (Loop::completed_tasks()).
class CompletedTasks {
public:
    explicit CompletedTasks(Loop& loop);
    ~CompletedTasks();
    CompletedTasks(const CompletedTasks&) = delete;
    CompletedTasks& operator=(const CompletedTasks&) = delete;

    void push(ThreadTask* task);  // any thread

private:
    static void drain(void* self);

    Loop& loop_;
    Notification notification_;
    std::mutex mutex_;
    ThreadTask* head_ = nullptr;
    ThreadTask** tail_ = &head_;
};

class ThreadPool {
public:
    ThreadPool(std::string name, unsigned threads, std::size_t max_queue, core::Log& log);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    core::Status start();
    // Lets the threads finish the task they are running, drops the queue, joins.
    void stop();

    // Queues `task`; its completion comes back to `loop`. error on overflow.
    core::Status post(Loop& loop, ThreadTask* task);

    const std::string& name() const { return name_; }
    unsigned threads() const { return thread_count_; }
    std::size_t max_queue() const { return max_queue_; }

private:
    void work();

    std::string name_;
    unsigned thread_count_;
    std::size_t max_queue_;
    core::Log& log_;

    std::mutex mutex_;
    std::condition_variable wakeup_;
    ThreadTask* head_ = nullptr;
    ThreadTask** tail_ = &head_;
    std::size_t waiting_ = 0;
    bool stopping_ = false;
    std::uint64_t next_id_ = 1;
    std::vector<std::thread> workers_;
};

}  // namespace evs::event
