// Loop::notify from other threads: the handler runs on the loop's thread, calls
// may be coalesced, and none is lost (the handler runs after the last notify).
// Once per backend; meant to pass under ThreadSanitizer (ctest -R Notify).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "unit/event/loop_fixture.hpp"

namespace evs::event {
namespace {

struct NotifyState {
    std::thread::id loop_thread;
    std::atomic<std::uint64_t> notified{0};  // bumped by each thread before each notify
    std::uint64_t calls = 0;                 // loop thread only
    std::uint64_t off_loop_thread = 0;
    std::uint64_t last_seen = 0;  // `notified` as the handler last saw it
};

void on_notified(void* data) {
    auto* state = static_cast<NotifyState*>(data);
    ++state->calls;
    if (std::this_thread::get_id() != state->loop_thread) {
        ++state->off_loop_thread;
    }
    // Running after a notify means seeing its increment: the flag's exchange in
    // notify() releases it and the loop's exchange before this call acquires it.
    state->last_seen = std::max(state->last_seen, state->notified.load());
}

class NotifyTest : public test::LoopTest {};

TEST_P(NotifyTest, EightThreadsTenThousandNotifiesNoneLostAllOnTheLoopThread) {
    constexpr int k_threads = 8;
    constexpr int k_per_thread = 10000;
    constexpr std::uint64_t k_total = std::uint64_t{k_threads} * k_per_thread;

    NotifyState state;
    state.loop_thread = std::this_thread::get_id();
    Notification notification;
    notification.handler = on_notified;
    notification.data = &state;
    loop_->add_notification(&notification);

    std::atomic<int> finished{0};
    std::vector<std::thread> threads;
    Loop* loop = loop_.get();
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&, loop] {
            for (int i = 0; i < k_per_thread; ++i) {
                state.notified.fetch_add(1);
                loop->notify(&notification);
                if (i % 1000 == 0) {
                    std::this_thread::yield();  // let the loop interleave
                }
            }
            finished.fetch_add(1);
        });
    }
    // The loop runs while the threads notify. Once every notify has returned, the
    // loop must get to a state where nothing is pending and the handler has seen the
    // last notify: a lost wakeup would leave `pending` set with nobody to clear it.
    // (A handler run may see the last increment before the last notify's flag is
    // set; that notify then costs one more call, which is allowed.)
    const bool delivered = run_until(
        [&] {
            return finished.load() == k_threads && state.last_seen == k_total &&
                   !notification.pending.load();
        },
        30000);
    for (std::thread& t : threads) {
        t.join();
    }
    ASSERT_TRUE(delivered) << "last seen " << state.last_seen << " of " << k_total;
    EXPECT_GE(state.calls, 1u);
    EXPECT_LE(state.calls, k_total);  // coalesced, never more calls than notifies
    EXPECT_EQ(state.off_loop_thread, 0u);

    // Nothing is pending any more: another turn does not call it again...
    const std::uint64_t calls = state.calls;
    run_until([] { return false; }, 50);
    EXPECT_EQ(state.calls, calls);
    // ...and a single later notify still gets through.
    state.notified.fetch_add(1);
    std::thread late([&] { loop->notify(&notification); });
    late.join();
    EXPECT_TRUE(run_until([&] { return state.last_seen == k_total + 1; }, 5000));
    EXPECT_EQ(state.calls, calls + 1);

    loop_->remove_notification(&notification);
}

TEST_P(NotifyTest, NotifyBeforeTheLoopTurnsIsCoalescedIntoOneCall) {
    NotifyState state;
    state.loop_thread = std::this_thread::get_id();
    Notification notification;
    notification.handler = on_notified;
    notification.data = &state;
    loop_->add_notification(&notification);

    std::thread notifier([&] {
        for (int i = 0; i < 100; ++i) {
            state.notified.fetch_add(1);
            loop_->notify(&notification);
        }
    });
    notifier.join();
    ASSERT_TRUE(run_until([&] { return state.calls > 0; }, 5000));
    run_until([] { return false; }, 50);
    EXPECT_EQ(state.calls, 1u);
    EXPECT_EQ(state.last_seen, 100u);

    loop_->remove_notification(&notification);
}

TEST_P(NotifyTest, SeveralNotificationsRunOnlyWhenSignalled) {
    NotifyState first;
    NotifyState second;
    first.loop_thread = second.loop_thread = std::this_thread::get_id();
    Notification a;
    a.handler = on_notified;
    a.data = &first;
    Notification b;
    b.handler = on_notified;
    b.data = &second;
    loop_->add_notification(&a);
    loop_->add_notification(&b);

    std::thread notifier([&] { loop_->notify(&b); });
    notifier.join();
    ASSERT_TRUE(run_until([&] { return second.calls > 0; }, 5000));
    run_until([] { return false; }, 50);
    EXPECT_EQ(first.calls, 0u);
    EXPECT_EQ(second.calls, 1u);

    // A removed notification is no longer run, even if signalled.
    loop_->remove_notification(&b);
    std::thread again([&] {
        loop_->notify(&b);
        loop_->notify(&a);
    });
    again.join();
    ASSERT_TRUE(run_until([&] { return first.calls > 0; }, 5000));
    EXPECT_EQ(second.calls, 1u);
    loop_->remove_notification(&a);
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(NotifyTest);

}  // namespace
}  // namespace evs::event
