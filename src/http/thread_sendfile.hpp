#pragma once

// The writers' sendfile(): in the loop, or, in a location with `aio threads[=pool]`
// and `sendfile on`, in that pool (event/file_thread_send.hpp) so that a page-cache
// miss never blocks the worker (issue #6). The writers (output.cpp, output_parts.cpp)
// call send_file_chunk() where they called event::sendfile() and see the same
// results; while a task is in flight they get k_io_again and must not write at all
// (thread_send_busy()): the task's completion calls send_response() again, and the
// next send_file_chunk() returns what the thread sent.
//
// The write event's `ready` flag stays true to the socket across the thread hop: it
// is cleared when the task starts, so that a write event arriving while the thread
// sends sets it again; a task that found the socket full then tries once more instead
// of waiting for an edge that has already come (edge-triggered epoll would not report
// it twice).
//
// The operation belongs to the pool's ThreadSendfile, not to the request: the
// request's arena releases it when the request ends, in flight or not (the duplicate
// descriptors it sends through stay open until the thread is done with them).
//
// Thread: the worker's loop thread.

#include <sys/types.h>

#include <cstddef>
#include <string_view>

#include "http/request.hpp"

namespace evs::event {
class ThreadSendfile;
}  // namespace evs::event

namespace evs::http {

// Sends up to `size` bytes of r's file from *pos to the client, advancing *pos by
// what was sent: the bytes sent (0: the file is shorter than it was), k_io_again
// (the socket is full, or the task is in flight: the output resumes by itself), or
// k_io_error with errno set; with EAGAIN (which sendfile() itself never gives as an
// error) it is the pool's queue overflow, already logged: event::pool_refused().
ssize_t send_file_chunk(Request* r, off_t* pos, std::size_t size);

// A sendfile task of r's is in flight: nothing may be written to the connection.
bool thread_send_busy(const Request* r);

// The sendfile of the thread pool `name` (`aio threads=name` with `sendfile on`).
void add_thread_sendfile(std::string_view name, event::ThreadSendfile* sender);
// Forgets them (the worker destroys them once the pools are stopped).
void release_thread_sendfiles();

}  // namespace evs::http
