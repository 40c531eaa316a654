#include "event/loop.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>

#include "event/backends/epoll_backend.hpp"
#include "event/backends/poll_backend.hpp"
#include "event/listening.hpp"
#include "event/thread_pool.hpp"
#include "os/socket.hpp"

namespace evs::event {

using core::LogLevel;
using core::Status;

Loop::Loop(const LoopConfig& config, core::Log& log)
    : config_(config),
      log_(log),
      time_(core::clock()),
      timers_(static_cast<std::uint32_t>(core::clock().msec())) {}

Loop::~Loop() {
    completed_tasks_.reset();
    if (time_alarm_ != nullptr) {
        os::close_fd(time_alarm_->fd);
    }
    if (backend_) {
        backend_->done();
    }
}

Status Loop::init() {
    time_.update();
    timers_.set_now(now32());
    pool_ = std::make_unique<ConnectionPool>(this, config_.connections, &log_);
    if (config_.backend == "epoll") {
        backend_ = std::make_unique<EpollBackend>(*this);
    } else if (config_.backend == "poll") {
        backend_ = std::make_unique<PollBackend>(*this);
    } else {
        log_.write(LogLevel::emerg, 0, "unknown event method \"%s\"", config_.backend.c_str());
        return Status::error;
    }
    if (backend_->init() != Status::ok) {
        backend_.reset();
        return Status::error;
    }
    capabilities_ = backend_->capabilities();
    read_hints_ = 0;
    if ((capabilities_ & (k_use_clear | k_use_rdhup)) == (k_use_clear | k_use_rdhup)) {
        read_hints_ = k_read_rdhup | k_read_short_drains;
    } else if (capabilities_ & k_use_level) {
        read_hints_ = k_read_short_drains;
    }
    if (config_.timer_resolution > 0 && start_time_alarm() != Status::ok) {
        return Status::error;
    }
    completed_tasks_ = std::make_unique<CompletedTasks>(*this);
    return Status::ok;
}

// timer_resolution: instead of reading the clock after every wait, a periodic
// timerfd refreshes the time cache, and waits are not bounded by timers (nginx uses
// setitimer and SIGALRM; a timerfd gives the same tick without a signal handler
// or EINTR in the middle of system calls).
Status Loop::start_time_alarm() {
    const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) {
        log_.write(LogLevel::alert, errno, "timerfd_create() failed");
        return Status::error;
    }
    itimerspec period{};
    period.it_interval.tv_sec = static_cast<time_t>(config_.timer_resolution / 1000);
    period.it_interval.tv_nsec = static_cast<long>((config_.timer_resolution % 1000) * 1000000);
    period.it_value = period.it_interval;
    if (::timerfd_settime(fd, 0, &period, nullptr) < 0) {
        log_.write(LogLevel::alert, errno, "timerfd_settime() failed");
        os::close_fd(fd);
        return Status::error;
    }
    time_alarm_ = pool_->get_internal(fd);
    time_alarm_->immediate = 1;
    time_alarm_->read.handler = on_time_alarm;
    return backend_->add(&time_alarm_->read, k_clear_event);
}

void Loop::on_time_alarm(Event* ev) {
    Connection* c = connection_of(ev);
    std::uint64_t ticks = 0;
    while (::read(c->fd, &ticks, sizeof(ticks)) == sizeof(ticks)) {
    }
    ev->ready = 0;
    c->loop->time_.update();
}

void Loop::run() {
    while (!stopped_) {
        process_events_and_timers();
    }
}

void Loop::process_events_and_timers() {
    core::Msec timer;
    unsigned flags;
    if (config_.timer_resolution > 0) {
        timer = k_timer_infinite;
        flags = 0;
    } else {
        const std::uint32_t delay = timers_.next_delay(now32());
        timer = delay == TimerWheel::k_infinite ? k_timer_infinite : delay;
        flags = k_update_time;
    }

    if (accept_mutex_ != nullptr) {
        if (accept_disabled > 0) {
            --accept_disabled;
        } else {
            if (trylock_accept_mutex() != Status::ok) {
                return;
            }
            if (accept_mutex_held_) {
                flags |= k_post_events;
            } else if (timer == k_timer_infinite || timer > config_.accept_mutex_delay) {
                timer = config_.accept_mutex_delay;
            }
        }
    }

    if (!posted_next_.empty()) {
        for (core::ListNode* n = posted_next_.front(); n != posted_next_.end(); n = n->next) {
            Event* ev = Event::from_posted_node(n);
            ev->ready = 1;
            ev->available = 1;
        }
        posted_.splice_back(posted_next_);
        timer = 0;
    }

    backend_->process_events(timer, flags);

    run_posted(posted_accept_);
    if (accept_mutex_held_) {
        accept_mutex_->unlock();
    }
    timers_.expire(now32());
    run_posted(posted_);
}

void Loop::run_posted(core::List& queue) {
    while (core::ListNode* node = queue.pop_front()) {
        Event* ev = Event::from_posted_node(node);
        ev->posted = 0;
        ev->handler(ev);
    }
}

void Loop::set_timer(Event* ev, std::uint32_t deadline) {
    if (ev->timer_set) {
        timers_.remove(ev);
    }
    ev->deadline = deadline;
    timers_.insert(ev);
}

void Loop::del_timer(Event* ev) {
    if (ev->timer_set) {
        timers_.remove(ev);
    }
}

void Loop::post(Event* ev, PostedQueue queue) {
    if (ev->posted) {
        return;
    }
    ev->posted = 1;
    switch (queue) {
        case PostedQueue::accept:
            posted_accept_.push_back(&ev->posted_node);
            break;
        case PostedQueue::normal:
            posted_.push_back(&ev->posted_node);
            break;
        case PostedQueue::next:
            posted_next_.push_back(&ev->posted_node);
            break;
    }
}

void Loop::delete_posted(Event* ev) {
    if (ev->posted) {
        ev->posted = 0;
        ev->posted_node.unlink();
    }
}

Status Loop::handle_read_event(Event* rev, unsigned flags) {
    if (capabilities_ & k_use_clear) {
        // Edge-triggered: register once, and the kernel reports every new arrival.
        if (!rev->active && !rev->ready) {
            return backend_->add(rev, k_clear_event);
        }
        return Status::ok;
    }
    // Level-triggered: an event that is ready would be reported on every wait, so
    // it is unregistered until the handler has drained it.
    if (!rev->active && !rev->ready) {
        return backend_->add(rev, k_level_event);
    }
    if (rev->active && (rev->ready || (flags & k_close_event))) {
        return backend_->del(rev, k_level_event | flags);
    }
    return Status::ok;
}

Status Loop::handle_write_event(Event* wev, unsigned flags) {
    if (capabilities_ & k_use_clear) {
        if (!wev->active && !wev->ready) {
            return backend_->add(wev, k_clear_event);
        }
        return Status::ok;
    }
    if (!wev->active && !wev->ready) {
        return backend_->add(wev, k_level_event);
    }
    if (wev->active && (wev->ready || (flags & k_close_event))) {
        return backend_->del(wev, k_level_event | flags);
    }
    return Status::ok;
}

void Loop::close_connection(Connection* c) {
    if (c->fd == -1) {
        log_.write(LogLevel::alert, 0, "connection already closed");
        return;
    }
    del_timer(&c->read);
    del_timer(&c->write);
    if (!c->shared) {
        // With k_close_event epoll makes no syscall: closing the descriptor removes
        // it from the interest list. Level backends drop it from their arrays.
        if (c->read.active) {
            backend_->del(&c->read, k_close_event);
        }
        if (c->write.active) {
            backend_->del(&c->write, k_close_event);
        }
    }
    // A backend that defers changes (epoll's change list) drops them for a descriptor
    // we are about to close, and applies them now for a shared one, which our close()
    // would not remove from the interest list.
    backend_->release_conn(c, c->shared ? 0 : k_close_event);
    delete_posted(&c->read);
    delete_posted(&c->write);
    c->read.closed = 1;
    c->write.closed = 1;
    pool_->set_reusable(c, false);

    if (c->listening != nullptr && !c->read.accept) {
        // An accepted connection ends: the gauge nginx's stub_status calls "active".
        stat_add<std::int64_t>(server_stats_->active, -1);
        if (worker_stats_ != server_stats_) {
            stat_add<std::int64_t>(worker_stats_->active, -1);
        }
    }
    const int fd = c->fd;
    const bool shared = c->shared;
    pool_->free(c);
    if (!shared) {
        os::close_fd(fd);
    }
}

void Loop::notify(Notification* n) {
    // Only the first notification since the loop last ran n writes to the eventfd;
    // the loop clears `pending` after draining the eventfd, so none is lost.
    if (!n->pending.exchange(true, std::memory_order_acq_rel)) {
        backend_->notify();
    }
}

void Loop::add_notification(Notification* n) {
    n->next = notifications_;
    notifications_ = n;
}

void Loop::remove_notification(Notification* n) {
    for (Notification** p = &notifications_; *p != nullptr; p = &(*p)->next) {
        if (*p == n) {
            *p = n->next;
            return;
        }
    }
}

void Loop::run_notifications() {
    for (Notification* n = notifications_; n != nullptr; n = n->next) {
        if (n->pending.exchange(false, std::memory_order_acq_rel)) {
            n->handler(n->data);
        }
    }
}

Status Loop::add_listening(Listening* ls) {
    Connection* c = pool_->get(ls->fd);
    if (c == nullptr) {
        return Status::error;
    }
    c->listening = ls;
    c->shared = 1;  // the listening socket outlives this loop's use of it
    c->read.accept = 1;
    c->read.handler = accept_handler;
    ls->connection = c;
    ls->next_in_loop = listeners_;
    listeners_ = ls;
    // Without an accept mutex the listeners are always registered; with one, only
    // while this worker holds it (trylock_accept_mutex adds them).
    if (accept_mutex_ == nullptr) {
        // Listening sockets are level-triggered, as in nginx: a backlog we did not
        // drain (multi_accept off) is reported again on the next wait.
        return backend_->add(&c->read, ls->exclusive ? k_exclusive_event : 0);
    }
    return Status::ok;
}

Status Loop::enable_accept_events() {
    for (Listening* ls = listeners_; ls != nullptr; ls = ls->next_in_loop) {
        Event* rev = &ls->connection->read;
        if (!rev->active &&
            backend_->add(rev, ls->exclusive ? k_exclusive_event : 0) != Status::ok) {
            return Status::error;
        }
    }
    return Status::ok;
}

Status Loop::disable_accept_events() {
    for (Listening* ls = listeners_; ls != nullptr; ls = ls->next_in_loop) {
        Event* rev = &ls->connection->read;
        if (rev->active && backend_->del(rev, 0) != Status::ok) {
            return Status::error;
        }
    }
    return Status::ok;
}

void Loop::release_accept_mutex() {
    if (accept_mutex_held_) {
        accept_mutex_->unlock();
        accept_mutex_held_ = false;
    }
}

Status Loop::trylock_accept_mutex() {
    if (accept_mutex_->try_lock()) {
        if (accept_mutex_held_) {
            return Status::ok;
        }
        if (enable_accept_events() != Status::ok) {
            accept_mutex_->unlock();
            return Status::error;
        }
        accept_mutex_held_ = true;
        return Status::ok;
    }
    if (accept_mutex_held_) {
        if (disable_accept_events() != Status::ok) {
            return Status::error;
        }
        accept_mutex_held_ = false;
    }
    return Status::ok;
}

}  // namespace evs::event
