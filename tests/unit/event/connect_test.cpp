// Outgoing connections (connect_peer / connect_result): to a listening socket on
// 127.0.0.1, to a closed port, and to a unix socket. Once per backend.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "event/connect.hpp"
#include "event/connection.hpp"
#include "event/io.hpp"
#include "event/listening.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::event {
namespace {

using core::Status;
using test::LoopbackListening;
using test::UniqueFd;

// What the client side of a test observes; hung on Connection::data.
struct ClientState {
    int write_calls = 0;
    int result = -1;  // connect_result() at the first write event
    bool connected = false;
    std::string received;
    bool eof = false;
};

// The write event reports that the connection attempt finished, either way.
void on_connect_done(Event* ev) {
    Connection* c = connection_of(ev);
    auto* state = static_cast<ClientState*>(c->data);
    if (++state->write_calls == 1) {
        state->result = connect_result(c);
        state->connected = state->result == 0;
    }
    // Level-triggered backends would report a writable socket on every turn.
    if (state->connected && c->loop->handle_write_event(ev) != Status::ok) {
        ADD_FAILURE() << "handle_write_event failed";
    }
}

void on_readable(Event* ev) {
    Connection* c = connection_of(ev);
    auto* state = static_cast<ClientState*>(c->data);
    if (!state->connected) {
        // Before the write event has said how the attempt went: reading now would
        // consume the pending error (SO_ERROR) that connect_result() reports.
        return;
    }
    char buf[256];
    for (;;) {
        const ssize_t n = event::recv(c, buf, sizeof(buf));
        if (n > 0) {
            state->received.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            state->eof = true;
        }
        break;
    }
    if (!state->eof && c->loop->handle_read_event(ev) != Status::ok) {
        ADD_FAILURE() << "handle_read_event failed";
    }
}

// A loopback port nobody listens on: bound, then closed, so nobody else got it
// in between from us.
std::uint16_t closed_loopback_port() {
    os::SocketAddress address;
    EXPECT_TRUE(os::SocketAddress::parse("127.0.0.1:0", 0, &address));
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_GE(fd.get(), 0);
    EXPECT_EQ(::bind(fd.get(), address.get(), address.length), 0);
    socklen_t len = sizeof(address.storage);
    EXPECT_EQ(::getsockname(fd.get(), address.get(), &len), 0);
    return address.port();
}

class ConnectTest : public test::LoopTest {
protected:
    void TearDown() override {
        if (loop_) {
            test::close_open_connections(*loop_);
        }
    }
};

TEST_P(ConnectTest, CompletesToAListeningSocket) {
    LoopbackListening server;
    ASSERT_GE(server.ls.fd, 0);
    ConnectionPool& pool = loop_->pool();
    const std::size_t free_before = pool.free_count();

    Connection* c = nullptr;
    const Status status = connect_peer(*loop_, server.ls.address, &c);
    ASSERT_NE(status, Status::error) << captured_.text();
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(pool.free_count(), free_before - 1);
    EXPECT_EQ(c->peer.length, server.ls.address.length);
    EXPECT_EQ(std::memcmp(&c->peer.addr, server.ls.address.get(), c->peer.length), 0);

    ClientState state;
    c->data = &state;
    c->read.handler = on_readable;
    c->write.handler = on_connect_done;
    if (status == Status::again) {
        // In progress: the write event says when it is done.
        ASSERT_TRUE(run_until([&] { return state.write_calls > 0; }, 2000));
        EXPECT_EQ(state.result, 0);
        EXPECT_TRUE(state.connected);
    } else {
        ASSERT_EQ(status, Status::ok);
        EXPECT_TRUE(c->write.ready);
        EXPECT_EQ(connect_result(c), 0);
        state.connected = true;
    }

    // The server side has it; bytes flow both ways.
    ASSERT_TRUE(test::wait_accept_queue(server.ls.fd, 1));
    UniqueFd accepted(::accept4(server.ls.fd, nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_GE(accepted.get(), 0) << std::strerror(errno);
    ASSERT_EQ(event::send(c, "hello", 5), 5);
    char buf[16] = {};
    ASSERT_EQ(::recv(accepted.get(), buf, sizeof(buf), 0), 5);
    EXPECT_STREQ(buf, "hello");
    ASSERT_EQ(::send(accepted.get(), "world", 5, MSG_NOSIGNAL), 5);
    EXPECT_TRUE(run_until([&] { return state.received.size() >= 5; }, 2000));
    EXPECT_EQ(state.received, "world");

    accepted.reset();
    EXPECT_TRUE(run_until([&] { return state.eof; }, 2000));
    loop_->close_connection(c);
    EXPECT_EQ(pool.free_count(), free_before);
}

TEST_P(ConnectTest, RefusedByAClosedPortWithoutLeakingTheSlot) {
    os::SocketAddress peer;
    ASSERT_TRUE(os::SocketAddress::parse("127.0.0.1:0", 0, &peer));
    peer.set_port(closed_loopback_port());
    ASSERT_NE(peer.port(), 0);
    ConnectionPool& pool = loop_->pool();
    const std::size_t free_before = pool.free_count();

    Connection* c = nullptr;
    const Status status = connect_peer(*loop_, peer, &c);
    if (status == Status::error) {
        // Refused at once: connect_peer cleaned up after itself.
        EXPECT_EQ(c, nullptr);
        EXPECT_TRUE(captured_.contains("connect() to " + peer.to_string() + " failed"))
            << captured_.text();
        EXPECT_TRUE(captured_.contains("Connection refused")) << captured_.text();
    } else {
        ASSERT_EQ(status, Status::again);
        ASSERT_NE(c, nullptr);
        EXPECT_EQ(pool.free_count(), free_before - 1);
        ClientState state;
        c->data = &state;
        c->read.handler = on_readable;
        c->write.handler = on_connect_done;
        ASSERT_TRUE(run_until([&] { return state.write_calls > 0; }, 2000));
        EXPECT_EQ(state.result, ECONNREFUSED) << std::strerror(state.result);
        EXPECT_FALSE(state.connected);
        loop_->close_connection(c);
    }
    EXPECT_EQ(pool.free_count(), free_before);

    // The slot is usable again: a connection to a live listener still works.
    LoopbackListening server;
    ASSERT_GE(server.ls.fd, 0);
    Connection* again = nullptr;
    ASSERT_NE(connect_peer(*loop_, server.ls.address, &again), Status::error);
    ASSERT_NE(again, nullptr);
    ClientState state;
    again->data = &state;
    again->read.handler = on_readable;
    again->write.handler = on_connect_done;
    EXPECT_TRUE(run_until([&] { return state.write_calls > 0 || again->write.ready; }, 2000));
    EXPECT_EQ(connect_result(again), 0);
}

TEST_P(ConnectTest, UnixSocketConnectsAtOnce) {
    const std::string path = "/tmp/evs-connect-test-" + std::to_string(::getpid()) + ".sock";
    event::Listening ls;
    ASSERT_TRUE(os::SocketAddress::parse("unix:" + path, 0, &ls.address));
    const char* failed_call = "";
    ASSERT_TRUE(open_listening(&ls, &failed_call).ok()) << failed_call;
    struct Cleanup {
        event::Listening* ls;
        std::string path;
        ~Cleanup() {
            close_listening(ls);
            ::unlink(path.c_str());
        }
    } cleanup{&ls, path};

    Connection* c = nullptr;
    // A unix stream connect with room in the backlog completes inside connect().
    ASSERT_EQ(connect_peer(*loop_, ls.address, &c), Status::ok) << captured_.text();
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->write.ready);
    EXPECT_EQ(connect_result(c), 0);

    ClientState state;
    state.connected = true;
    c->data = &state;
    c->read.handler = on_readable;
    c->write.handler = on_connect_done;
    UniqueFd accepted(::accept4(ls.fd, nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_GE(accepted.get(), 0) << std::strerror(errno);
    ASSERT_EQ(::send(accepted.get(), "unix", 4, MSG_NOSIGNAL), 4);
    EXPECT_TRUE(run_until([&] { return state.received.size() >= 4; }, 2000));
    EXPECT_EQ(state.received, "unix");
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(ConnectTest);

}  // namespace
}  // namespace evs::event
