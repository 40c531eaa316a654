#pragma once

// What http_connection.cpp (accepting, reading and parsing heads, choosing the
// location) and request_end.cpp (the request body, keepalive, lingering close) share:
// the worker's buffer and arena caches, freeing a request, and the handlers a
// connection goes back to between requests. Internal to src/http.

#include <cstddef>

#include "http/request.hpp"

namespace evs::http {

// Header buffers from the worker's cache (malloc only when none of that size is
// kept); put_buffer(nullptr, ...) does nothing.
char* get_buffer(std::size_t size);
void put_buffer(char* buffer, std::size_t size);

// Ends the request on `hc` (nginx's ngx_http_free_request): its gauges, then its
// memory; a timed-out connection is reset here when its location asks for it.
void free_request(HttpConnection* hc);

inline HttpConnection* http_of(event::Connection* c) {
    return static_cast<HttpConnection*>(c->data);
}

void empty_handler(event::Event* ev);
// Waiting for a first request, or for the next one on a keepalive connection.
void wait_request_handler(event::Event* rev);
// Starts a request on bytes already in the connection's buffer.
void start_request(event::Connection* c);

}  // namespace evs::http
