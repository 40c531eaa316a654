// EpollBackend's registration calls and its change list: what add, del, add_conn,
// del_conn and release_conn ask of the kernel, and when. Thread: the loop's thread.
//
// libev records every watcher change and, once per loop turn before it polls, makes
// the one epoll_ctl() each changed fd needs, so that a watcher stopped and started
// again in the same turn costs nothing. Here the same idea applies to removals only:
//
// - del() clears `active` and records the connection; the kernel keeps the fd until
//   the start of the next process_events(), which makes the net change: a DEL, a MOD
//   down to what is still wanted, or nothing if an add() took the direction back.
// - add() of a direction the kernel still holds (its removal is pending) makes no
//   call. Any other add() (a new fd, a new direction, a change of mode) is applied at
//   once, as before: callers act on its errors (the HTTP code closes the connection,
//   init code gives up), which a deferred ADD could only report a turn later, to no
//   one. So add followed by del still costs an ADD and a DEL; del followed by add,
//   the re-arm that libev makes cheap, costs nothing.
//
// The constraints this respects (docs/BENCHMARKS.md, "A change list"):
// - Edge-triggered: an ADD (or MOD) re-polls the fd and reports data already
//   waiting; a registration kept in place reports only new arrivals. Those differ
//   when the last edge was consumed but the data not: the handler has not drained
//   it (`ready` still set), or the direction was deleted while the wait's batch was
//   being dispatched, so that dispatch may have dropped its edge as not wanted
//   (`dropped`). Then taking the direction back is one MOD, which re-polls, instead
//   of nothing.
// - EPOLLEXCLUSIVE: listening.cpp deletes and re-adds an exclusive listener to move
//   it to the back of the kernel's wake-up queue, and an exclusive registration
//   cannot be modified (EINVAL): an exclusive add() always makes a real DEL and ADD.
// - Closing: with k_close_event (Loop::close_connection of a descriptor nothing
//   else holds) the kernel drops the fd when it is closed, so what is recorded for
//   it is dropped. A shared descriptor (a listener the master and other workers also
//   hold) stays in the interest list after our close(): release_conn() applies its
//   recorded change at once, before the fd is closed and its number reused, since a
//   DEL for a reused number would remove whatever now has that number.
// - Stale events: the kernel's data for an fd is set by ADD and MOD with the slot's
//   generation, as before. A slot handed to a new user starts with no registration
//   (registration() notices the generation), and a recorded change whose slot has
//   since been freed (fd -1) or handed on is skipped, never applied to the new user's fd.

#include "event/backends/epoll_backend.hpp"
#include "event/connection.hpp"
#include "event/loop.hpp"

namespace evs::event {

using core::Status;

EpollBackend::Registration& EpollBackend::registration(Connection* c) {
    Registration& r = registrations_[c->index];
    if (r.generation != c->generation) {
        // A new user of the slot: the previous one's registration went with its fd.
        // A stale entry in changes_ is skipped by apply_changes (generation, fd -1).
        r = Registration{};
        r.generation = c->generation;
    }
    return r;
}

// The mask the kernel should hold for c, from its events' `active` and `edge`.
std::uint32_t EpollBackend::wanted(const Connection* c, bool exclusive) const {
    std::uint32_t events = 0;
    if (c->read.active) {
        // EPOLLEXCLUSIVE allows only IN, OUT, ERR, HUP, WAKEUP and ET with it.
        events |= exclusive ? EPOLLIN : EPOLLIN | EPOLLRDHUP;
    }
    if (c->write.active) {
        events |= EPOLLOUT;
    }
    if (events == 0) {
        return 0;
    }
    // epoll keeps one mode per fd: edge if either active direction asked for it.
    if ((c->read.active && c->read.edge) || (c->write.active && c->write.edge)) {
        events |= EPOLLET;
    }
    if (exclusive) {
        events |= EPOLLEXCLUSIVE;
    }
    return events;
}

// Makes the kernel hold `events` for c now: ADD, MOD, DEL, or DEL and ADD for an
// exclusive registration. Called with events == r.events to re-poll (MOD).
Status EpollBackend::sync(Connection* c, Registration& r, std::uint32_t events) {
    Status status = Status::ok;
    if (r.events != 0 && (events == 0 || ((events | r.events) & EPOLLEXCLUSIVE))) {
        status = control(EPOLL_CTL_DEL, c, 0);
        r.events = 0;  // failed only if the kernel did not hold it (ENOENT, EBADF)
    }
    if (events != 0) {
        const int op = r.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        status = control(op, c, events);
        if (status == Status::ok) {
            r.events = events;
        } else if (op == EPOLL_CTL_ADD) {
            r.events = 0;
        }
    }
    r.dropped = 0;
    return status;
}

void EpollBackend::queue(Connection* c, Registration& r) {
    if (!r.queued) {
        r.queued = 1;
        changes_.push_back(c);  // capacity reserved at init: no allocation
    }
}

// After an add: nothing if the kernel's registration already covers what c wants
// (the direction's removal was pending) and no edge can have been lost; else at once.
Status EpollBackend::want(Connection* c, bool exclusive, bool ready) {
    Registration& r = registration(c);
    exclusive = exclusive || (r.events & EPOLLEXCLUSIVE) != 0;
    const std::uint32_t events = wanted(c, exclusive);
    const bool covered = (events & ~r.events) == 0 && (events & EPOLLET) == (r.events & EPOLLET);
    if (covered && !exclusive && (!(r.events & EPOLLET) || !(ready || r.dropped))) {
        // Level-triggered, the kernel reports a ready fd on every wait anyway; edge-
        // triggered, every arrival since the last edge the handler saw is queued.
        return Status::ok;
    }
    return sync(c, r, events);
}

Status EpollBackend::add(Event* ev, unsigned flags) {
    Connection* c = connection_of(ev);
    const Event* other = ev->write ? &c->read : &c->write;
    const bool edge = (flags & k_clear_event) || (other->active && other->edge);
    const bool exclusive = (flags & k_exclusive_event) != 0;
    if (ev->active && edge == static_cast<bool>(ev->edge) && !exclusive) {
        // Registered already, with the same mode: nothing changes.
        return Status::ok;
    }
    // The re-arm: the kernel still holds this direction in this mode (its removal is
    // pending), and no edge can have been lost. A shortcut of want()'s test, which
    // compares whole masks: an active other direction is always held.
    Registration& r = registration(c);
    const std::uint32_t held =
        ev->write ? std::uint32_t{EPOLLOUT} : std::uint32_t{EPOLLIN | EPOLLRDHUP};
    const std::uint32_t mode = edge ? static_cast<std::uint32_t>(EPOLLET) : 0;
    if ((r.events & (held | EPOLLET | EPOLLEXCLUSIVE)) == (held | mode) && !exclusive &&
        !(edge && (ev->ready || r.dropped))) {
        ev->active = 1;
        ev->edge = edge ? 1 : 0;
        return Status::ok;
    }
    const unsigned was_active = ev->active;
    const unsigned was_edge = ev->edge;
    ev->active = 1;
    ev->edge = edge ? 1 : 0;
    if (want(c, exclusive, ev->ready) != Status::ok) {
        ev->active = was_active;
        ev->edge = was_edge;
        return Status::error;
    }
    return Status::ok;
}

Status EpollBackend::del(Event* ev, unsigned flags) {
    Connection* c = connection_of(ev);
    if (flags & k_close_event) {
        // The descriptor is about to be closed, which removes it from the interest
        // list: no syscall, and nothing left to apply once both directions are gone.
        ev->active = 0;
        const Event* other = ev->write ? &c->read : &c->write;
        if (!other->active) {
            Registration& r = registration(c);
            r.events = 0;
            r.dropped = 0;
        }
        return Status::ok;
    }
    if (!ev->active) {
        // Not registered: nothing to tell the kernel (as the poll backend).
        return Status::ok;
    }
    ev->active = 0;
    Registration& r = registration(c);
    // Deleted while the batch is dispatched: this fd's edge may be in the batch, still
    // to come, and dispatch will drop it (the direction is not active); if the
    // direction is taken back before the next wait, the lost edge must be re-polled.
    r.dropped |= dispatching_ ? 1 : 0;
    queue(c, r);
    return Status::ok;
}

Status EpollBackend::add_conn(Connection* c) {
    const unsigned saved[4] = {c->read.active, c->read.edge, c->write.active, c->write.edge};
    c->read.active = c->read.edge = 1;
    c->write.active = c->write.edge = 1;
    if (want(c, false, c->read.ready || c->write.ready) != Status::ok) {
        c->read.active = saved[0];
        c->read.edge = saved[1];
        c->write.active = saved[2];
        c->write.edge = saved[3];
        return Status::error;
    }
    return Status::ok;
}

Status EpollBackend::del_conn(Connection* c, unsigned flags) {
    c->read.active = 0;
    c->write.active = 0;
    Registration& r = registration(c);
    if (flags & k_close_event) {
        r.events = 0;
        r.dropped = 0;
    } else {
        queue(c, r);
    }
    return Status::ok;
}

void EpollBackend::release_conn(Connection* c, unsigned flags) {
    Registration& r = registration(c);
    if (flags & k_close_event) {
        r = Registration{};
        r.generation = c->generation;
        return;
    }
    if (r.queued) {
        r.queued = 0;
        const std::uint32_t events = wanted(c, (r.events & EPOLLEXCLUSIVE) != 0);
        if (events != r.events) {
            sync(c, r, events);
        }
    }
}

// The start of process_events: each recorded connection's net change, before the
// wait, so that a direction no longer wanted is not reported by it.
void EpollBackend::apply_changes() {
    // sync() never records, so changes_ does not grow while this runs.
    for (Connection* c : changes_) {
        Registration& r = registrations_[c->index];
        if (!r.queued) {
            continue;  // applied or dropped since (release_conn, close, a new user)
        }
        r.queued = 0;
        if (c->fd == -1 || r.generation != c->generation) {
            continue;
        }
        r.dropped = 0;  // the edges of the last wait were dispatched
        const std::uint32_t events = wanted(c, (r.events & EPOLLEXCLUSIVE) != 0);
        if (events != r.events) {
            sync(c, r, events);
        }
    }
    changes_.clear();
}

}  // namespace evs::event
