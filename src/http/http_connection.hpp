#pragma once

// The entry point of the HTTP pipeline: the handler of every HTTP listening socket
// (Listening::handler, with Listening::data pointing at its ListenGroup).

#include "event/connection.hpp"

namespace evs::http {

void init_connection(event::Connection* c);

// The worker is stopping gracefully: responses from now on close their connection,
// and an idle connection asked to close first gets a short window in which a
// request already on its way is still answered (nginx closes at once, and a
// client that sent a request at that moment sees the connection drop).
void begin_graceful_shutdown();
inline constexpr unsigned k_lame_duck_msec = 1000;

// Frees the per-worker caches (buffers, arenas); for a worker that is exiting.
void release_worker_caches();

}  // namespace evs::http
