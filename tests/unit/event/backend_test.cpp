// Registration through the backend interface, on every backend: adding an event
// that is registered already, or deleting one that is not, changes nothing and is
// not an error (epoll used to answer EEXIST / ENOENT and log an alert); a change of
// mode on a registered event is applied; a deleted event is no longer reported.

#include <unistd.h>

#include "event/connection.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::test {
namespace {

using event::Connection;
using event::Event;

class BackendTest : public LoopTest {
protected:
    void TearDown() override {
        if (c_ != nullptr && c_->fd != -1) {
            loop_->close_connection(c_);
        }
        if (peer_ >= 0) {
            ::close(peer_);
        }
    }

    // A connection on one end of a socket pair, its read handler counting calls in
    // `calls_` and draining the socket.
    void open_connection() {
        int fds[2];
        socket_pair(fds);
        c_ = loop_->pool().get(fds[0]);
        ASSERT_NE(c_, nullptr);
        peer_ = fds[1];
        c_->data = this;
        c_->read.handler = [](Event* ev) {
            Connection* c = event::connection_of(ev);
            auto* self = static_cast<BackendTest*>(c->data);
            ++self->calls_;
            char buf[64];
            while (::read(c->fd, buf, sizeof(buf)) > 0) {
            }
            ev->ready = 0;
        };
    }

    // Turns the loop for about `ms` milliseconds (for "nothing happens" checks).
    void turn_for(core::Msec ms) {
        core::clock().update();
        const core::Msec until = core::clock().msec() + ms;
        run_until([&] { return core::clock().msec() >= until; }, ms + 1000);
    }

    unsigned mode() const {
        return (loop_->capabilities() & event::k_use_clear) ? event::k_clear_event
                                                            : event::k_level_event;
    }

public:
    // Public: the handlers (plain functions) reach them through the connection.
    Connection* c_ = nullptr;
    int peer_ = -1;
    int calls_ = 0;
};

TEST_P(BackendTest, AddingARegisteredEventAgainChangesNothing) {
    open_connection();
    ASSERT_EQ(loop_->backend().add(&c_->read, mode()), core::Status::ok);
    ASSERT_EQ(loop_->backend().add(&c_->read, mode()), core::Status::ok) << captured_.text();
    EXPECT_TRUE(c_->read.active);
    EXPECT_FALSE(captured_.contains("failed")) << captured_.text();

    ASSERT_EQ(::write(peer_, "x", 1), 1);
    ASSERT_TRUE(run_until([&] { return calls_ > 0; }));
    turn_for(50);
    EXPECT_EQ(calls_, 1);
}

TEST_P(BackendTest, AddingTheOtherDirectionKeepsTheFirst) {
    open_connection();
    ASSERT_EQ(loop_->backend().add(&c_->read, mode()), core::Status::ok);
    c_->write.handler = [](Event* ev) { ev->ready = 0; };
    ASSERT_EQ(loop_->backend().add(&c_->write, mode()), core::Status::ok);
    ASSERT_EQ(loop_->backend().add(&c_->write, mode()), core::Status::ok) << captured_.text();
    ASSERT_EQ(loop_->backend().del(&c_->write, 0), core::Status::ok) << captured_.text();
    EXPECT_FALSE(c_->write.active);
    EXPECT_TRUE(c_->read.active);

    ASSERT_EQ(::write(peer_, "x", 1), 1);
    ASSERT_TRUE(run_until([&] { return calls_ > 0; }));
    EXPECT_FALSE(captured_.contains("failed")) << captured_.text();
}

TEST_P(BackendTest, DeletingAnUnregisteredEventChangesNothing) {
    open_connection();
    ASSERT_EQ(loop_->backend().del(&c_->read, 0), core::Status::ok) << captured_.text();
    EXPECT_FALSE(c_->read.active);
    EXPECT_FALSE(captured_.contains("failed")) << captured_.text();

    // Registered, deleted, deleted again: still no error, and no event reported.
    ASSERT_EQ(loop_->backend().add(&c_->read, mode()), core::Status::ok);
    ASSERT_EQ(loop_->backend().del(&c_->read, 0), core::Status::ok);
    ASSERT_EQ(loop_->backend().del(&c_->read, 0), core::Status::ok) << captured_.text();
    EXPECT_FALSE(captured_.contains("failed")) << captured_.text();
    ASSERT_EQ(::write(peer_, "x", 1), 1);
    turn_for(50);
    EXPECT_EQ(calls_, 0) << "a deleted event was reported";

    // Adding it again reports the byte that arrived meanwhile.
    ASSERT_EQ(loop_->backend().add(&c_->read, mode()), core::Status::ok);
    ASSERT_TRUE(run_until([&] { return calls_ > 0; }));
}

TEST_P(BackendTest, ChangingARegisteredEventsModeIsApplied) {
    if (!(loop_->capabilities() & event::k_use_clear)) {
        GTEST_SKIP() << "only edge-triggered backends have two modes";
    }
    open_connection();
    // Level-triggered first: a handler that does not read is called again.
    c_->read.handler = [](Event* ev) {
        ++static_cast<BackendTest*>(event::connection_of(ev)->data)->calls_;
    };
    ASSERT_EQ(loop_->backend().add(&c_->read, event::k_level_event), core::Status::ok);
    ASSERT_EQ(::write(peer_, "x", 1), 1);
    ASSERT_TRUE(run_until([&] { return calls_ >= 3; }));

    // Edge-triggered now (a MOD: the descriptor is registered): the unread byte
    // is reported once more, by the change, and then not again.
    ASSERT_EQ(loop_->backend().add(&c_->read, event::k_clear_event), core::Status::ok)
        << captured_.text();
    EXPECT_TRUE(c_->read.edge);
    calls_ = 0;
    turn_for(50);
    EXPECT_EQ(calls_, 1);
    EXPECT_FALSE(captured_.contains("failed")) << captured_.text();
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(BackendTest);

}  // namespace
}  // namespace evs::test
