// The epoll backend's change list (src/event/backends/epoll_changes.cpp): the
// epoll_ctl() calls each sequence of add / del / close makes, counted through the
// backend's ctl_calls() seam, and what the handlers see, which must be what they saw
// when every add and del was its own system call. The behaviour tests run on both
// backends (poll has no change list and must agree); the counting tests on epoll.

#include <sys/epoll.h>
#include <unistd.h>

#include "event/backends/epoll_backend.hpp"
#include "event/connection.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::test {
namespace {

using event::Connection;
using event::Event;

// Calls made since the last mark().
struct CtlCount {
    std::uint64_t add = 0;
    std::uint64_t del = 0;
    std::uint64_t mod = 0;
    std::uint64_t total() const { return add + del + mod; }
};

class ChangeListTest : public LoopTest {
protected:
    void TearDown() override {
        for (Side& s : sides_) {
            if (s.c != nullptr && s.c->fd != -1 && s.c->generation == s.generation) {
                loop_->close_connection(s.c);
            }
            if (s.peer >= 0) {
                ::close(s.peer);
            }
        }
    }

    // One end of a socket pair in a connection slot, its read handler counting calls
    // and reading `drain` bytes at most per call (0: until EAGAIN, which clears ready).
    struct Side {
        Connection* c = nullptr;
        std::uint32_t generation = 0;
        int peer = -1;
        int calls = 0;
        int writes = 0;
        std::size_t drain = 0;
        ChangeListTest* test = nullptr;
        Side* other = nullptr;  // a handler may act on it (see the batch test)
        bool del_other = false;
    };

    Side& open_side() {
        Side& s = sides_[count_++];
        int fds[2];
        socket_pair(fds);
        s.c = loop_->pool().get(fds[0]);
        EXPECT_NE(s.c, nullptr);
        s.generation = s.c->generation;
        s.peer = fds[1];
        s.test = this;
        s.c->data = &s;
        s.c->read.handler = on_read;
        s.c->write.handler = [](Event* ev) {
            ++static_cast<Side*>(event::connection_of(ev)->data)->writes;
        };
        return s;
    }

    static void on_read(Event* ev) {
        Connection* c = event::connection_of(ev);
        Side& s = *static_cast<Side*>(c->data);
        ++s.calls;
        if (s.del_other && s.other->c->read.active) {
            s.test->loop_->backend().del(&s.other->c->read, 0);
        }
        char buf[64];
        if (s.drain > 0) {
            ASSERT_GT(::read(c->fd, buf, s.drain), 0);
            return;  // `ready` stays set: data may be left
        }
        while (::read(c->fd, buf, sizeof(buf)) > 0) {
        }
        ev->ready = 0;
    }

    // A side whose read event is registered, edge-triggered, and applied.
    Side& open_registered() {
        Side& s = open_side();
        add_read(s);
        turn();
        return s;
    }
    void add_read(Side& s) {
        EXPECT_EQ(loop_->backend().add(&s.c->read, event::k_clear_event), core::Status::ok);
    }
    void del_read(Side& s) { EXPECT_EQ(loop_->backend().del(&s.c->read, 0), core::Status::ok); }
    // Data written to the peer reaches s's handler.
    void expect_reported(Side& s, const char* byte) {
        const int calls = s.calls;
        ASSERT_EQ(::write(s.peer, byte, 1), 1);
        EXPECT_TRUE(run_until([&] { return s.calls > calls; })) << captured_.text();
    }

    // One turn that does not wait.
    void turn() { ASSERT_EQ(loop_->backend().process_events(0, 0), core::Status::ok); }

    bool is_epoll() const { return GetParam() == "epoll"; }
    event::EpollBackend& epoll() { return dynamic_cast<event::EpollBackend&>(loop_->backend()); }

    void mark() {
        if (is_epoll()) {
            mark_ = now();
        }
    }
    CtlCount since_mark() {
        const CtlCount n = now();
        return {n.add - mark_.add, n.del - mark_.del, n.mod - mark_.mod};
    }
    CtlCount now() {
        return {epoll().ctl_calls(EPOLL_CTL_ADD), epoll().ctl_calls(EPOLL_CTL_DEL),
                epoll().ctl_calls(EPOLL_CTL_MOD)};
    }

    void expect_no_failure() { EXPECT_FALSE(captured_.contains("failed")) << captured_.text(); }

public:
    Side sides_[4];
    int count_ = 0;
    CtlCount mark_;
};

TEST_P(ChangeListTest, DelThenAddOfTheSameMaskMakesNoCall) {
    Side& s = open_registered();
    mark();
    for (int i = 0; i < 3; ++i) {
        del_read(s);
        EXPECT_FALSE(s.c->read.active);
        add_read(s);
        EXPECT_TRUE(s.c->read.active);
        turn();
    }
    if (is_epoll()) {
        EXPECT_EQ(since_mark().total(), 0u);
        EXPECT_EQ(epoll().pending_changes(), 0u);
    }
    // Still registered: data written now is reported.
    expect_reported(s, "x");
    EXPECT_EQ(s.calls, 1);
    expect_no_failure();
}

TEST_P(ChangeListTest, DelIsAppliedBeforeTheNextWait) {
    Side& s = open_registered();
    mark();
    del_read(s);
    if (is_epoll()) {
        EXPECT_EQ(since_mark().total(), 0u);  // recorded, not yet applied
        EXPECT_EQ(epoll().pending_changes(), 1u);
    }
    ASSERT_EQ(::write(s.peer, "x", 1), 1);
    turn();
    turn();
    EXPECT_EQ(s.calls, 0);  // the data came while the direction was not wanted
    if (is_epoll()) {
        const CtlCount n = since_mark();
        EXPECT_EQ(n.del, 1u);
        EXPECT_EQ(n.total(), 1u);
        EXPECT_EQ(epoll().pending_changes(), 0u);
    }
    // Added again after a real DEL: the ADD reports the data already waiting.
    add_read(s);
    ASSERT_TRUE(run_until([&] { return s.calls > 0; })) << captured_.text();
    expect_no_failure();
}

TEST_P(ChangeListTest, AddThenDelIsAnAddAndADel) {
    Side& s = open_side();
    mark();
    add_read(s);
    del_read(s);
    ASSERT_EQ(::write(s.peer, "x", 1), 1);
    turn();
    EXPECT_EQ(s.calls, 0);
    if (is_epoll()) {
        // An add is applied at once (its errors reach the caller); the del is the
        // net change at the next turn.
        const CtlCount n = since_mark();
        EXPECT_EQ(n.add, 1u);
        EXPECT_EQ(n.del, 1u);
        EXPECT_EQ(n.mod, 0u);
    }
    expect_no_failure();
}

TEST_P(ChangeListTest, AddThenCloseIsOneAdd) {
    Side& s = open_side();
    mark();
    add_read(s);
    del_read(s);
    loop_->close_connection(s.c);  // closing removes the fd: the del is dropped
    turn();
    if (is_epoll()) {
        const CtlCount n = since_mark();
        EXPECT_EQ(n.add, 1u);
        EXPECT_EQ(n.total(), 1u);
        EXPECT_EQ(epoll().pending_changes(), 0u);
    }
    expect_no_failure();
}

TEST_P(ChangeListTest, ChangingTheMaskIsOneMod) {
    if (!is_epoll()) {
        GTEST_SKIP() << "add_conn is epoll's";
    }
    Side& s = open_side();
    ASSERT_EQ(loop_->backend().add_conn(s.c), core::Status::ok);
    turn();
    mark();
    ASSERT_EQ(loop_->backend().del(&s.c->write, 0), core::Status::ok);
    turn();
    CtlCount n = since_mark();
    EXPECT_EQ(n.mod, 1u);
    EXPECT_EQ(n.total(), 1u);
    // Both directions gone in one turn: one DEL, no MOD first.
    ASSERT_EQ(loop_->backend().add(&s.c->write, event::k_clear_event), core::Status::ok);
    mark();
    ASSERT_EQ(loop_->backend().del(&s.c->write, 0), core::Status::ok);
    del_read(s);
    turn();
    n = since_mark();
    EXPECT_EQ(n.del, 1u);
    EXPECT_EQ(n.total(), 1u);
    // The read direction still works after a MOD that kept it.
    add_read(s);
    expect_reported(s, "x");
    expect_no_failure();
}

TEST_P(ChangeListTest, DelThenCloseMakesNoCall) {
    Side& s = open_registered();
    mark();
    del_read(s);
    loop_->close_connection(s.c);
    turn();
    if (is_epoll()) {
        EXPECT_EQ(since_mark().total(), 0u);
    }
    expect_no_failure();
}

// A shared descriptor (a listener the master and the other workers also hold; here a
// dup) stays in the interest list after our close(): a pending del must be applied
// before the slot is freed and the descriptor closed, not at the next turn.
TEST_P(ChangeListTest, PendingDelOfASharedFdIsAppliedAtClose) {
    Side& s = open_side();
    const int dup = ::dup(s.c->fd);
    ASSERT_GE(dup, 0);
    const int fd = s.c->fd;
    s.c->shared = 1;
    add_read(s);
    turn();
    mark();
    del_read(s);
    loop_->close_connection(s.c);  // shared: frees the slot, leaves the fd open
    if (is_epoll()) {
        const CtlCount n = since_mark();
        EXPECT_EQ(n.del, 1u);
        EXPECT_EQ(n.total(), 1u);
    }
    ::close(fd);
    // The open file lives on through `dup`; data on it must not reach the loop, nor
    // the next user of the slot.
    Side& next = open_side();
    add_read(next);
    ASSERT_EQ(::write(s.peer, "x", 1), 1);
    for (int i = 0; i < 3; ++i) {
        turn();
    }
    EXPECT_EQ(next.calls, 0);
    EXPECT_EQ(s.calls, 0);
    ::close(dup);
    expect_no_failure();
}

// The fd number and the slot are both reused while the previous user's del is
// pending: the new user's add must be a real ADD (the old registration went with the
// close), and the stale change must not touch the new descriptor.
TEST_P(ChangeListTest, FdReusedAfterCloseWithAPendingChange) {
    Side& a = open_registered();
    const int old_fd = a.c->fd;
    Connection* const old_slot = a.c;
    del_read(a);
    loop_->close_connection(a.c);  // closes old_fd; a.c's slot is free again
    mark();
    Side& b = open_side();  // the lowest free number and the last freed slot
    EXPECT_EQ(b.c->fd, old_fd);
    EXPECT_EQ(b.c, old_slot);
    add_read(b);
    turn();
    if (is_epoll()) {
        const CtlCount n = since_mark();
        EXPECT_EQ(n.add, 1u);
        EXPECT_EQ(n.total(), 1u);
    }
    expect_reported(b, "x");
    EXPECT_EQ(a.calls, 0);
    expect_no_failure();
}

// Closing a descriptor that another one still references does not remove it from
// epoll's interest list: its events keep coming with the old generation, and must be
// dropped as stale, not delivered to the slot's next user.
TEST_P(ChangeListTest, EventsOfAClosedButReferencedFdAreStale) {
    Side& a = open_registered();
    const int dup = ::dup(a.c->fd);
    ASSERT_GE(dup, 0);
    loop_->close_connection(a.c);
    Side& b = open_side();
    add_read(b);
    ASSERT_EQ(::write(a.peer, "x", 1), 1);  // readable through `dup`
    for (int i = 0; i < 3; ++i) {
        turn();
    }
    EXPECT_EQ(b.calls, 0);
    expect_reported(b, "y");
    EXPECT_EQ(b.calls, 1);
    ::close(dup);
    expect_no_failure();
}

// Both sockets are readable in the same wait; whichever handler runs first deletes
// the other's read event, whose readiness in the same batch must then be dropped.
// Added back before the next turn, it must still be reported: the dropped edge is
// re-polled (one MOD) rather than lost with a registration kept in place.
TEST_P(ChangeListTest, AnEventForAFdWithAPendingDelIsDroppedAndNotLost) {
    Side& x = open_side();
    Side& y = open_side();
    x.other = &y;
    y.other = &x;
    x.del_other = y.del_other = true;
    add_read(x);
    add_read(y);
    turn();
    ASSERT_EQ(::write(x.peer, "x", 1), 1);
    ASSERT_EQ(::write(y.peer, "y", 1), 1);
    turn();
    ASSERT_EQ(x.calls + y.calls, 1);
    Side& dropped = x.calls == 0 ? x : y;
    EXPECT_FALSE(dropped.c->read.active);
    x.del_other = y.del_other = false;
    mark();
    add_read(dropped);
    if (is_epoll()) {
        const CtlCount n = since_mark();
        EXPECT_EQ(n.mod, 1u);
        EXPECT_EQ(n.total(), 1u);
    }
    ASSERT_TRUE(run_until([&] { return dropped.calls > 0; }, 1000)) << captured_.text();
    expect_no_failure();
}

// A handler that leaves data unread keeps `ready`; a del and add then must report
// the data again, as the ADD of a real DEL + ADD did: one MOD re-polls it.
TEST_P(ChangeListTest, ReAddingAReadyEventReportsItAgain) {
    Side& s = open_side();
    s.drain = 1;
    add_read(s);
    ASSERT_EQ(::write(s.peer, "ab", 2), 2);
    ASSERT_TRUE(run_until([&] { return s.calls > 0; })) << captured_.text();
    ASSERT_TRUE(s.c->read.ready);
    const int calls = s.calls;
    mark();
    del_read(s);
    add_read(s);
    if (is_epoll()) {
        const CtlCount n = since_mark();
        EXPECT_EQ(n.mod, 1u);
        EXPECT_EQ(n.total(), 1u);
    }
    ASSERT_TRUE(run_until([&] { return s.calls > calls; }, 1000)) << captured_.text();
    expect_no_failure();
}

// listening.cpp deletes and re-adds an EPOLLEXCLUSIVE listener to move it to the
// back of the kernel's wake-up queue: that pair must stay a real DEL and ADD.
TEST_P(ChangeListTest, ExclusiveReAddIsARealDelAndAdd) {
    if (!is_epoll()) {
        GTEST_SKIP() << "EPOLLEXCLUSIVE is epoll's";
    }
    Side& s = open_side();
    ASSERT_EQ(loop_->backend().add(&s.c->read, event::k_exclusive_event), core::Status::ok);
    turn();
    mark();
    del_read(s);
    ASSERT_EQ(loop_->backend().add(&s.c->read, event::k_exclusive_event), core::Status::ok);
    const CtlCount n = since_mark();
    EXPECT_EQ(n.del, 1u);
    EXPECT_EQ(n.add, 1u);
    EXPECT_EQ(n.total(), 2u);
    expect_reported(s, "x");
    expect_no_failure();
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(ChangeListTest);

}  // namespace
}  // namespace evs::test
