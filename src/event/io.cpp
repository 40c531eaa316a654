#include "event/io.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>

#include "event/connection.hpp"
#include "event/loop.hpp"
#include "os/socket.hpp"

namespace evs::event {

ssize_t recv_slow(Connection* c, void* buf, std::size_t size, ssize_t n) {
    Event* rev = &c->read;
    for (;;) {
        if (n > 0) {
            // Only after EINTR: the retry read something.
            if (static_cast<std::size_t>(n) < size && !rev->pending_eof &&
                (c->loop->read_hints() & Loop::k_read_short_drains)) {
                rev->ready = 0;
                rev->available = 0;
            }
            return n;
        }
        if (n == 0) {
            rev->ready = 0;
            rev->eof = 1;
            return 0;
        }
        if (errno != EINTR) {
            break;
        }
        n = ::recv(c->fd, buf, size, 0);
    }
    rev->ready = 0;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        rev->available = 0;
        return k_io_again;
    }
    rev->error = 1;
    return k_io_error;
}

ssize_t send(Connection* c, const void* buf, std::size_t size) {
    Event* wev = &c->write;
    const auto n = os::send(c->fd, buf, size);
    if (n) {
        if (*n < size) {
            wev->ready = 0;
        }
        c->sent += *n;
        return static_cast<ssize_t>(*n);
    }
    wev->ready = 0;
    if (n.error() == EAGAIN || n.error() == EWOULDBLOCK) {
        return k_io_again;
    }
    wev->error = 1;
    errno = n.error();
    return k_io_error;
}

ssize_t writev(Connection* c, const iovec* iov, int count) {
    Event* wev = &c->write;
    std::size_t size = 0;
    for (int i = 0; i < count; ++i) {
        size += iov[i].iov_len;
    }
    const auto n = os::writev(c->fd, iov, count);
    if (n) {
        if (*n < size) {
            wev->ready = 0;
        }
        c->sent += *n;
        return static_cast<ssize_t>(*n);
    }
    wev->ready = 0;
    if (n.error() == EAGAIN || n.error() == EWOULDBLOCK) {
        return k_io_again;
    }
    wev->error = 1;
    errno = n.error();
    return k_io_error;
}

ssize_t writev_more(Connection* c, const iovec* iov, int count) {
    Event* wev = &c->write;
    std::size_t size = 0;
    for (int i = 0; i < count; ++i) {
        size += iov[i].iov_len;
    }
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov);
    msg.msg_iovlen = static_cast<std::size_t>(count);
    for (;;) {
        const ssize_t n = ::sendmsg(c->fd, &msg, MSG_MORE | MSG_NOSIGNAL);
        if (n >= 0) {
            if (static_cast<std::size_t>(n) < size) {
                wev->ready = 0;
            }
            c->sent += static_cast<std::uint64_t>(n);
            return n;
        }
        if (errno == EINTR) {
            continue;
        }
        wev->ready = 0;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return k_io_again;
        }
        wev->error = 1;
        return k_io_error;
    }
}

ssize_t sendfile(Connection* c, int file_fd, off_t* offset, std::size_t size) {
    Event* wev = &c->write;
    for (;;) {
        const ssize_t n = ::sendfile(c->fd, file_fd, offset, size);
        if (n >= 0) {
            if (static_cast<std::size_t>(n) < size) {
                wev->ready = 0;
            }
            c->sent += static_cast<std::uint64_t>(n);
            return n;
        }
        if (errno == EINTR) {
            continue;
        }
        wev->ready = 0;
        if (errno == EAGAIN) {
            return k_io_again;
        }
        wev->error = 1;
        return k_io_error;
    }
}

}  // namespace evs::event
