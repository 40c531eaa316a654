#include "event/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace evs::event {
namespace {

// Timers whose handler records when (by the wheel's clock) and in what order they ran.
struct Recorder {
    TimerWheel* wheel = nullptr;
    std::vector<std::pair<std::uint32_t, Event*>> fired;  // (time run, event)
};

Recorder* g_recorder = nullptr;

void record(Event* ev) {
    g_recorder->fired.emplace_back(g_recorder->wheel->now(), ev);
}

class TimerWheelTest : public ::testing::Test {
protected:
    void SetUp() override { g_recorder = &recorder_; }
    void TearDown() override { g_recorder = nullptr; }

    void arm(TimerWheel& wheel, Event& ev, std::uint32_t deadline) {
        ev.handler = record;
        ev.deadline = deadline;
        wheel.insert(&ev);
    }

    // Drives the wheel the way the loop does: sleep for next_delay(), then expire.
    // Returns false if it took more steps than `max_steps`.
    bool drive(TimerWheel& wheel, std::uint32_t& now, std::size_t max_steps = 1000000) {
        for (std::size_t steps = 0; !wheel.empty(); ++steps) {
            if (steps == max_steps) {
                return false;
            }
            now += wheel.next_delay(now);
            wheel.expire(now);
        }
        return true;
    }

    Recorder recorder_;
};

TEST_F(TimerWheelTest, FiresExactlyAtDeadlineAcrossAllLevels) {
    const std::uint32_t start = 1000;
    TimerWheel wheel(start);
    recorder_.wheel = &wheel;
    // Deadlines in level 0, 1, 2 and 3 (the last about 4.6 hours away).
    const std::uint32_t delays[] = {
        0, 1, 7, 255, 256, 257, 1000, 65535, 65536, 70000, 1u << 20, (1u << 24) + 3, 1u << 26};
    std::vector<Event> events(std::size(delays));
    for (std::size_t i = 0; i < events.size(); ++i) {
        arm(wheel, events[i], start + delays[i]);
    }
    std::uint32_t now = start;
    ASSERT_TRUE(drive(wheel, now));
    ASSERT_EQ(recorder_.fired.size(), events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(recorder_.fired[i].second, &events[i]) << "order at " << i;
        // Never late: the loop slept exactly as long as next_delay() said.
        EXPECT_EQ(recorder_.fired[i].first, start + delays[i]) << "delay " << delays[i];
        EXPECT_FALSE(events[i].timer_set);
        EXPECT_TRUE(events[i].timedout);
    }
}

TEST_F(TimerWheelTest, WrapsAroundTheThirtyTwoBitClock) {
    const std::uint32_t start = 0xffffff00u;
    TimerWheel wheel(start);
    recorder_.wheel = &wheel;
    const std::uint32_t delays[] = {10, 255, 256, 300, 5000, 1u << 17, 1u << 25};
    std::vector<Event> events(std::size(delays));
    for (std::size_t i = 0; i < events.size(); ++i) {
        arm(wheel, events[i], start + delays[i]);  // most of these wrap past zero
    }
    std::uint32_t now = start;
    ASSERT_TRUE(drive(wheel, now));
    ASSERT_EQ(recorder_.fired.size(), events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(recorder_.fired[i].second, &events[i]);
        EXPECT_EQ(recorder_.fired[i].first, static_cast<std::uint32_t>(start + delays[i]));
    }
    EXPECT_TRUE(TimerWheel::before(0xfffffff0u, 0x10u));  // wraparound-safe comparison
    EXPECT_FALSE(TimerWheel::before(0x10u, 0xfffffff0u));
}

TEST_F(TimerWheelTest, ALateExpireRunsEverythingDueInDeadlineOrder) {
    TimerWheel wheel(0);
    recorder_.wheel = &wheel;
    std::mt19937 rng(42);
    std::vector<Event> events(100000);
    for (Event& ev : events) {
        arm(wheel, ev, rng() % 200000);
    }
    wheel.expire(100000);  // the loop was away for 100 s
    std::size_t due = 0;
    for (const Event& ev : events) {
        due += ev.deadline <= 100000 ? 1 : 0;
    }
    ASSERT_EQ(recorder_.fired.size(), due);
    for (std::size_t i = 1; i < recorder_.fired.size(); ++i) {
        ASSERT_LE(recorder_.fired[i - 1].second->deadline, recorder_.fired[i].second->deadline);
    }
    for (const auto& [when, ev] : recorder_.fired) {
        ASSERT_LE(ev->deadline, 100000u);
    }
    EXPECT_EQ(wheel.size(), events.size() - due);
}

// Random inserts, removals and expiries against a simple ordered model.
TEST_F(TimerWheelTest, MatchesAReferenceModel) {
    std::mt19937 rng(7);
    const std::uint32_t start = 0xfff00000u;  // cross the wrap during the run
    TimerWheel wheel(start);
    recorder_.wheel = &wheel;
    std::vector<Event> events(2000);
    std::multimap<std::uint64_t, Event*> model;  // unwrapped deadline -> event
    std::uint64_t now = start;                   // unwrapped clock
    std::uint64_t checked = 0;

    for (int round = 0; round < 20000; ++round) {
        Event& ev = events[rng() % events.size()];
        const unsigned action = rng() % 4;
        if (action < 2 && !ev.timer_set) {
            // Mostly short timers, some far ones, as in a server.
            const std::uint32_t delay = (rng() % 8 == 0) ? rng() % (1u << 22) : rng() % 5000;
            arm(wheel, ev, static_cast<std::uint32_t>(now + delay));
            model.emplace(now + delay, &ev);
        } else if (action == 2 && ev.timer_set) {
            wheel.remove(&ev);
            for (auto it = model.begin(); it != model.end(); ++it) {
                if (it->second == &ev) {
                    model.erase(it);
                    break;
                }
            }
        } else {
            now += rng() % 3000;
            recorder_.fired.clear();
            wheel.expire(static_cast<std::uint32_t>(now));
            std::vector<Event*> expected;
            while (!model.empty() && model.begin()->first <= now) {
                expected.push_back(model.begin()->second);
                model.erase(model.begin());
            }
            ASSERT_EQ(recorder_.fired.size(), expected.size()) << "round " << round;
            // Same set, and in non-decreasing deadline order.
            for (std::size_t i = 0; i < expected.size(); ++i) {
                ASSERT_NE(std::find_if(recorder_.fired.begin(), recorder_.fired.end(),
                                       [&](const auto& f) { return f.second == expected[i]; }),
                          recorder_.fired.end());
                if (i > 0) {
                    ASSERT_FALSE(TimerWheel::before(recorder_.fired[i].second->deadline,
                                                    recorder_.fired[i - 1].second->deadline));
                }
            }
            checked += expected.size();
            ASSERT_EQ(wheel.size(), model.size());
            // next_delay never overshoots the earliest deadline.
            if (!model.empty()) {
                const std::uint64_t earliest = model.begin()->first;
                ASSERT_LE(now + wheel.next_delay(static_cast<std::uint32_t>(now)), earliest);
            } else {
                ASSERT_EQ(wheel.next_delay(static_cast<std::uint32_t>(now)),
                          TimerWheel::k_infinite);
            }
        }
    }
    EXPECT_GT(checked, 1000u);  // the run really exercised expiry
}

TEST_F(TimerWheelTest, AHandlerMayAddATimerThatIsAlreadyDue) {
    TimerWheel wheel(0);
    recorder_.wheel = &wheel;
    static Event second;
    static TimerWheel* wheel_ptr;
    wheel_ptr = &wheel;
    Event first;
    first.handler = [](Event* ev) {
        record(ev);
        second.handler = record;
        second.deadline = wheel_ptr->now();  // due now
        wheel_ptr->insert(&second);
    };
    first.deadline = 10;
    wheel.insert(&first);
    wheel.expire(10);
    ASSERT_EQ(recorder_.fired.size(), 2u);
    EXPECT_EQ(recorder_.fired[1].second, &second);
    EXPECT_TRUE(wheel.empty());
}

TEST_F(TimerWheelTest, OnlyCancelableLeft) {
    TimerWheel wheel(0);
    recorder_.wheel = &wheel;
    Event a;
    Event b;
    a.cancelable = 1;
    arm(wheel, a, 100);
    EXPECT_TRUE(wheel.only_cancelable_left());
    arm(wheel, b, 70000);
    EXPECT_FALSE(wheel.only_cancelable_left());
    wheel.remove(&b);
    EXPECT_TRUE(wheel.only_cancelable_left());
    EXPECT_EQ(wheel.size(), 1u);
}

TEST_F(TimerWheelTest, NextDelayIsInfiniteWhenEmptyAndZeroWhenDue) {
    TimerWheel wheel(500);
    recorder_.wheel = &wheel;
    EXPECT_EQ(wheel.next_delay(500), TimerWheel::k_infinite);
    Event ev;
    arm(wheel, ev, 400);  // already past
    EXPECT_EQ(wheel.next_delay(500), 0u);
    wheel.remove(&ev);
    arm(wheel, ev, 510);  // same 256 ms block as now: exact
    EXPECT_EQ(wheel.next_delay(500), 10u);
    wheel.remove(&ev);
    arm(wheel, ev, 520);  // next block (level 1): wakes at the block start, 512
    EXPECT_EQ(wheel.next_delay(500), 12u);
    wheel.expire(512);  // cascades it into level 0, where it is exact
    EXPECT_EQ(wheel.next_delay(512), 8u);
    EXPECT_EQ(wheel.next_delay(530), 0u);  // the loop's clock is already past it
}

}  // namespace
}  // namespace evs::event
