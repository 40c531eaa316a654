// A peer that sends data and then shuts down its writing side: every byte is read,
// then end of stream, on every backend.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "event/connection.hpp"
#include "event/io.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::test {
namespace {

using event::Connection;
using event::Event;

struct Reader {
    std::string received;
    bool eof = false;
    bool pending_eof_seen = false;
    int wakeups = 0;
};

void read_all(Event* ev) {
    Connection* c = event::connection_of(ev);
    auto* reader = static_cast<Reader*>(c->data);
    ++reader->wakeups;
    reader->pending_eof_seen |= ev->pending_eof != 0;
    char buf[4096];
    for (;;) {
        const ssize_t n = event::recv(c, buf, sizeof(buf));
        if (n > 0) {
            reader->received.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            reader->eof = true;
            return;
        }
        ASSERT_EQ(n, event::k_io_again);
        ASSERT_EQ(c->loop->handle_read_event(ev), core::Status::ok);
        return;
    }
}

// A connected TCP pair on 127.0.0.1: (accepted, non-blocking) and (client).
void tcp_pair(int* server_side, int* client_side) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    *client_side = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(::connect(*client_side, reinterpret_cast<sockaddr*>(&addr), len), 0);
    *server_side = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ASSERT_GE(*server_side, 0);
    ::close(listener);
}

class RdhupTest : public LoopTest {};

TEST_P(RdhupTest, AllDataThenEndOfStream) {
    int server = -1;
    int client = -1;
    tcp_pair(&server, &client);
    Reader reader;
    Connection* c = loop_->pool().get(server);
    ASSERT_NE(c, nullptr);
    c->data = &reader;
    c->read.handler = read_all;
    ASSERT_EQ(loop_->handle_read_event(&c->read), core::Status::ok);

    // More than one read buffer, sent in pieces, then the FIN.
    std::string sent;
    for (int i = 0; i < 64; ++i) {
        sent += std::string(1000, static_cast<char>('a' + i % 26));
    }
    ASSERT_EQ(::send(client, sent.data(), sent.size() / 2, 0),
              static_cast<ssize_t>(sent.size() / 2));
    ASSERT_TRUE(run_until([&] { return reader.received.size() == sent.size() / 2; }, 2000));
    ASSERT_EQ(::send(client, sent.data() + sent.size() / 2, sent.size() - sent.size() / 2, 0),
              static_cast<ssize_t>(sent.size() - sent.size() / 2));
    ASSERT_EQ(::shutdown(client, SHUT_WR), 0);

    ASSERT_TRUE(run_until([&] { return reader.eof; }, 2000));
    EXPECT_EQ(reader.received, sent);
    EXPECT_TRUE(c->read.eof);
    if (loop_->capabilities() & event::k_use_rdhup) {
        EXPECT_TRUE(reader.pending_eof_seen);  // EPOLLRDHUP reached the event
    }
    loop_->close_connection(c);
    ::close(client);
}

TEST_P(RdhupTest, ShortReadDoesNotLoseLaterData) {
    // With RDHUP, a short read marks the socket drained without a second recv();
    // data arriving afterwards must still be reported and read.
    int server = -1;
    int client = -1;
    tcp_pair(&server, &client);
    Reader reader;
    Connection* c = loop_->pool().get(server);
    c->data = &reader;
    c->read.handler = read_all;
    ASSERT_EQ(loop_->handle_read_event(&c->read), core::Status::ok);
    for (int i = 1; i <= 20; ++i) {
        ASSERT_EQ(::send(client, "0123456789", 10, 0), 10);
        ASSERT_TRUE(run_until([&] { return reader.received.size() == 10u * i; }, 2000)) << i;
    }
    ::close(client);
    ASSERT_TRUE(run_until([&] { return reader.eof; }, 2000));
    EXPECT_EQ(reader.received.size(), 200u);
    loop_->close_connection(c);
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(RdhupTest);

}  // namespace
}  // namespace evs::test
