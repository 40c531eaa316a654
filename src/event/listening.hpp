#pragma once

// Listening: a socket we accept on, with nginx's listen options, and the accept
// handler that turns its readiness into connections.
//
// The accept handler (nginx's ngx_event_accept): accept4 non-blocking and
// close-on-exec; with multi_accept, until EAGAIN; after each accept,
// accept_disabled = capacity/8 - free slots (a worker that is more than 7/8 full
// sits out that many turns of the accept mutex); on EMFILE/ENFILE it stops
// accepting on every listener and tries again after accept_mutex_delay, so the
// loop keeps serving the connections it has.
//
// Ownership: whoever configures the server owns Listening objects; a loop borrows
// them between add_listening() and its destruction. Thread: the loop's thread.

#include <cstdint>

#include "core/status.hpp"
#include "os/address.hpp"

namespace evs::event {

struct Connection;

struct ListenOptions {
    int backlog = 511;  // nginx's default (NGX_LISTEN_BACKLOG)
    int rcvbuf = -1;    // -1: leave the kernel's value
    int sndbuf = -1;
    bool reuseport = false;
    bool deferred = false;  // TCP_DEFER_ACCEPT: wake us only when data arrived
    int so_keepalive = -1;  // -1 unset, 0 off, 1 on
    int keepidle = 0, keepintvl = 0, keepcnt = 0;  // so_keepalive=idle:intvl:cnt
    int ipv6only = 1;
    int fastopen = -1;  // queue length for TCP_FASTOPEN, -1 off
    // TCP_NOTSENT_LOWAT, inherited by every accepted socket: the most a connection
    // keeps queued and not yet sent; -1 leaves the kernel's value.
    int notsent_lowat = -1;
};

struct Listening {
    using ConnectionHandler = void (*)(Connection* c);

    os::SocketAddress address;
    ListenOptions options;
    int fd = -1;
    ConnectionHandler handler = nullptr;  // called for every accepted connection
    void* data = nullptr;                 // the server configuration, for the handler
    bool exclusive = false;               // register with EPOLLEXCLUSIVE
    bool inherited = false;               // received from the old binary or master

    // Set by the loop.
    Connection* connection = nullptr;
    Listening* next_in_loop = nullptr;
    std::uint64_t accepted = 0;
};

// socket(), SO_REUSEADDR, the options, bind(), listen(). On failure *failed_call
// names the system call, for the log line ("bind() to 0.0.0.0:80 failed").
core::Result<void> open_listening(Listening* ls, const char** failed_call);
void close_listening(Listening* ls);

// A socket taken over from the previous configuration (reload) or binary (USR2) gets
// the new configuration's options, as nginx's ngx_configure_listening_sockets does:
// the buffers, SO_KEEPALIVE and its timers, the backlog (listen() again), and
// TCP_DEFER_ACCEPT, TCP_FASTOPEN and TCP_NOTSENT_LOWAT. Deferred accept and the
// unsent limit are also taken off when the new configuration drops them; a buffer
// size once set stays (the kernel has no "unset"), and reuseport and ipv6only belong
// to the socket (a change there opens a new one). On failure *failed_call names the
// call; the socket is still usable.
core::Result<void> reconfigure_listening(const Listening& ls, const char** failed_call);

// The read handler of every listening connection.
void accept_handler(struct Event* ev);

}  // namespace evs::event
