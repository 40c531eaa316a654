#pragma once

// Outgoing non-blocking connect (nginx's ngx_event_connect_peer).
//
// connect_peer() creates a non-blocking socket, starts connect(), takes a slot and
// registers both directions. It returns ok when the connection completed at once
// (unix sockets, often), again when it is in progress: the write event then fires
// when it completes, and connect_result() says whether it succeeded. error means
// no connection was made (nothing to close).
// Thread: the loop's thread.

#include "core/status.hpp"
#include "os/address.hpp"

namespace evs::event {

class Loop;
struct Connection;

core::Status connect_peer(Loop& loop, const os::SocketAddress& peer, Connection** out);

// After the write event of a connection in progress: 0, or the errno that the
// connection attempt failed with (SO_ERROR).
int connect_result(Connection* c);

}  // namespace evs::event
