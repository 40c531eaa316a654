#include "event/listening.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "event/connection.hpp"
#include "event/loop.hpp"
#include "os/socket.hpp"

namespace evs::event {

namespace {

const int k_on = 1;

template <typename T>
void count_accept(Loop& loop, std::atomic<T> ConnectionStats::*counter) {
    stat_add<T>(loop.server_stats().*counter, 1);
    if (&loop.worker_stats() != &loop.server_stats()) {
        stat_add<T>(loop.worker_stats().*counter, 1);
    }
}

}  // namespace

namespace {

// The options that may change on a socket already listening: the buffers and
// SO_KEEPALIVE (set before bind() on a new socket, as nginx does).
const char* set_buffer_options(int fd, bool inet, const ListenOptions& o) {
    if (o.rcvbuf >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o.rcvbuf, sizeof(int)) < 0) {
        return "setsockopt(SO_RCVBUF)";
    }
    if (o.sndbuf >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o.sndbuf, sizeof(int)) < 0) {
        return "setsockopt(SO_SNDBUF)";
    }
    if (inet && o.so_keepalive >= 0) {
        if (::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o.so_keepalive, sizeof(int)) < 0) {
            return "setsockopt(SO_KEEPALIVE)";
        }
        if (o.keepidle > 0 &&
            ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o.keepidle, sizeof(int)) < 0) {
            return "setsockopt(TCP_KEEPIDLE)";
        }
        if (o.keepintvl > 0 &&
            ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o.keepintvl, sizeof(int)) < 0) {
            return "setsockopt(TCP_KEEPINTVL)";
        }
        if (o.keepcnt > 0 &&
            ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o.keepcnt, sizeof(int)) < 0) {
            return "setsockopt(TCP_KEEPCNT)";
        }
    }
    return nullptr;
}

// The options of a listening socket (after listen()). `fresh`: a socket just made,
// whose kernel defaults need no undoing; otherwise deferred accept and the unsent
// limit are set either way, so that a reload that drops them takes them off.
const char* set_accept_options(int fd, bool inet, const ListenOptions& o, bool fresh) {
    if (!inet) {
        return nullptr;
    }
    if (o.deferred || !fresh) {
        // The value is the seconds the kernel waits for data before giving up; 0: off.
        const int timeout = o.deferred ? 1 : 0;
        if (::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &timeout, sizeof(int)) < 0) {
            return "setsockopt(TCP_DEFER_ACCEPT)";
        }
    }
    if (o.fastopen >= 0 &&
        ::setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &o.fastopen, sizeof(int)) < 0) {
        return "setsockopt(TCP_FASTOPEN)";
    }
    if (o.notsent_lowat >= 0 || !fresh) {
        // 0 is the kernel's "use net.ipv4.tcp_notsent_lowat".
        const int lowat = o.notsent_lowat >= 0 ? o.notsent_lowat : 0;
        if (::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(int)) < 0) {
            return "setsockopt(TCP_NOTSENT_LOWAT)";
        }
    }
    return nullptr;
}

}  // namespace

core::Result<void> open_listening(Listening* ls, const char** failed_call) {
    const int family = ls->address.family();
    auto sock = os::socket_nonblocking(family, SOCK_STREAM);
    if (!sock) {
        *failed_call = "socket()";
        return core::Result<void>::failure(sock.error());
    }
    const int fd = *sock;
    auto fail = [&](const char* call) {
        const int err = errno;
        os::close_fd(fd);
        *failed_call = call;
        return core::Result<void>::failure(err);
    };
    const ListenOptions& o = ls->options;
    const bool inet = family == AF_INET || family == AF_INET6;

    if (inet && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &k_on, sizeof(int)) < 0) {
        return fail("setsockopt(SO_REUSEADDR)");
    }
    if (o.reuseport && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &k_on, sizeof(int)) < 0) {
        return fail("setsockopt(SO_REUSEPORT)");
    }
    if (family == AF_INET6 &&
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &o.ipv6only, sizeof(int)) < 0) {
        return fail("setsockopt(IPV6_V6ONLY)");
    }
    if (const char* call = set_buffer_options(fd, inet, o)) {
        return fail(call);
    }
    if (family == AF_UNIX) {
        // A stale socket file left by a crash would make bind() fail with EADDRINUSE.
        const auto* un = reinterpret_cast<const sockaddr_un*>(ls->address.get());
        if (un->sun_path[0] != '\0') {
            ::unlink(un->sun_path);
        }
    }
    if (::bind(fd, ls->address.get(), ls->address.length) < 0) {
        return fail("bind()");
    }
    if (::listen(fd, o.backlog) < 0) {
        return fail("listen()");
    }
    if (const char* call = set_accept_options(fd, inet, o, true)) {
        return fail(call);
    }
    if (ls->address.port() == 0 && inet) {
        // "listen 127.0.0.1:0" (tests): learn the port the kernel chose.
        socklen_t len = sizeof(ls->address.storage);
        ::getsockname(fd, ls->address.get(), &len);
        ls->address.length = len;
    }
    ls->fd = fd;
    return {};
}

core::Result<void> reconfigure_listening(const Listening& ls, const char** failed_call) {
    const int family = ls.address.family();
    const bool inet = family == AF_INET || family == AF_INET6;
    const char* call = set_buffer_options(ls.fd, inet, ls.options);
    if (call == nullptr && ::listen(ls.fd, ls.options.backlog) < 0) {
        call = "listen()";
    }
    if (call == nullptr) {
        call = set_accept_options(ls.fd, inet, ls.options, false);
    }
    if (call != nullptr) {
        *failed_call = call;
        return core::Result<void>::failure(errno);
    }
    return {};
}

void close_listening(Listening* ls) {
    os::close_fd(ls->fd);
    ls->fd = -1;
}

void accept_handler(Event* ev) {
    Connection* lc = connection_of(ev);
    Listening* ls = lc->listening;
    Loop& loop = *lc->loop;

    if (ev->timedout) {
        // accept_mutex_delay after EMFILE/ENFILE: try again.
        if (loop.enable_accept_events() != core::Status::ok) {
            return;
        }
        ev->timedout = 0;
    }

    bool more = true;
    while (more) {
        more = loop.config().multi_accept;
        PeerAddress peer;
        socklen_t len = sizeof(peer.addr);
        auto accepted = os::accept_nonblocking(ls->fd, &peer.addr.sa, &len);
        if (!accepted) {
            const int err = accepted.error();
            if (err == EAGAIN || err == EWOULDBLOCK) {
                return;
            }
            if (err == ECONNABORTED) {
                // The client gave up while queued; the next one may be waiting.
                loop.log().write(core::LogLevel::error, err, "accept4() failed");
                continue;
            }
            loop.log().write(core::LogLevel::crit, err, "accept4() failed");
            if (err == EMFILE || err == ENFILE) {
                // Out of descriptors: stop accepting everywhere so that the loop
                // keeps serving the connections it has, and retry shortly.
                if (loop.disable_accept_events() != core::Status::ok) {
                    return;
                }
                if (loop.has_accept_mutex()) {
                    // Another worker may have descriptors to spare: let it accept,
                    // and sit out one turn before competing again.
                    loop.release_accept_mutex();
                    loop.accept_disabled = 1;
                } else {
                    loop.add_timer(ev, loop.config().accept_mutex_delay);
                }
            }
            return;
        }

        const int fd = *accepted;
        peer.length = len;
        count_accept(loop, &ConnectionStats::accepted);
        ConnectionPool& pool = loop.pool();
        loop.accept_disabled = static_cast<std::int64_t>(pool.capacity() / 8) -
                               static_cast<std::int64_t>(pool.free_count());
        Connection* c = pool.get(fd);
        if (c == nullptr) {
            os::close_fd(fd);
            return;
        }
        count_accept(loop, &ConnectionStats::handled);
        count_accept(loop, &ConnectionStats::active);
        c->peer = peer;
        c->listening = ls;
        // A new socket can take data at once: a handler may write without first
        // waiting for the write event. With TCP_DEFER_ACCEPT the request is already
        // there, so the first read needs no wait either.
        c->write.ready = 1;
        if (ls->options.deferred) {
            c->read.ready = 1;
            c->read.available = 1;
        }
        ++ls->accepted;
        if (loop.log().enabled(core::LogLevel::debug)) {
            loop.log().write_conn(core::LogLevel::debug, 0, c->number, nullptr, nullptr,
                                  "accept: fd:%d", fd);
        }
        if (ls->exclusive && ls->accepted % 16 == 0) {
            // EPOLLEXCLUSIVE wakes the worker that registered first; re-adding the
            // listener now and then moves it to the back so others get a turn.
            loop.backend().del(&lc->read, 0);
            loop.backend().add(&lc->read, k_exclusive_event);
        }
        ls->handler(c);
    }
}

}  // namespace evs::event
