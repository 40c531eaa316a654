// Accepting: multi_accept on and off, the accept_disabled formula, and EMFILE
// (accepting stops, the loop keeps serving, accepting resumes after
// accept_mutex_delay). Every test runs once per backend, on 127.0.0.1 only.

#include <sys/resource.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "event/connection.hpp"
#include "event/io.hpp"
#include "event/listening.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::event {
namespace {

using core::Status;
using test::LoopbackListening;
using test::UniqueFd;

// What a test observes; hung on Listening::data.
struct AcceptState {
    std::vector<Connection*> accepted;
    std::vector<std::int64_t> accept_disabled;     // loop.accept_disabled, per new connection
    std::vector<std::size_t> free_after;           // pool.free_count() then
    std::vector<std::uint64_t> accepted_per_call;  // ls.accepted growth per handler call
};

AcceptState* state_of(Connection* c) {
    return static_cast<AcceptState*>(c->listening->data);
}

void ignore_event(Event* /*ev*/) {}

// Echoes what it reads; closes at end of stream or on error.
void echo_read(Event* ev) {
    Connection* c = connection_of(ev);
    char buf[256];
    for (;;) {
        const ssize_t n = event::recv(c, buf, sizeof(buf));
        if (n == k_io_again) {
            break;
        }
        if (n <= 0) {
            c->loop->close_connection(c);
            return;
        }
        if (event::send(c, buf, static_cast<std::size_t>(n)) != n) {
            c->loop->close_connection(c);
            return;
        }
    }
    if (c->loop->handle_read_event(ev) != Status::ok) {
        c->loop->close_connection(c);
    }
}

// Listening::handler: keeps the connection and serves it with echo_read.
void keep_accepted(Connection* c) {
    AcceptState* state = state_of(c);
    state->accepted.push_back(c);
    state->accept_disabled.push_back(c->loop->accept_disabled);
    state->free_after.push_back(c->loop->pool().free_count());
    c->read.handler = echo_read;
    c->write.handler = ignore_event;
    if (c->loop->handle_read_event(&c->read) != Status::ok) {
        c->loop->close_connection(c);
    }
}

// Listening::handler: counts the connection and closes it at once.
void close_accepted(Connection* c) {
    state_of(c)->accepted.push_back(c);
    c->loop->close_connection(c);
}

// Wraps accept_handler to see how many connections one call accepts.
void counting_accept_handler(Event* ev) {
    Listening* ls = connection_of(ev)->listening;
    const std::uint64_t before = ls->accepted;
    accept_handler(ev);
    static_cast<AcceptState*>(ls->data)->accepted_per_call.push_back(ls->accepted - before);
}

class AcceptTest : public test::LoopTest {
protected:
    void configure(LoopConfig& config) override {
        config.connections = 16;
        config.accept_mutex_delay = 50;
        config.multi_accept = false;
    }
    void TearDown() override {
        if (loop_) {
            test::close_open_connections(*loop_);
        }
    }

    // One turn of the loop, bounded in time even when nothing happens.
    void turn(core::Msec limit_ms = 200) {
        Event tick;
        tick.handler = ignore_event;
        loop_->add_timer(&tick, limit_ms);
        loop_->process_events_and_timers();
        loop_->del_timer(&tick);
    }
};

class MultiAcceptTest : public AcceptTest {
protected:
    void configure(LoopConfig& config) override {
        AcceptTest::configure(config);
        config.multi_accept = true;
    }
};

TEST_P(AcceptTest, MultiAcceptOffAcceptsOnePerHandlerCall) {
    AcceptState state;
    LoopbackListening server(close_accepted, &state);
    Listening& ls = server.ls;
    ASSERT_GE(ls.fd, 0);
    ASSERT_EQ(loop_->add_listening(&ls), Status::ok);
    ls.connection->read.handler = counting_accept_handler;

    constexpr int k_clients = 5;
    std::vector<UniqueFd> clients;
    for (int i = 0; i < k_clients; ++i) {
        clients.emplace_back(test::connect_client(ls.address));
        ASSERT_GE(clients.back().get(), 0);
    }
    ASSERT_TRUE(test::wait_accept_queue(ls.fd, k_clients));

    // Listening sockets are level-triggered: the backlog left over is reported again
    // on the next turn, one connection per turn.
    for (int i = 1; i <= k_clients; ++i) {
        turn();
        EXPECT_EQ(ls.accepted, static_cast<std::uint64_t>(i));
        EXPECT_EQ(state.accepted_per_call, std::vector<std::uint64_t>(i, 1));
    }
    turn(50);
    EXPECT_EQ(state.accepted_per_call.size(), static_cast<std::size_t>(k_clients));
    EXPECT_EQ(state.accepted.size(), static_cast<std::size_t>(k_clients));
}

TEST_P(MultiAcceptTest, MultiAcceptOnAcceptsTheWholeBacklogInOneCall) {
    AcceptState state;
    LoopbackListening server(close_accepted, &state);
    Listening& ls = server.ls;
    ASSERT_GE(ls.fd, 0);
    ASSERT_EQ(loop_->add_listening(&ls), Status::ok);
    ls.connection->read.handler = counting_accept_handler;

    constexpr int k_clients = 5;
    std::vector<UniqueFd> clients;
    for (int i = 0; i < k_clients; ++i) {
        clients.emplace_back(test::connect_client(ls.address));
        ASSERT_GE(clients.back().get(), 0);
    }
    ASSERT_TRUE(test::wait_accept_queue(ls.fd, k_clients));

    turn();
    EXPECT_EQ(ls.accepted, static_cast<std::uint64_t>(k_clients));
    EXPECT_EQ(state.accepted_per_call, std::vector<std::uint64_t>{k_clients});

    // Nothing is left: the next turn does not call the handler.
    turn(50);
    EXPECT_EQ(state.accepted_per_call.size(), 1u);
    for (const UniqueFd& client : clients) {
        EXPECT_TRUE(test::peer_closed(client.get()));
    }
}

TEST_P(AcceptTest, AcceptDisabledIsAnEighthOfThePoolMinusFreeSlots) {
    AcceptState state;
    LoopbackListening server(keep_accepted, &state);
    Listening& ls = server.ls;
    ASSERT_GE(ls.fd, 0);
    ASSERT_EQ(loop_->add_listening(&ls), Status::ok);
    ConnectionPool& pool = loop_->pool();
    ASSERT_EQ(pool.free_count(), 15u);  // the listener holds one of the 16 slots

    // Fill the pool one client at a time: 15 connections, the last taking the last slot.
    std::vector<UniqueFd> clients;
    for (std::size_t i = 1; i <= 15; ++i) {
        clients.emplace_back(test::connect_client(ls.address));
        ASSERT_GE(clients.back().get(), 0);
        ASSERT_TRUE(run_until([&] { return state.accepted.size() == i; })) << "client " << i << "\n"
                                                                           << captured_.text();
        EXPECT_EQ(pool.free_count(), 15 - i);
    }

    // As nginx, the value is computed right after accept4(), before the new
    // connection takes its slot: capacity/8 - (free slots after it + 1).
    const auto eighth = static_cast<std::int64_t>(pool.capacity() / 8);
    for (std::size_t i = 0; i < state.accepted.size(); ++i) {
        const auto free_at_accept = static_cast<std::int64_t>(state.free_after[i] + 1);
        EXPECT_EQ(state.accept_disabled[i], eighth - free_at_accept) << "accept " << i;
        EXPECT_EQ(state.accept_disabled[i], static_cast<std::int64_t>(i) - 13) << "accept " << i;
    }
    // More than 7/8 of the pool in use: the worker would sit out accept-mutex turns.
    EXPECT_GT(loop_->accept_disabled, 0);
    EXPECT_EQ(loop_->accept_disabled, eighth - static_cast<std::int64_t>(pool.free_count() + 1));
}

// Lowers RLIMIT_NOFILE to just above the lowest free descriptor and takes every free
// descriptor below it, so that the next accept4() fails with EMFILE. Gives
// descriptors back on release(), everything (and the limit) on destruction.
class DescriptorExhaustion {
public:
    DescriptorExhaustion() = default;
    DescriptorExhaustion(const DescriptorExhaustion&) = delete;
    DescriptorExhaustion& operator=(const DescriptorExhaustion&) = delete;
    ~DescriptorExhaustion() {
        fillers_.clear();
        if (lowered_) {
            ::setrlimit(RLIMIT_NOFILE, &saved_);
        }
    }

    // Returns the errno that stopped the filling (EMFILE expected).
    int exhaust() {
        if (::getrlimit(RLIMIT_NOFILE, &saved_) < 0) {
            return errno;
        }
        UniqueFd probe(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (probe.get() < 0) {
            return errno;
        }
        rlimit lowered = saved_;
        lowered.rlim_cur = static_cast<rlim_t>(probe.get()) + 8;
        probe.reset();
        if (::setrlimit(RLIMIT_NOFILE, &lowered) < 0) {
            return errno;
        }
        lowered_ = true;
        for (int i = 0; i < 64; ++i) {
            const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                return errno;
            }
            fillers_.emplace_back(fd);
        }
        return 0;
    }

    void release(std::size_t count) {
        for (std::size_t i = 0; i < count && !fillers_.empty(); ++i) {
            fillers_.pop_back();
        }
    }

    std::size_t taken() const { return fillers_.size(); }

private:
    rlimit saved_{};
    bool lowered_ = false;
    std::vector<UniqueFd> fillers_;
};

TEST_P(AcceptTest, EmfileStopsAcceptingAndResumesAfterAcceptMutexDelay) {
    AcceptState state;
    LoopbackListening server(keep_accepted, &state);
    Listening& ls = server.ls;
    ASSERT_GE(ls.fd, 0);
    ASSERT_EQ(loop_->add_listening(&ls), Status::ok);

    // One connection that must keep being served while accepting is stopped.
    UniqueFd served(test::connect_client(ls.address));
    ASSERT_GE(served.get(), 0);
    ASSERT_TRUE(run_until([&] { return ls.accepted == 1; })) << captured_.text();

    // The pending client's socket is made now: once the limit is down, connect()
    // needs no new descriptor.
    UniqueFd pending(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_GE(pending.get(), 0);
    {
        DescriptorExhaustion exhaustion;
        ASSERT_EQ(exhaustion.exhaust(), EMFILE);
        ASSERT_GT(exhaustion.taken(), 0u);
        ASSERT_EQ(::connect(pending.get(), ls.address.get(), ls.address.length), 0)
            << std::strerror(errno);

        ASSERT_TRUE(run_until([&] { return captured_.contains("Too many open files"); }, 2000))
            << captured_.text();
        EXPECT_TRUE(captured_.contains("accept4() failed (24: Too many open files)"))
            << captured_.text();
        EXPECT_EQ(ls.accepted, 1u);

        // The loop keeps running: a timer fires...
        bool fired = false;
        Event timer;
        timer.data = &fired;
        timer.handler = [](Event* ev) { *static_cast<bool*>(ev->data) = true; };
        loop_->add_timer(&timer, 30);
        EXPECT_TRUE(run_until([&] { return fired; }, 2000));
        loop_->del_timer(&timer);

        // ...and the existing connection is still served.
        ASSERT_EQ(::send(served.get(), "ping", 4, MSG_NOSIGNAL), 4);
        std::string echoed;
        EXPECT_TRUE(run_until(
            [&] {
                char buf[16];
                const ssize_t n = ::recv(served.get(), buf, sizeof(buf), MSG_DONTWAIT);
                if (n > 0) {
                    echoed.append(buf, static_cast<std::size_t>(n));
                }
                return echoed.size() >= 4;
            },
            2000));
        EXPECT_EQ(echoed, "ping");
        // Still refusing: several accept_mutex_delay periods have passed.
        EXPECT_EQ(ls.accepted, 1u);

        // Descriptors come back: after accept_mutex_delay the pending client is accepted.
        exhaustion.release(4);
        EXPECT_TRUE(run_until([&] { return ls.accepted == 2; }, 2000)) << captured_.text();
    }
    EXPECT_EQ(state.accepted.size(), 2u);

    // And the newly accepted connection is served like any other.
    ASSERT_EQ(::send(pending.get(), "pong", 4, MSG_NOSIGNAL), 4);
    std::string echoed;
    EXPECT_TRUE(run_until(
        [&] {
            char buf[16];
            const ssize_t n = ::recv(pending.get(), buf, sizeof(buf), MSG_DONTWAIT);
            if (n > 0) {
                echoed.append(buf, static_cast<std::size_t>(n));
            }
            return echoed.size() >= 4;
        },
        2000));
    EXPECT_EQ(echoed, "pong");
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(AcceptTest);
EVS_INSTANTIATE_FOR_EACH_BACKEND(MultiAcceptTest);

}  // namespace
}  // namespace evs::event
