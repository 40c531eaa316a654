// ThreadPool and CompletedTasks: every finished task comes back exactly once, on
// the loop's thread, with event.complete set; queue overflow fails that one post.
// Once per backend; meant to pass under ThreadSanitizer (ctest -R ThreadPool).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "event/thread_pool.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::event {
namespace {

using core::Status;

// What the loop thread sees of the completions.
struct Deliveries {
    std::thread::id loop_thread;
    std::size_t total = 0;
    std::size_t off_loop_thread = 0;
    std::size_t not_complete = 0;
};

struct CountedTask {
    ThreadTask task;
    Deliveries* deliveries = nullptr;
    std::atomic<int> runs{0};  // written in a pool thread
    int delivered = 0;         // written on the loop thread
};

void count_run(void* ctx) {
    static_cast<CountedTask*>(ctx)->runs.fetch_add(1, std::memory_order_relaxed);
}

void count_delivery(Event* ev) {
    auto* counted = static_cast<CountedTask*>(ev->data);
    Deliveries* d = counted->deliveries;
    ++counted->delivered;
    ++d->total;
    if (std::this_thread::get_id() != d->loop_thread) {
        ++d->off_loop_thread;
    }
    if (!ev->complete || ev->active) {
        ++d->not_complete;
    }
}

class ThreadPoolTest : public test::LoopTest {};

TEST_P(ThreadPoolTest, EightThreadsEightyThousandTasksEachDeliveredOnceOnTheLoopThread) {
    constexpr std::size_t k_tasks = 80000;
    Deliveries deliveries;
    deliveries.loop_thread = std::this_thread::get_id();
    // Preallocated before the pool, so that the pool (declared later) is stopped and
    // joined before the tasks go away.
    std::unique_ptr<CountedTask[]> tasks(new CountedTask[k_tasks]);
    for (std::size_t i = 0; i < k_tasks; ++i) {
        tasks[i].deliveries = &deliveries;
        tasks[i].task.run = count_run;
        tasks[i].task.ctx = &tasks[i];
        tasks[i].task.event.data = &tasks[i];
        tasks[i].task.event.handler = count_delivery;
    }

    ThreadPool pool("test", 8, k_tasks, captured_.log());
    ASSERT_EQ(pool.start(), Status::ok);
    for (std::size_t i = 0; i < k_tasks; ++i) {
        ASSERT_EQ(pool.post(*loop_, &tasks[i].task), Status::ok) << "task " << i;
        EXPECT_TRUE(tasks[i].task.event.active);
    }
    ASSERT_TRUE(run_until([&] { return deliveries.total >= k_tasks; }, 60000))
        << deliveries.total << " of " << k_tasks << " delivered";
    // Nothing more arrives late.
    run_until([] { return false; }, 50);

    EXPECT_EQ(deliveries.total, k_tasks);
    EXPECT_EQ(deliveries.off_loop_thread, 0u);
    EXPECT_EQ(deliveries.not_complete, 0u);
    std::size_t wrong = 0;
    std::vector<bool> seen_id(k_tasks + 1, false);
    std::size_t duplicate_ids = 0;
    for (std::size_t i = 0; i < k_tasks; ++i) {
        if (tasks[i].delivered != 1 || tasks[i].runs.load() != 1) {
            if (++wrong <= 5) {
                ADD_FAILURE() << "task " << i << ": ran " << tasks[i].runs.load()
                              << " times, delivered " << tasks[i].delivered << " times";
            }
        }
        const std::uint64_t id = tasks[i].task.id;
        if (id == 0 || id > k_tasks || seen_id[id]) {
            ++duplicate_ids;
        } else {
            seen_id[id] = true;
        }
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(duplicate_ids, 0u);
    EXPECT_FALSE(captured_.contains("overflow")) << captured_.text();
}

TEST_P(ThreadPoolTest, PostingAnActiveTaskFails) {
    Deliveries deliveries;
    deliveries.loop_thread = std::this_thread::get_id();
    CountedTask counted;
    counted.deliveries = &deliveries;
    counted.task.run = count_run;
    counted.task.ctx = &counted;
    counted.task.event.data = &counted;
    counted.task.event.handler = count_delivery;

    ThreadPool pool("test", 1, 4, captured_.log());
    ASSERT_EQ(pool.start(), Status::ok);
    ASSERT_EQ(pool.post(*loop_, &counted.task), Status::ok);
    EXPECT_EQ(pool.post(*loop_, &counted.task), Status::error);
    EXPECT_TRUE(captured_.contains("already active")) << captured_.text();
    ASSERT_TRUE(run_until([&] { return deliveries.total == 1; }, 5000));

    // Once delivered the task may be posted again.
    ASSERT_EQ(pool.post(*loop_, &counted.task), Status::ok);
    ASSERT_TRUE(run_until([&] { return deliveries.total == 2; }, 5000));
    EXPECT_EQ(counted.runs.load(), 2);
    EXPECT_EQ(counted.delivered, 2);
    EXPECT_EQ(deliveries.off_loop_thread, 0u);
}

// A one-shot gate the pool's tasks wait at (bounded, so that a failing test cannot
// hang the pool's join).
class Gate {
public:
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        opened_.notify_all();
    }
    bool wait() {
        std::unique_lock lock(mutex_);
        return opened_.wait_for(lock, std::chrono::seconds(10), [this] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable opened_;
    bool open_ = false;
};

struct BlockedTask {
    ThreadTask task;
    Gate* gate = nullptr;
    std::atomic<bool> started{false};
    std::atomic<bool> passed_gate{false};
    Deliveries* deliveries = nullptr;
    int delivered = 0;
};

void wait_at_gate(void* ctx) {
    auto* blocked = static_cast<BlockedTask*>(ctx);
    blocked->started.store(true);
    blocked->passed_gate.store(blocked->gate->wait());
}

void count_blocked_delivery(Event* ev) {
    auto* blocked = static_cast<BlockedTask*>(ev->data);
    ++blocked->delivered;
    ++blocked->deliveries->total;
    if (std::this_thread::get_id() != blocked->deliveries->loop_thread) {
        ++blocked->deliveries->off_loop_thread;
    }
}

TEST_P(ThreadPoolTest, QueueOverflowFailsThatPostAndTheOthersStillComplete) {
    Deliveries deliveries;
    deliveries.loop_thread = std::this_thread::get_id();
    Gate gate;
    BlockedTask tasks[3];
    for (BlockedTask& t : tasks) {
        t.gate = &gate;
        t.deliveries = &deliveries;
        t.task.run = wait_at_gate;
        t.task.ctx = &t;
        t.task.event.data = &t;
        t.task.event.handler = count_blocked_delivery;
    }

    ThreadPool pool("tiny", 1, 1, captured_.log());
    ASSERT_EQ(pool.start(), Status::ok);
    // Opens the gate however the test ends, before the pool joins its thread.
    struct Opener {
        Gate& gate;
        ~Opener() { gate.open(); }
    } opener{gate};

    // The one thread takes the first task and blocks in it...
    ASSERT_EQ(pool.post(*loop_, &tasks[0].task), Status::ok);
    for (int waited = 0; waited < 5000 && !tasks[0].started.load(); ++waited) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(tasks[0].started.load());
    // ...the second fills the queue (max_queue=1), the third overflows it.
    ASSERT_EQ(pool.post(*loop_, &tasks[1].task), Status::ok);
    EXPECT_EQ(pool.post(*loop_, &tasks[2].task), Status::error);
    EXPECT_TRUE(captured_.contains("thread pool \"tiny\" queue overflow")) << captured_.text();
    EXPECT_FALSE(tasks[2].task.event.active);

    gate.open();
    ASSERT_TRUE(run_until([&] { return deliveries.total == 2; }, 10000)) << deliveries.total;
    EXPECT_EQ(tasks[0].delivered, 1);
    EXPECT_EQ(tasks[1].delivered, 1);
    EXPECT_EQ(tasks[2].delivered, 0);
    EXPECT_TRUE(tasks[0].passed_gate.load());
    EXPECT_TRUE(tasks[1].passed_gate.load());
    EXPECT_FALSE(tasks[2].started.load());

    // With room in the queue again, the refused task can be posted.
    ASSERT_EQ(pool.post(*loop_, &tasks[2].task), Status::ok);
    ASSERT_TRUE(run_until([&] { return deliveries.total == 3; }, 10000));
    EXPECT_EQ(tasks[2].delivered, 1);
    EXPECT_EQ(deliveries.off_loop_thread, 0u);
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(ThreadPoolTest);

}  // namespace
}  // namespace evs::event
