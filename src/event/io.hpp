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

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>

namespace evs::event {

struct Connection;

inline constexpr ssize_t k_io_error = -1;
inline constexpr ssize_t k_io_again = -2;

ssize_t recv(Connection* c, void* buf, std::size_t size);
ssize_t send(Connection* c, const void* buf, std::size_t size);
ssize_t writev(Connection* c, const iovec* iov, int count);
// sendfile(2) of `size` bytes of `file_fd` from *offset (advanced by what was sent).
ssize_t sendfile(Connection* c, int file_fd, off_t* offset, std::size_t size);

}  // namespace evs::event
