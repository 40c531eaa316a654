#include "event/connection_pool.hpp"

#include <algorithm>
#include <new>

#include "event/loop.hpp"

namespace evs::event {

ConnectionPool::ConnectionPool(Loop* loop, std::size_t capacity, core::Log* log)
    : loop_(loop),
      log_(log),
      capacity_(capacity),
      slots_(new Connection[capacity + k_internal_slots]) {
    // Thread the free list so that slot 0 is handed out first.
    for (std::size_t i = capacity_ + k_internal_slots; i-- > 0;) {
        Connection* c = &slots_[i];
        c->index = static_cast<std::uint32_t>(i);
        c->loop = loop_;
        c->read.data = c;
        c->write.data = c;
        c->write.write = 1;
        if (i < capacity_) {
            c->data = free_;
            free_ = c;
        }
    }
    free_count_ = capacity_;
}

Connection* ConnectionPool::get(int fd) {
    if (free_count_ <= capacity_ / 16) {
        drain();
    }
    Connection* c = free_;
    if (c == nullptr) {
        log_->write(core::LogLevel::alert, 0, "%zu worker_connections are not enough", capacity_);
        return nullptr;
    }
    free_ = static_cast<Connection*>(c->data);
    --free_count_;

    // Reset everything but the slot's identity; bump the generation so that events
    // still queued in the kernel for the previous user are recognised as stale.
    const std::uint32_t generation = c->generation + 1;
    const std::uint32_t index = c->index;
    c->~Connection();
    new (c) Connection();
    c->generation = generation;
    c->index = index;
    c->loop = loop_;
    c->fd = fd;
    c->number = next_number_++;
    c->read.data = c;
    c->write.data = c;
    c->write.write = 1;
    return c;
}

Connection* ConnectionPool::get_internal(int fd) {
    if (internal_used_ == k_internal_slots) {
        return nullptr;
    }
    Connection* c = &slots_[capacity_ + internal_used_++];
    c->fd = fd;
    c->generation++;
    return c;
}

void ConnectionPool::free(Connection* c) {
    c->fd = -1;
    c->data = free_;
    free_ = c;
    ++free_count_;
}

// An idle connection is what stub_status calls "waiting" (as in nginx, whose
// ngx_reusable_connection moves that gauge): a new connection before its first
// byte, and a keepalive connection between requests.
void ConnectionPool::set_reusable(Connection* c, bool reusable) {
    if (c->reusable) {
        c->queue_node.unlink();
        --reusable_count_;
        if (loop_ != nullptr) {
            loop_->add_gauge(&ConnectionStats::waiting, -1);
        }
    }
    c->reusable = reusable ? 1 : 0;
    if (reusable) {
        // Newest at the front, so the back is the oldest (the one drained first).
        reusable_.push_front(&c->queue_node);
        ++reusable_count_;
        if (loop_ != nullptr) {
            loop_->add_gauge(&ConnectionStats::waiting, 1);
        }
    }
}

void ConnectionPool::drain() {
    if (free_count_ > capacity_ / 16 || reusable_count_ == 0) {
        return;
    }
    const core::Msec now = core::clock().msec();
    if (now - last_drain_warning_ >= 1000 || last_drain_warning_ == 0) {
        last_drain_warning_ = now;
        log_->write(core::LogLevel::warn, 0,
                    "%zu worker_connections are not enough, reusing connections", capacity_);
    }
    // Close a few at a time: enough to make room, without a long pause for a
    // worker that holds many idle connections.
    const std::size_t n = std::max<std::size_t>(std::min<std::size_t>(32, reusable_count_ / 8), 1);
    for (std::size_t i = 0; i < n && !reusable_.empty(); ++i) {
        Connection* c = Connection::from_queue_node(reusable_.back());
        set_reusable(c, false);
        c->close = 1;
        c->read.handler(&c->read);
    }
}

void ConnectionPool::close_idle() {
    while (!reusable_.empty()) {
        Connection* c = Connection::from_queue_node(reusable_.back());
        set_reusable(c, false);
        c->close = 1;
        c->read.handler(&c->read);
    }
}

}  // namespace evs::event
