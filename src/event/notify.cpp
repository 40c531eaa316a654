#include "event/notify.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "event/backends/backend.hpp"
#include "event/loop.hpp"
#include "os/socket.hpp"

namespace evs::event {

core::Status NotifyChannel::init(Loop& loop, Backend& backend) {
    fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) {
        loop.log().write(core::LogLevel::emerg, errno, "eventfd() failed");
        return core::Status::error;
    }
    connection_ = loop.pool().get_internal(fd_);
    if (connection_ == nullptr) {
        loop.log().write(core::LogLevel::emerg, 0, "no internal connection slot for notify");
        return core::Status::error;
    }
    connection_->read.handler = on_readable;
    return backend.add(&connection_->read, k_clear_event);
}

core::Status NotifyChannel::wake() {
    const std::uint64_t one = 1;
    // The counter saturates only after 2^64-2 unread wakes; EAGAIN cannot happen
    // in practice, and a pending count already guarantees a wakeup if it did.
    if (::write(fd_, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN) {
        return core::Status::error;
    }
    return core::Status::ok;
}

void NotifyChannel::on_readable(Event* ev) {
    Connection* c = connection_of(ev);
    std::uint64_t count = 0;
    // Drain first, then look at the pending flags: a notifier that sets its flag
    // after this read also writes again, so no notification can be missed.
    if (::read(c->fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
        c->loop->log().write(core::LogLevel::alert, errno, "read() eventfd %d failed", c->fd);
    }
    ev->ready = 0;
    c->loop->run_notifications();
}

void NotifyChannel::close() {
    os::close_fd(fd_);
    fd_ = -1;
    if (connection_ != nullptr) {
        connection_->fd = -1;
        connection_ = nullptr;
    }
}

}  // namespace evs::event
