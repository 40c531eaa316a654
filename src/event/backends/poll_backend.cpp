#include "event/backends/poll_backend.hpp"

#include <climits>

#include "event/connection.hpp"
#include "event/loop.hpp"

namespace evs::event {

using core::LogLevel;
using core::Status;

Status PollBackend::init() {
    capabilities_ = k_use_level;
    return notify_.init(loop_, *this);
}

void PollBackend::done() {
    notify_.close();
    fds_.clear();
    owners_.clear();
    position_.clear();
}

Status PollBackend::add(Event* ev, unsigned /*flags*/) {
    Connection* c = connection_of(ev);
    const short mask = ev->write ? POLLOUT : POLLIN;
    const auto fd = static_cast<std::size_t>(c->fd);
    if (fd >= position_.size()) {
        position_.resize(fd + 64, -1);
    }
    if (position_[fd] >= 0) {
        fds_[static_cast<std::size_t>(position_[fd])].events |= mask;
    } else {
        position_[fd] = static_cast<int>(fds_.size());
        fds_.push_back(pollfd{c->fd, mask, 0});
        owners_.push_back(Owner{c->index, c->generation});
    }
    ev->active = 1;
    return Status::ok;
}

Status PollBackend::del(Event* ev, unsigned /*flags*/) {
    // Unlike epoll, closing the fd would not remove it from our array: even with
    // k_close_event the entry must go.
    ev->active = 0;
    Connection* c = connection_of(ev);
    const auto fd = static_cast<std::size_t>(c->fd);
    if (fd >= position_.size() || position_[fd] < 0) {
        return Status::ok;
    }
    const auto at = static_cast<std::size_t>(position_[fd]);
    fds_[at].events &= static_cast<short>(ev->write ? ~POLLOUT : ~POLLIN);
    if (fds_[at].events != 0) {
        return Status::ok;
    }
    // Move the last entry into the hole.
    const std::size_t last = fds_.size() - 1;
    if (at != last) {
        fds_[at] = fds_[last];
        owners_[at] = owners_[last];
        position_[static_cast<std::size_t>(fds_[at].fd)] = static_cast<int>(at);
    }
    fds_.pop_back();
    owners_.pop_back();
    position_[fd] = -1;
    return Status::ok;
}

Status PollBackend::add_conn(Connection* c) {
    if (add(&c->read, 0) != Status::ok) {
        return Status::error;
    }
    return add(&c->write, 0);
}

Status PollBackend::del_conn(Connection* c, unsigned flags) {
    del(&c->read, flags);
    return del(&c->write, flags);
}

Status PollBackend::process_events(core::Msec timer, unsigned flags) {
    const int timeout =
        timer == k_timer_infinite ? -1 : static_cast<int>(std::min<core::Msec>(timer, INT_MAX));
    const int n = ::poll(fds_.data(), fds_.size(), timeout);
    const int err = n < 0 ? errno : 0;

    if (flags & k_update_time) {
        loop_.time().update();
    }
    if (err != 0) {
        if (err == EINTR) {
            return Status::ok;
        }
        loop_.log().write(LogLevel::alert, err, "poll() failed");
        return Status::error;
    }
    if (n == 0) {
        if (timer != k_timer_infinite) {
            return Status::ok;
        }
        loop_.log().write(LogLevel::alert, 0, "poll() returned no events without timeout");
        return Status::error;
    }

    // Collect first: handlers below add and remove entries of fds_.
    ready_.clear();
    for (std::size_t i = 0; i < fds_.size() && ready_.size() < static_cast<std::size_t>(n); ++i) {
        if (fds_[i].revents != 0) {
            ready_.push_back(Ready{owners_[i], fds_[i].revents});
        }
    }

    ConnectionPool& pool = loop_.pool();
    const bool post = (flags & k_post_events) != 0;
    for (const Ready& r : ready_) {
        Connection* c = pool.slot(r.owner.index);
        if (c->fd == -1 || c->generation != r.owner.generation) {
            loop_.log().write(LogLevel::debug, 0, "poll: stale event");
            continue;
        }
        short revents = r.revents;
        if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
            revents |= POLLIN | POLLOUT;
        }
        Event* rev = &c->read;
        if ((revents & POLLIN) && rev->active) {
            rev->ready = 1;
            rev->available = 1;
            if (post && !c->immediate) {
                loop_.post(rev, rev->accept ? PostedQueue::accept : PostedQueue::normal);
            } else {
                rev->handler(rev);
            }
        }
        Event* wev = &c->write;
        if ((revents & POLLOUT) && wev->active) {
            if (c->fd == -1 || c->generation != r.owner.generation) {
                continue;
            }
            wev->ready = 1;
            if (post && !c->immediate) {
                loop_.post(wev, PostedQueue::normal);
            } else {
                wev->handler(wev);
            }
        }
    }
    return Status::ok;
}

}  // namespace evs::event
