#pragma once

// The entry point of the HTTP pipeline: the handler of every HTTP listening socket
// (Listening::handler, with Listening::data pointing at its ListenGroup).

#include "event/connection.hpp"

namespace evs::http {

void init_connection(event::Connection* c);

// Frees the per-worker caches (buffers, arenas); for a worker that is exiting.
void release_worker_caches();

}  // namespace evs::http
