#include "event/connect.hpp"

#include <sys/socket.h>

#include <cstring>

#include "event/loop.hpp"
#include "os/socket.hpp"

namespace evs::event {

core::Status connect_peer(Loop& loop, const os::SocketAddress& peer, Connection** out) {
    *out = nullptr;
    auto sock = os::socket_nonblocking(peer.family(), SOCK_STREAM);
    if (!sock) {
        loop.log().write(core::LogLevel::alert, sock.error(), "socket() failed");
        return core::Status::error;
    }
    const int fd = *sock;
    Connection* c = loop.pool().get(fd);
    if (c == nullptr) {
        os::close_fd(fd);
        return core::Status::error;
    }
    std::memcpy(&c->peer.addr, peer.get(),
                std::min<std::size_t>(peer.length, sizeof(c->peer.addr)));
    c->peer.length = peer.length;

    int rc;
    do {
        rc = ::connect(fd, peer.get(), peer.length);
    } while (rc < 0 && errno == EINTR);
    const int err = rc < 0 ? errno : 0;
    if (err != 0 && err != EINPROGRESS) {
        loop.log().write(err == ECONNREFUSED ? core::LogLevel::error : core::LogLevel::crit, err,
                         "connect() to %s failed", peer.to_string().c_str());
        loop.close_connection(c);
        return core::Status::error;
    }

    // Register both directions: the write event reports completion, the read
    // event data (or a reset) afterwards.
    Backend& backend = loop.backend();
    core::Status status;
    if (backend.capabilities() & k_use_add_conn) {
        status = backend.add_conn(c);
    } else {
        status = loop.handle_read_event(&c->read);
        if (status == core::Status::ok && err == EINPROGRESS) {
            status = loop.handle_write_event(&c->write);
        }
    }
    if (status != core::Status::ok) {
        loop.close_connection(c);
        return core::Status::error;
    }
    *out = c;
    if (err == EINPROGRESS) {
        return core::Status::again;
    }
    c->write.ready = 1;
    return core::Status::ok;
}

int connect_result(Connection* c) {
    auto err = os::get_int_option(c->fd, SOL_SOCKET, SO_ERROR);
    return err ? *err : err.error();
}

}  // namespace evs::event
