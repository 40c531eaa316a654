#pragma once

// Reading and writing a connection, keeping its events' `ready` flags true to what
// the kernel last said (nginx's ngx_unix_recv / ngx_unix_send).
//
// recv() returns the bytes read, 0 at end of stream, k_io_again when nothing is
// available now, or k_io_error. On an edge-triggered backend that reports
// EPOLLRDHUP, a short read means the socket is drained (unless the peer has shut
// down, which RDHUP would have said): `ready` drops without the extra recv() that
// would only return EAGAIN.
// Thread: the connection's loop thread.

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>

#include "event/connection.hpp"
#include "event/loop.hpp"

namespace evs::event {

inline constexpr ssize_t k_io_error = -1;
inline constexpr ssize_t k_io_again = -2;

// What recv() does when the system call returned 0 or failed (end of stream,
// EAGAIN, EINTR, an error): out of line, so that the inline part stays small.
ssize_t recv_slow(Connection* c, void* buf, std::size_t size, ssize_t n);

// Inline: it runs once or more per read event, and all it adds to the system call
// on the common path (bytes read) is a few flag tests, which cost less than the
// call, the saved registers and the Result a wrapper in io.cpp would add.
inline ssize_t recv(Connection* c, void* buf, std::size_t size) {
    Event* rev = &c->read;
    const unsigned hints = c->loop->read_hints();
    if ((hints & Loop::k_read_rdhup) && !rev->available && !rev->pending_eof) {
        // The last read drained the socket and no new edge has arrived since.
        rev->ready = 0;
        return k_io_again;
    }
    const ssize_t n = ::recv(c->fd, buf, size, 0);
    if (n <= 0) [[unlikely]] {
        return recv_slow(c, buf, size, n);
    }
    if (static_cast<std::size_t>(n) < size && !rev->pending_eof &&
        (hints & Loop::k_read_short_drains)) {
        // Drained. A level-triggered backend will simply report it again.
        rev->ready = 0;
        rev->available = 0;
    }
    return n;
}
ssize_t send(Connection* c, const void* buf, std::size_t size);
ssize_t writev(Connection* c, const iovec* iov, int count);
// writev() telling the kernel that more follows at once (sendmsg with MSG_MORE): the
// bytes wait to share a packet with the next send, as under TCP_CORK, at no extra
// system call.
ssize_t writev_more(Connection* c, const iovec* iov, int count);
// sendfile(2) of `size` bytes of `file_fd` from *offset (advanced by what was sent).
ssize_t sendfile(Connection* c, int file_fd, off_t* offset, std::size_t size);

}  // namespace evs::event
