#pragma once

// NotifyChannel: the eventfd a backend registers so that other threads can wake
// its loop (nginx's notify_fd in the epoll module). wake() may be called from any
// thread; the read handler, on the loop thread, drains the counter and runs the
// loop's signalled Notifications.
//
// Ownership: owns the eventfd; borrows an internal slot of the loop's pool.

#include "core/status.hpp"

namespace evs::event {

class Loop;
class Backend;
struct Connection;
struct Event;

class NotifyChannel {
public:
    NotifyChannel() = default;
    NotifyChannel(const NotifyChannel&) = delete;
    NotifyChannel& operator=(const NotifyChannel&) = delete;
    ~NotifyChannel() { close(); }

    // Creates the eventfd and registers it, edge-triggered, with `backend`.
    core::Status init(Loop& loop, Backend& backend);
    core::Status wake();
    void close();

private:
    static void on_readable(Event* ev);
    int fd_ = -1;
    Connection* connection_ = nullptr;
};

}  // namespace evs::event
