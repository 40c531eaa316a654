// The loop's turn: phase order, posted queues, timers seen through the loop, and
// stale events. Every suite runs once per backend.

#include "event/loop.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "event/connection.hpp"
#include "event/listening.hpp"
#include "os/socket.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::test {
namespace {

using event::Connection;
using event::Event;
using event::PostedQueue;

// What ran, in order; handlers find it through a global because Event handlers
// are plain function pointers (as in nginx).
std::vector<std::string>* g_trace = nullptr;

struct Named {
    Event ev;
    std::string name;
};

void trace_handler(Event* ev) {
    // Event is the first member of Named.
    g_trace->push_back(reinterpret_cast<Named*>(ev)->name);
}

class LoopOrderTest : public LoopTest {
protected:
    void SetUp() override {
        LoopTest::SetUp();
        g_trace = &trace_;
    }
    void TearDown() override { g_trace = nullptr; }
    std::vector<std::string> trace_;
};

// An accept mutex that is always free, recording when it is released.
class RecordingMutex : public event::AcceptMutex {
public:
    bool try_lock() override { return true; }
    void unlock() override { g_trace->push_back("unlock"); }
};

TEST_P(LoopOrderTest, PostedAcceptThenUnlockThenTimersThenPostedEvents) {
    // A listener with a client waiting, a connection with bytes to read, and a timer
    // that is due: with the accept mutex held, the backend posts instead of running,
    // and the turn runs them in nginx's order.
    RecordingMutex mutex;
    loop_->set_accept_mutex(&mutex);

    event::Listening ls;
    ASSERT_TRUE(os::SocketAddress::parse("127.0.0.1:0", 0, &ls.address));
    const char* call = nullptr;
    ASSERT_TRUE(event::open_listening(&ls, &call).ok()) << call;
    ls.handler = [](Connection* c) {
        g_trace->push_back("accept");
        c->loop->close_connection(c);
    };
    ASSERT_EQ(loop_->add_listening(&ls), core::Status::ok);

    const int client = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(::connect(client, ls.address.get(), ls.address.length), 0);

    int fds[2];
    socket_pair(fds);
    Connection* c = loop_->pool().get(fds[0]);
    ASSERT_NE(c, nullptr);
    c->read.handler = [](Event*) { g_trace->push_back("read"); };
    ASSERT_EQ(loop_->handle_read_event(&c->read), core::Status::ok);
    ASSERT_EQ(::write(fds[1], "x", 1), 1);

    Named timer{{}, "timer"};
    timer.ev.handler = trace_handler;
    loop_->add_timer(&timer.ev, 0);

    loop_->process_events_and_timers();
    const std::vector<std::string> expected = {"accept", "unlock", "timer", "read"};
    EXPECT_EQ(trace_, expected);

    loop_->close_connection(c);
    ::close(fds[1]);
    ::close(client);
    event::close_listening(&ls);
}

TEST_P(LoopOrderTest, AHandlerThatPostsAnotherEventRunsItInTheSameTurn) {
    static Named second{{}, "second"};
    second.ev.handler = trace_handler;
    static event::Loop* loop;
    loop = loop_.get();
    Named first{{}, "first"};
    first.ev.handler = [](Event* ev) {
        trace_handler(ev);
        loop->post(&second.ev);
    };
    loop_->post(&first.ev);
    Named timer{{}, "timer"};
    timer.ev.handler = trace_handler;
    loop_->add_timer(&timer.ev, 0);

    loop_->process_events_and_timers();
    const std::vector<std::string> expected = {"timer", "first", "second"};
    EXPECT_EQ(trace_, expected);
}

TEST_P(LoopOrderTest, PostedNextRunsOnTheNextTurnWithoutBlocking) {
    Named later{{}, "next"};
    later.ev.handler = trace_handler;
    loop_->post(&later.ev, PostedQueue::next);
    // Nothing else is pending: were the wait not cut to zero, this turn would block.
    loop_->process_events_and_timers();
    ASSERT_EQ(trace_.size(), 1u);
    EXPECT_EQ(trace_[0], "next");
    EXPECT_TRUE(later.ev.ready);
}

TEST_P(LoopOrderTest, ATimerThatReArmsItself) {
    static int fired;
    static event::Loop* loop;
    fired = 0;
    loop = loop_.get();
    Event tick;
    tick.handler = [](Event* ev) {
        if (++fired < 5) {
            loop->add_timer(ev, 10);
        }
    };
    loop_->add_timer(&tick, 10);
    const core::Msec start = core::clock().msec();
    ASSERT_TRUE(run_until([] { return fired == 5; }, 2000));
    EXPECT_FALSE(tick.timer_set);
    EXPECT_GE(core::clock().msec() - start, 40u);  // five 10 ms periods, one may be short
}

TEST_P(LoopOrderTest, CancelFromInsideAHandler) {
    static Named victim{{}, "victim"};
    static Named posted_victim{{}, "posted-victim"};
    static event::Loop* loop;
    loop = loop_.get();
    victim.ev.handler = trace_handler;
    posted_victim.ev.handler = trace_handler;

    Named killer{{}, "killer"};
    killer.ev.handler = [](Event* ev) {
        trace_handler(ev);
        loop->del_timer(&victim.ev);
        loop->delete_posted(&posted_victim.ev);
    };
    loop_->add_timer(&killer.ev, 0);
    loop_->add_timer(&victim.ev, 0);  // due in the same pass, after the killer
    loop_->post(&posted_victim.ev);

    loop_->process_events_and_timers();
    const std::vector<std::string> expected = {"killer"};
    EXPECT_EQ(trace_, expected);
    EXPECT_FALSE(victim.ev.timer_set);
    EXPECT_FALSE(posted_victim.ev.posted);
    EXPECT_EQ(loop_->timer_count(), 0u);
}

TEST_P(LoopOrderTest, LazyReArmKeepsANearbyDeadline) {
    Event ev;
    ev.handler = [](Event*) {};
    loop_->add_timer(&ev, 1000);
    const std::uint32_t first = ev.deadline;
    loop_->add_timer(&ev, 1200);  // within 300 ms: unchanged
    EXPECT_EQ(ev.deadline, first);
    loop_->add_timer(&ev, 800);
    EXPECT_EQ(ev.deadline, first);
    loop_->add_timer(&ev, 1400);  // 400 ms later: moved
    EXPECT_EQ(ev.deadline, first + 400);
    EXPECT_EQ(loop_->timer_count(), 1u);
    loop_->del_timer(&ev);
    EXPECT_EQ(loop_->timer_count(), 0u);
}

TEST_P(LoopOrderTest, HundredThousandTimersExpireInDeadlineOrder) {
    static std::vector<std::uint32_t>* order;
    std::vector<std::uint32_t> seen;
    order = &seen;
    std::vector<Event> timers(100000);
    for (std::size_t i = 0; i < timers.size(); ++i) {
        timers[i].handler = [](Event* ev) { order->push_back(ev->deadline); };
        // Spread over 0..199 ms in a scrambled order.
        loop_->add_timer(&timers[i], (i * 7919) % 200);
    }
    ASSERT_TRUE(run_until([&] { return seen.size() == timers.size(); }, 5000));
    for (std::size_t i = 1; i < seen.size(); ++i) {
        ASSERT_FALSE(event::TimerWheel::before(seen[i], seen[i - 1])) << "at " << i;
    }
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(LoopOrderTest);

// The clock near the 32-bit wrap: timers still fire, in order.
class LoopWrapTest : public LoopTest {
protected:
    void configure(event::LoopConfig&) override {
        core::clock().update();
        const auto now32 = static_cast<std::uint32_t>(core::clock().msec());
        // Put now32() 100 ms before the wrap.
        core::clock().set_msec_offset(static_cast<core::Msec>(0xffffff9cu - now32));
    }
    void TearDown() override { core::clock().set_msec_offset(0); }
};

TEST_P(LoopWrapTest, TimersFireAcrossTheWrap) {
    ASSERT_GT(loop_->now32(), 0xffffff00u);
    static std::vector<int>* order;
    std::vector<int> seen;
    order = &seen;
    struct Numbered {
        Event ev;
        int n;
    };
    Numbered timers[3] = {{{}, 0}, {{}, 1}, {{}, 2}};
    const core::Msec delays[] = {50, 150, 250};  // before, just after and well after 2^32
    for (int i = 0; i < 3; ++i) {
        timers[i].ev.handler = [](Event* ev) {
            order->push_back(reinterpret_cast<Numbered*>(ev)->n);
        };
        loop_->add_timer(&timers[i].ev, delays[i]);
    }
    ASSERT_TRUE(run_until([&] { return seen.size() == 3; }, 3000));
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
    EXPECT_LT(loop_->now32(), 0x1000u);  // the clock really wrapped
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(LoopWrapTest);

// A connection closed and its slot reused by a new connection inside one wait
// batch: the old connection's event must not reach the new owner.
class StaleEventTest : public LoopTest {};

struct StaleCase {
    event::Loop* loop = nullptr;
    Connection* conns[2] = {};
    int peers[2] = {-1, -1};
    Connection* replacement = nullptr;
    int replacement_peer = -1;
    int turn = 0;
    int replacement_calls_in_first_turn = 0;
    int first_batch_calls = 0;
};
StaleCase* g_case = nullptr;

void replacement_read(Event*) {
    if (g_case->turn == 1) {
        ++g_case->replacement_calls_in_first_turn;
    }
}

void racing_read(Event* ev) {
    StaleCase& s = *g_case;
    ++s.first_batch_calls;
    Connection* self = event::connection_of(ev);
    Connection* other = self == s.conns[0] ? s.conns[1] : s.conns[0];
    if (s.replacement != nullptr || other->fd == -1) {
        return;
    }
    // Close the other connection and immediately give its slot to a new one whose
    // socket is readable too.
    const std::uint32_t slot = other->index;
    s.loop->close_connection(other);
    int fds[2];
    socket_pair(fds);
    Connection* fresh = s.loop->pool().get(fds[0]);
    ASSERT_EQ(fresh->index, slot);  // LIFO free list: the very slot just freed
    fresh->read.handler = replacement_read;
    ASSERT_EQ(s.loop->handle_read_event(&fresh->read), core::Status::ok);
    ASSERT_EQ(::write(fds[1], "y", 1), 1);
    s.replacement = fresh;
    s.replacement_peer = fds[1];
}

TEST_P(StaleEventTest, ReusedSlotNeverSeesThePreviousOwnersEvent) {
    StaleCase s;
    s.loop = loop_.get();
    g_case = &s;
    for (int i = 0; i < 2; ++i) {
        int fds[2];
        socket_pair(fds);
        s.conns[i] = loop_->pool().get(fds[0]);
        s.peers[i] = fds[1];
        s.conns[i]->read.handler = racing_read;
        ASSERT_EQ(loop_->handle_read_event(&s.conns[i]->read), core::Status::ok);
        ASSERT_EQ(::write(fds[1], "x", 1), 1);  // both readable before the wait
    }
    s.turn = 1;
    loop_->process_events_and_timers();
    EXPECT_EQ(s.first_batch_calls, 1) << "the closed connection's event was delivered";
    ASSERT_NE(s.replacement, nullptr);
    EXPECT_EQ(s.replacement_calls_in_first_turn, 0)
        << "the previous owner's event reached the new owner of the slot";

    // The replacement still gets its own event on the next turn.
    s.turn = 2;
    bool got = false;
    s.replacement->read.handler = [](Event* ev) { event::connection_of(ev)->data = ev; };
    ASSERT_TRUE(run_until([&] {
        got = s.replacement->data != nullptr;
        return got;
    }));

    for (Connection* c : {s.conns[0], s.conns[1], s.replacement}) {
        if (c->fd != -1) {
            loop_->close_connection(c);
        }
    }
    for (int fd : {s.peers[0], s.peers[1], s.replacement_peer}) {
        ::close(fd);
    }
    g_case = nullptr;
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(StaleEventTest);

}  // namespace
}  // namespace evs::test
