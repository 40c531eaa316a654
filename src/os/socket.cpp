#include "os/socket.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace evs::os {

Result<int> socket_nonblocking(int family, int type, int protocol) {
    const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) {
        return Result<int>::from_errno();
    }
    return fd;
}

Result<int> accept_nonblocking(int listen_fd, sockaddr* addr, socklen_t* addr_len) {
    for (;;) {
        const int fd = ::accept4(listen_fd, addr, addr_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            return fd;
        }
        if (errno != EINTR) {
            return Result<int>::from_errno();
        }
    }
}

Result<void> set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return Result<void>::from_errno();
    }
    return {};
}

Result<void> set_int_option(int fd, int level, int name, int value) {
    if (::setsockopt(fd, level, name, &value, sizeof(value)) < 0) {
        return Result<void>::from_errno();
    }
    return {};
}

Result<int> get_int_option(int fd, int level, int name) {
    int value = 0;
    socklen_t len = sizeof(value);
    if (::getsockopt(fd, level, name, &value, &len) < 0) {
        return Result<int>::from_errno();
    }
    return value;
}

void close_fd(int fd) {
    if (fd >= 0) {
        ::close(fd);
    }
}

}  // namespace evs::os
