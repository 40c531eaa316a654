// echo_server: a TCP echo server on the event core alone (no HTTP, no processes).
//
//   echo_server [--port N (0 = any)] [--backend epoll|poll] [--connections N]
//
// It listens on 127.0.0.1, prints "listening on 127.0.0.1:PORT" once, and sends back
// whatever it reads. When the peer does not read its echoes, the unsent bytes stay in
// the connection's one buffer and reading stops until they are written: a connection
// never holds more than k_buffer_size bytes, however fast the peer sends.

#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "event/io.hpp"
#include "event/listening.hpp"
#include "event/loop.hpp"

namespace {

using evs::core::Status;
using namespace evs::event;

constexpr std::size_t k_buffer_size = 16 * 1024;
constexpr evs::core::Msec k_idle_timeout = 60'000;

// One per connection slot, allocated once: a slot's index is its session's index.
struct Session {
    char buf[k_buffer_size];
    std::size_t start = 0;  // buf[start, end) is read but not yet echoed
    std::size_t end = 0;
};

// Echoes until the socket has nothing more to read or cannot take more to write, then
// makes sure the backend will call us again. One function serves both directions.
void echo(Connection* c) {
    Loop& loop = *c->loop;
    Session& s = *static_cast<Session*>(c->data);
    for (;;) {
        if (s.start < s.end) {
            if (!c->write.ready) {
                break;  // send() saw EAGAIN or a short write: wait for the write event
            }
            const ssize_t n = send(c, s.buf + s.start, s.end - s.start);
            if (n == k_io_error) {
                loop.close_connection(c);
                return;
            }
            s.start += n > 0 ? static_cast<std::size_t>(n) : 0;
            continue;
        }
        s.start = s.end = 0;
        if (!c->read.ready) {
            break;  // drained: the backend reports the next arrival
        }
        const ssize_t n = recv(c, s.buf, sizeof(s.buf));
        if (n == k_io_again) {
            break;
        }
        if (n == 0 || n == k_io_error) {
            loop.close_connection(c);  // end of stream, or reset by the peer
            return;
        }
        s.end = static_cast<std::size_t>(n);
    }
    // Either unsent bytes wait for the write event, and we read nothing meanwhile (on
    // poll, handle_read_event unregisters a read event that is ready, or poll would
    // report it on every turn while we ignore it); or the connection is idle, and the
    // pool may close it when slots run out (the read handler then sees c->close).
    loop.add_timer(&c->read, k_idle_timeout);
    loop.pool().set_reusable(c, s.start == s.end);
    if (loop.handle_write_event(&c->write) != Status::ok ||
        loop.handle_read_event(&c->read) != Status::ok) {
        loop.close_connection(c);
    }
}

void on_read(Event* rev) {
    Connection* c = connection_of(rev);
    if (c->close || rev->timedout) {
        c->loop->close_connection(c);  // asked to make room, or idle for too long
        return;
    }
    echo(c);
}

void on_accept(Connection* c) {
    Session& s = static_cast<Session*>(c->listening->data)[c->index];
    s.start = s.end = 0;
    c->data = &s;
    c->read.handler = on_read;
    c->write.handler = [](Event* wev) { echo(connection_of(wev)); };
    c->write.ready = 1;  // a new socket has room to send (nginx assumes so too)
    echo(c);             // read not ready yet: this only registers and arms the timer
}

// SIGTERM and SIGINT arrive through a signalfd, as readable data: the loop stops at
// the end of this turn, with no handler running in signal context.
void on_signal(Event* ev) {
    signalfd_siginfo info;
    while (::read(connection_of(ev)->fd, &info, sizeof(info)) == sizeof(info)) {
    }
    ev->ready = 0;
    connection_of(ev)->loop->stop();
}

}  // namespace

int main(int argc, char** argv) {
    LoopConfig config;
    config.connections = 1024;
    int port = 0;
    bool usage = argc % 2 == 0;
    for (int i = 1; i + 1 < argc && !usage; i += 2) {
        if (std::strcmp(argv[i], "--port") == 0) {
            port = std::atoi(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--backend") == 0) {
            config.backend = argv[i + 1];
        } else if (std::strcmp(argv[i], "--connections") == 0) {
            config.connections = static_cast<std::size_t>(std::atol(argv[i + 1]));
        } else {
            usage = true;
        }
    }
    if (usage || port < 0 || port > 65535 || config.connections < 4) {
        std::fprintf(stderr, "usage: %s [--port N] [--backend epoll|poll] [--connections N]\n",
                     argv[0]);
        return 2;
    }

    // Every connection is a descriptor: allow as many as the hard limit does.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }

    evs::core::Log log(2, evs::core::LogLevel::warn);
    Loop loop(config, log);
    if (loop.init() != Status::ok) {
        return 1;
    }
    // Allocated once; the listener hands the array to on_accept.
    auto sessions = std::make_unique<Session[]>(config.connections);

    // Blocked signals stay pending for the signalfd instead of killing the process.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    const int sfd = ::sigprocmask(SIG_BLOCK, &signals, nullptr) == 0
                        ? ::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC)
                        : -1;
    Connection* sc = sfd < 0 ? nullptr : loop.pool().get(sfd);
    if (sc == nullptr) {
        std::perror("signalfd");
        return 1;
    }
    sc->read.handler = on_signal;

    Listening ls;
    const char* failed_call = "";
    evs::os::SocketAddress::parse("127.0.0.1", 0, &ls.address);
    ls.address.set_port(static_cast<std::uint16_t>(port));
    ls.handler = on_accept;
    ls.data = sessions.get();
    if (auto opened = open_listening(&ls, &failed_call); !opened) {
        std::fprintf(stderr, "%s failed: %s\n", failed_call, std::strerror(opened.error()));
        return 1;
    }
    if (loop.add_listening(&ls) != Status::ok || loop.handle_read_event(&sc->read) != Status::ok) {
        return 1;
    }
    std::printf("listening on %s\n", ls.address.to_string().c_str());
    std::fflush(stdout);

    loop.run();

    // Close what is still open before the sessions and the loop go away. A slot in use
    // with data is a client: the listener's and the signalfd's slots have none.
    for (std::size_t i = 0; i < config.connections; ++i) {
        Connection* c = loop.pool().slot(static_cast<std::uint32_t>(i));
        if (c->fd != -1 && c->data != nullptr) {
            loop.close_connection(c);
        }
    }
    loop.close_connection(sc);
    loop.close_connection(ls.connection);
    close_listening(&ls);
    return 0;
}
