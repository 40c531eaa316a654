// ConnectionPool: generations and LIFO reuse (what stale-event detection rests on),
// internal slots, the reusable queue, and draining when worker_connections run out
// (through a real listener on 127.0.0.1, once per backend).

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "event/connection.hpp"
#include "event/connection_pool.hpp"
#include "event/io.hpp"
#include "event/listening.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::event {
namespace {

using core::Status;
using test::LoopbackListening;
using test::UniqueFd;

void ignore_event(Event* /*ev*/) {}

// --- The pool on its own (no loop). ---

TEST(ConnectionPool, GenerationIncrementsOnEveryGet) {
    test::CapturedLog log;
    ConnectionPool pool(nullptr, 8, &log.log());

    std::vector<std::uint32_t> first(8);
    for (std::uint32_t i = 0; i < 8; ++i) {
        Connection* c = pool.get(100 + static_cast<int>(i));
        ASSERT_NE(c, nullptr);
        EXPECT_EQ(c->index, i);  // a fresh pool hands out slot 0 first
        EXPECT_EQ(c->fd, 100 + static_cast<int>(i));
        first[i] = c->generation;
    }
    // The same slot, taken and given back again and again: a new generation each time.
    Connection* c = pool.slot(3);
    std::uint32_t generation = first[3];
    for (int round = 0; round < 5; ++round) {
        pool.free(c);
        Connection* again = pool.get(7);
        ASSERT_EQ(again, c);
        EXPECT_EQ(again->generation, generation + 1);
        generation = again->generation;
    }
}

TEST(ConnectionPool, FreedSlotIsHandedOutNextWithANewGeneration) {
    test::CapturedLog log;
    ConnectionPool pool(nullptr, 8, &log.log());
    Connection* a = pool.get(10);
    Connection* b = pool.get(11);
    Connection* c = pool.get(12);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_NE(c, nullptr);
    const std::uint32_t b_generation = b->generation;
    const std::uint32_t c_generation = c->generation;
    const std::uint64_t c_number = c->number;

    pool.free(b);
    EXPECT_EQ(b->fd, -1);  // dispatch drops events of a slot whose fd is -1
    pool.free(c);
    EXPECT_EQ(pool.free_count(), 7u);

    // Last freed, first reused: exactly the case stale-event detection exists for.
    Connection* next = pool.get(20);
    EXPECT_EQ(next, c);
    EXPECT_EQ(next->generation, c_generation + 1);
    EXPECT_GT(next->number, c_number);
    EXPECT_EQ(next->fd, 20);
    // The new user starts clean.
    EXPECT_EQ(next->data, nullptr);
    EXPECT_EQ(next->read.handler, nullptr);
    EXPECT_FALSE(next->read.active);
    EXPECT_FALSE(next->close);
    EXPECT_EQ(next->read.data, next);
    EXPECT_EQ(next->write.data, next);
    EXPECT_TRUE(next->write.write);

    Connection* after = pool.get(21);
    EXPECT_EQ(after, b);
    EXPECT_EQ(after->generation, b_generation + 1);
}

TEST(ConnectionPool, InternalSlotsAreNeverHandedOutByGet) {
    test::CapturedLog log;
    constexpr std::size_t k_capacity = 4;
    ConnectionPool pool(nullptr, k_capacity, &log.log());
    EXPECT_EQ(pool.slot_count(), k_capacity + ConnectionPool::k_internal_slots);

    std::vector<Connection*> internal;
    for (std::size_t i = 0; i < ConnectionPool::k_internal_slots; ++i) {
        Connection* c = pool.get_internal(50 + static_cast<int>(i));
        ASSERT_NE(c, nullptr);
        EXPECT_GE(c->index, k_capacity);
        internal.push_back(c);
    }
    EXPECT_EQ(pool.get_internal(60), nullptr);
    EXPECT_EQ(pool.free_count(), k_capacity);  // internal slots are not counted

    for (std::size_t i = 0; i < k_capacity; ++i) {
        Connection* c = pool.get(70 + static_cast<int>(i));
        ASSERT_NE(c, nullptr);
        EXPECT_LT(c->index, k_capacity);
    }
    EXPECT_EQ(pool.get(80), nullptr);
    EXPECT_TRUE(log.contains("4 worker_connections are not enough")) << log.text();
    for (Connection* c : internal) {
        EXPECT_NE(c->fd, -1);  // untouched by get()
    }
}

// Records which slots the pool asked to close, and frees them, as an owner would.
struct IdleOwner {
    ConnectionPool* pool;
    std::vector<std::uint32_t> closed;
};

void close_on_request(Event* ev) {
    Connection* c = connection_of(ev);
    auto* owner = static_cast<IdleOwner*>(c->data);
    EXPECT_TRUE(c->close);
    EXPECT_FALSE(c->reusable);
    owner->closed.push_back(c->index);
    owner->pool->free(c);
}

TEST(ConnectionPool, DrainClosesTheOldestIdleConnectionWhenSlotsRunShort) {
    test::CapturedLog log;
    ConnectionPool pool(nullptr, 16, &log.log());
    IdleOwner owner{&pool, {}};

    std::vector<Connection*> conns;
    for (int i = 0; i < 15; ++i) {
        Connection* c = pool.get(100 + i);
        ASSERT_NE(c, nullptr);
        c->data = &owner;
        c->read.handler = close_on_request;
        conns.push_back(c);
    }
    // Idle in the order 0, 1, 2, 3; then 0 is used and goes idle again: 1 is now oldest.
    for (int i : {0, 1, 2, 3}) {
        pool.set_reusable(conns[static_cast<std::size_t>(i)], true);
    }
    pool.set_reusable(conns[0], true);
    EXPECT_EQ(pool.reusable_count(), 4u);
    EXPECT_TRUE(owner.closed.empty());
    EXPECT_EQ(pool.free_count(), 1u);  // = capacity/16: the next get() drains

    Connection* c = pool.get(200);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(owner.closed, std::vector<std::uint32_t>{conns[1]->index});
    EXPECT_EQ(c, conns[1]);  // the drained slot is the one handed out
    EXPECT_EQ(pool.reusable_count(), 3u);
    EXPECT_TRUE(log.contains("16 worker_connections are not enough, reusing connections"))
        << log.text();

    // Graceful shutdown: every idle connection, oldest first.
    pool.close_idle();
    EXPECT_EQ(owner.closed, (std::vector<std::uint32_t>{conns[1]->index, conns[2]->index,
                                                        conns[3]->index, conns[0]->index}));
    EXPECT_EQ(pool.reusable_count(), 0u);
}

TEST(ConnectionPool, NoDrainWhileFreeSlotsAreAboveOneSixteenth) {
    test::CapturedLog log;
    ConnectionPool pool(nullptr, 32, &log.log());
    IdleOwner owner{&pool, {}};
    for (int i = 0; i < 29; ++i) {
        Connection* c = pool.get(100 + i);
        ASSERT_NE(c, nullptr);
        c->data = &owner;
        c->read.handler = close_on_request;
        pool.set_reusable(c, true);
    }
    EXPECT_EQ(pool.free_count(), 3u);  // above 32/16
    ASSERT_NE(pool.get(200), nullptr);
    EXPECT_TRUE(owner.closed.empty());
    EXPECT_FALSE(log.contains("reusing connections"));
    ASSERT_NE(pool.get(201), nullptr);   // free was 2 = 32/16: now it drains
    EXPECT_EQ(owner.closed.size(), 3u);  // max(1, min(32, 29 / 8))
}

// --- Stale events, through the loop: once per backend. ---

// Two connections readable in the same wait; whichever handler runs first closes
// the other and gives its slot to a new user. The event the kernel already reported
// for the closed one must not reach the new user.
struct StaleState {
    Loop* loop = nullptr;
    Connection* conns[2] = {nullptr, nullptr};
    int calls[2] = {0, 0};
    std::uint32_t closed_index = 0;
    std::uint32_t closed_generation = 0;
    Connection* replacement = nullptr;
    int replacement_calls = 0;
    int replacement_pair[2] = {-1, -1};
};

void replacement_read(Event* ev) {
    ++static_cast<StaleState*>(connection_of(ev)->data)->replacement_calls;
}

void close_the_other(Event* ev) {
    Connection* c = connection_of(ev);
    auto* s = static_cast<StaleState*>(c->data);
    const int me = c == s->conns[0] ? 0 : 1;
    ++s->calls[me];
    if (s->replacement != nullptr) {
        return;
    }
    Connection* other = s->conns[1 - me];
    s->closed_index = other->index;
    s->closed_generation = other->generation;
    s->loop->close_connection(other);
    ASSERT_EQ(
        ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s->replacement_pair),
        0);
    Connection* n = s->loop->pool().get(s->replacement_pair[0]);
    ASSERT_NE(n, nullptr);
    n->data = s;
    n->read.handler = replacement_read;
    n->write.handler = ignore_event;
    ASSERT_EQ(s->loop->handle_read_event(&n->read), Status::ok);
    s->replacement = n;
}

class PoolStaleEventTest : public test::LoopTest {
protected:
    void TearDown() override {
        if (loop_) {
            test::close_open_connections(*loop_);
        }
    }
};

TEST_P(PoolStaleEventTest, EventOfAClosedConnectionDoesNotReachTheSlotsNextUser) {
    StaleState s;
    s.loop = loop_.get();
    int pairs[2][2];
    std::vector<UniqueFd> peers;
    for (int i = 0; i < 2; ++i) {
        test::socket_pair(pairs[i]);
        peers.emplace_back(pairs[i][1]);
        Connection* c = loop_->pool().get(pairs[i][0]);
        ASSERT_NE(c, nullptr);
        c->data = &s;
        c->read.handler = close_the_other;
        c->write.handler = ignore_event;
        ASSERT_EQ(loop_->handle_read_event(&c->read), Status::ok);
        s.conns[i] = c;
    }
    for (const UniqueFd& peer : peers) {
        ASSERT_EQ(::send(peer.get(), "x", 1, MSG_NOSIGNAL), 1);
    }

    Event tick;
    tick.handler = ignore_event;
    loop_->add_timer(&tick, 200);
    loop_->process_events_and_timers();
    loop_->del_timer(&tick);

    ASSERT_NE(s.replacement, nullptr);
    EXPECT_EQ(s.calls[0] + s.calls[1], 1);
    EXPECT_EQ(s.replacement_calls, 0);
    // The new user really did get the closed connection's slot.
    EXPECT_EQ(s.replacement->index, s.closed_index);
    EXPECT_EQ(s.replacement->generation, s.closed_generation + 1);

    // The replacement still gets its own events.
    UniqueFd replacement_peer(s.replacement_pair[1]);
    ASSERT_EQ(::send(replacement_peer.get(), "y", 1, MSG_NOSIGNAL), 1);
    EXPECT_TRUE(run_until([&] { return s.replacement_calls > 0; }, 2000));
}

// --- Draining, through a real listener: once per backend. ---

struct DrainState {
    bool idle = true;                     // mark accepted connections reusable
    std::vector<std::uint64_t> accepted;  // connection numbers, in accept order
    std::vector<std::uint64_t> closed;    // those the pool asked to close, in order
};

DrainState* drain_state_of(Connection* c) {
    return static_cast<DrainState*>(c->listening->data);
}

// An idle connection: closes when the pool asks, echoes otherwise.
void idle_read(Event* ev) {
    Connection* c = connection_of(ev);
    if (c->close) {
        drain_state_of(c)->closed.push_back(c->number);
        c->loop->close_connection(c);
        return;
    }
    char buf[256];
    for (;;) {
        const ssize_t n = event::recv(c, buf, sizeof(buf));
        if (n == k_io_again) {
            break;
        }
        if (n <= 0 || event::send(c, buf, static_cast<std::size_t>(n)) != n) {
            c->loop->close_connection(c);
            return;
        }
    }
    if (c->loop->handle_read_event(ev) != Status::ok) {
        c->loop->close_connection(c);
    }
}

void on_accepted(Connection* c) {
    DrainState* state = drain_state_of(c);
    state->accepted.push_back(c->number);
    c->read.handler = idle_read;
    c->write.handler = ignore_event;
    if (c->loop->handle_read_event(&c->read) != Status::ok) {
        c->loop->close_connection(c);
        return;
    }
    if (state->idle) {
        c->loop->pool().set_reusable(c, true);
    }
}

class PoolDrainTest : public test::LoopTest {
protected:
    void configure(LoopConfig& config) override { config.connections = 16; }
    void TearDown() override {
        if (loop_) {
            test::close_open_connections(*loop_);
        }
    }

    // Connects a client and waits until the server has dealt with it.
    void connect_and_wait(const Listening& ls, std::vector<UniqueFd>* clients) {
        const std::uint64_t before = ls.accepted;
        clients->emplace_back(test::connect_client(ls.address));
        ASSERT_GE(clients->back().get(), 0);
        ASSERT_TRUE(run_until([&] { return ls.accepted > before; }, 2000)) << captured_.text();
    }

    // Sends `text` on `fd` and waits for the server to echo it back.
    bool echoes(int fd, const std::string& text) {
        if (::send(fd, text.data(), text.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(text.size())) {
            return false;
        }
        std::string echoed;
        const bool done = run_until(
            [&] {
                char buf[64];
                const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n > 0) {
                    echoed.append(buf, static_cast<std::size_t>(n));
                }
                return echoed.size() >= text.size();
            },
            2000);
        return done && echoed == text;
    }
};

TEST_P(PoolDrainTest, ExhaustedPoolClosesTheOldestIdleConnections) {
    DrainState state;
    LoopbackListening server(on_accepted, &state);
    Listening& ls = server.ls;
    ASSERT_GE(ls.fd, 0);
    ASSERT_EQ(loop_->add_listening(&ls), Status::ok);
    ConnectionPool& pool = loop_->pool();

    // 16 slots, one the listener's: 14 idle connections leave one free slot (16/16).
    std::vector<UniqueFd> clients;
    for (int i = 0; i < 14; ++i) {
        ASSERT_NO_FATAL_FAILURE(connect_and_wait(ls, &clients));
    }
    EXPECT_EQ(pool.free_count(), 1u);
    EXPECT_EQ(pool.reusable_count(), 14u);
    EXPECT_TRUE(state.closed.empty());
    EXPECT_FALSE(captured_.contains("worker_connections are not enough"));

    // The 15th: the oldest idle connection is closed to make room, and it is accepted.
    ASSERT_NO_FATAL_FAILURE(connect_and_wait(ls, &clients));
    EXPECT_EQ(state.closed, std::vector<std::uint64_t>{state.accepted[0]});
    EXPECT_TRUE(captured_.contains("16 worker_connections are not enough, reusing connections"))
        << captured_.text();
    EXPECT_TRUE(test::peer_closed(clients[0].get()));
    EXPECT_TRUE(echoes(clients[14].get(), "new"));

    // The 16th: the next oldest goes.
    ASSERT_NO_FATAL_FAILURE(connect_and_wait(ls, &clients));
    EXPECT_EQ(state.closed, (std::vector<std::uint64_t>{state.accepted[0], state.accepted[1]}));
    EXPECT_TRUE(test::peer_closed(clients[1].get()));
    EXPECT_FALSE(test::peer_closed(clients[2].get(), 0));
    EXPECT_TRUE(echoes(clients[2].get(), "old"));
    EXPECT_TRUE(echoes(clients[15].get(), "newer"));
    EXPECT_EQ(state.accepted.size(), 16u);
    EXPECT_EQ(pool.free_count(), 1u);
    EXPECT_EQ(pool.reusable_count(), 14u);
}

TEST_P(PoolDrainTest, ExhaustedPoolWithoutIdleConnectionsRefusesTheNewOne) {
    DrainState state;
    state.idle = false;
    LoopbackListening server(on_accepted, &state);
    Listening& ls = server.ls;
    ASSERT_GE(ls.fd, 0);
    ASSERT_EQ(loop_->add_listening(&ls), Status::ok);
    ConnectionPool& pool = loop_->pool();

    std::vector<UniqueFd> clients;
    for (int i = 0; i < 15; ++i) {
        ASSERT_NO_FATAL_FAILURE(connect_and_wait(ls, &clients));
    }
    EXPECT_EQ(pool.free_count(), 0u);

    // The 16th finds no slot: its descriptor is closed, the client sees the end.
    clients.emplace_back(test::connect_client(ls.address));
    ASSERT_GE(clients.back().get(), 0);
    ASSERT_TRUE(
        run_until([&] { return captured_.contains("16 worker_connections are not enough"); }, 2000))
        << captured_.text();
    EXPECT_TRUE(test::peer_closed(clients.back().get()));
    EXPECT_FALSE(captured_.contains("reusing connections"));
    EXPECT_EQ(ls.accepted, 15u);
    EXPECT_EQ(state.accepted.size(), 15u);
    EXPECT_TRUE(state.closed.empty());

    // The loop goes on serving what it has...
    EXPECT_TRUE(echoes(clients[0].get(), "still here"));
    // ...and once a slot is free again, a new client is accepted.
    clients[3].reset();
    ASSERT_TRUE(run_until([&] { return pool.free_count() == 1; }, 2000));
    ASSERT_NO_FATAL_FAILURE(connect_and_wait(ls, &clients));
    EXPECT_EQ(state.accepted.size(), 16u);
    EXPECT_TRUE(echoes(clients.back().get(), "welcome"));
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(PoolStaleEventTest);
EVS_INSTANTIATE_FOR_EACH_BACKEND(PoolDrainTest);

}  // namespace
}  // namespace evs::event
