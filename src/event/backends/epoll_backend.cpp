#include "event/backends/epoll_backend.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <climits>

#include "event/connection.hpp"
#include "event/loop.hpp"
#include "os/socket.hpp"

namespace evs::event {

using core::LogLevel;
using core::Status;

namespace {

// The slot's generation and its offset in the pool in cache lines (slots are
// cache-line aligned, so every slot starts on a line), rather than its index: dispatch
// finds the slot with a shift and an add, whatever the slot's size, instead of a
// multiplication by it. init() checks that every offset fits in 32 bits.
constexpr std::size_t k_line = alignof(Connection);
static_assert(sizeof(Connection) % k_line == 0);

std::uint64_t pack(const Connection* c) {
    return (static_cast<std::uint64_t>(c->generation) << 32) |
           (static_cast<std::uint64_t>(c->index) * (sizeof(Connection) / k_line));
}

}  // namespace

Status EpollBackend::init() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
        loop_.log().write(LogLevel::emerg, errno, "epoll_create1() failed");
        return Status::error;
    }
    events_.resize(static_cast<std::size_t>(std::max(loop_.config().epoll_events, 1)));
    if (loop_.pool().slot_count() * (sizeof(Connection) / k_line) > UINT32_MAX) {
        loop_.log().write(LogLevel::emerg, 0, "epoll: %zu connections are too many",
                          loop_.pool().slot_count());
        return Status::error;
    }
    registrations_.assign(loop_.pool().slot_count(), Registration{});
    changes_.reserve(loop_.pool().slot_count());
    capabilities_ = k_use_clear | k_use_add_conn | k_use_exclusive;
    if (probe_rdhup()) {
        capabilities_ |= k_use_rdhup;
    }
    return notify_.init(loop_, *this);
}

// Whether this kernel reports EPOLLRDHUP (2.6.17+; some emulation layers do not).
// Knowing it lets a short read mean "drained" and saves the recv() that would
// return EAGAIN, as nginx's ngx_epoll_test_rdhup().
bool EpollBackend::probe_rdhup() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        loop_.log().write(LogLevel::alert, errno, "socketpair() failed");
        return false;
    }
    epoll_event ee{};
    ee.events = EPOLLET | EPOLLIN | EPOLLRDHUP;
    bool supported = false;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, pair[0], &ee) == 0) {
        ::close(pair[1]);
        pair[1] = -1;
        epoll_event out{};
        if (::epoll_wait(ep_, &out, 1, 0) == 1) {
            supported = (out.events & EPOLLRDHUP) != 0;
        }
        ::epoll_ctl(ep_, EPOLL_CTL_DEL, pair[0], &ee);
    }
    os::close_fd(pair[0]);
    os::close_fd(pair[1]);
    loop_.log().write(LogLevel::debug, 0, "testing the EPOLLRDHUP flag: %s",
                      supported ? "success" : "fail");
    return supported;
}

void EpollBackend::done() {
    notify_.close();
    os::close_fd(ep_);
    ep_ = -1;
    events_.clear();
    registrations_.clear();
    changes_.clear();
}

Status EpollBackend::control(int op, Connection* c, std::uint32_t events) {
    epoll_event ee{};
    ee.events = events;
    ee.data.u64 = pack(c);
    ++ctl_calls_[op & 3];
    if (::epoll_ctl(ep_, op, c->fd, &ee) < 0) {
        loop_.log().write_conn(LogLevel::alert, errno, c->number, nullptr, nullptr,
                               "epoll_ctl(%d, %d) failed", op, c->fd);
        return Status::error;
    }
    return Status::ok;
}

Status EpollBackend::process_events(core::Msec timer, unsigned flags) {
    if (!changes_.empty()) {
        apply_changes();
    }
    const int timeout =
        timer == k_timer_infinite ? -1 : static_cast<int>(std::min<core::Msec>(timer, INT_MAX));
    const int n = ::epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), timeout);
    const int err = n < 0 ? errno : 0;

    if (flags & k_update_time) {
        loop_.time().update();
    }
    if (err != 0) {
        if (err == EINTR) {
            return Status::ok;
        }
        loop_.log().write(LogLevel::alert, err, "epoll_wait() failed");
        return Status::error;
    }
    if (n == 0) {
        if (timer != k_timer_infinite) {
            return Status::ok;
        }
        loop_.log().write(LogLevel::alert, 0, "epoll_wait() returned no events without timeout");
        return Status::error;
    }

    // A del() while the batch is dispatched may make dispatch drop an edge that the
    // wait has consumed (see EpollBackend::del).
    dispatching_ = true;
    if (flags & k_post_events) {
        dispatch<true>(n);
    } else {
        dispatch<false>(n);
    }
    dispatching_ = false;
    return Status::ok;
}

// One loop per mode, so that the common one (run handlers at once) tests neither
// the post flag nor `immediate` per event.
template <bool Post>
void EpollBackend::dispatch(int n) {
    // Slots never move while the loop runs and events_ is not resized during
    // dispatch; read both once here rather than after every handler call (which
    // the compiler must assume may have changed any member).
    char* const slots = reinterpret_cast<char*>(loop_.pool().slot(0));
    const epoll_event* const events = events_.data();
    for (int i = 0; i < n; ++i) {
        const std::uint64_t data = events[i].data.u64;
        const auto generation = static_cast<std::uint32_t>(data >> 32);
        auto* c = reinterpret_cast<Connection*>(
            slots + static_cast<std::uint64_t>(static_cast<std::uint32_t>(data)) * k_line);

        // A handler earlier in this batch may have closed this connection, and
        // even handed its slot to a new one: the event belongs to a previous user.
        if (c->fd == -1 || c->generation != generation) [[unlikely]] {
            loop_.log().write(LogLevel::debug, 0, "epoll: stale event");
            continue;
        }

        std::uint32_t revents = events[i].events;
        if (revents & (EPOLLERR | EPOLLHUP)) {
            // Let whichever direction is active find the error in its next call.
            revents |= EPOLLIN | EPOLLOUT;
        }

        Event* rev = &c->read;
        if ((revents & EPOLLIN) && rev->active) {
            if (revents & EPOLLRDHUP) {
                rev->pending_eof = 1;
            }
            rev->ready = 1;
            rev->available = 1;
            if (Post && !c->immediate) {
                loop_.post(rev, rev->accept ? PostedQueue::accept : PostedQueue::normal);
            } else {
                rev->handler(rev);
            }
        }

        Event* wev = &c->write;
        if ((revents & EPOLLOUT) && wev->active) {
            // The read handler may have closed the connection (and reused the slot).
            if (c->fd == -1 || c->generation != generation) {
                loop_.log().write(LogLevel::debug, 0, "epoll: stale event");
                continue;
            }
            wev->ready = 1;
            if (Post && !c->immediate) {
                loop_.post(wev, PostedQueue::normal);
            } else {
                wev->handler(wev);
            }
        }
    }
}

}  // namespace evs::event
