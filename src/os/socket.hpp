#pragma once

// Thin wrappers over the socket system calls. Each returns a Result carrying errno;
// none logs and none retries except on EINTR. Descriptors are created non-blocking
// and close-on-exec.

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>

#include "core/status.hpp"

namespace evs::os {

using core::Result;

Result<int> socket_nonblocking(int family, int type, int protocol = 0);
Result<int> accept_nonblocking(int listen_fd, sockaddr* addr, socklen_t* addr_len);
Result<void> set_nonblocking(int fd);
Result<void> set_int_option(int fd, int level, int name, int value);
Result<int> get_int_option(int fd, int level, int name);

// recv(2): the byte count (0 at end of stream) or errno (EAGAIN when drained).
// Inline, with send and writev: they sit on every event's path, and a call that
// only wraps a system call should cost nothing beside it.
inline Result<std::size_t> recv(int fd, void* buf, std::size_t size) {
    for (;;) {
        const ssize_t n = ::recv(fd, buf, size, 0);
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            return Result<std::size_t>::from_errno();
        }
    }
}

// send(2) with MSG_NOSIGNAL: a peer that went away is EPIPE, never SIGPIPE.
inline Result<std::size_t> send(int fd, const void* buf, std::size_t size) {
    for (;;) {
        const ssize_t n = ::send(fd, buf, size, MSG_NOSIGNAL);
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            return Result<std::size_t>::from_errno();
        }
    }
}

inline Result<std::size_t> writev(int fd, const iovec* iov, int count) {
    for (;;) {
        const ssize_t n = ::writev(fd, iov, count);
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            return Result<std::size_t>::from_errno();
        }
    }
}

// Closes fd; EINTR is not retried (on Linux the descriptor is gone either way).
void close_fd(int fd);

}  // namespace evs::os
