#pragma once

// The status pages (nginx's ngx_http_stub_status_module, and a Prometheus endpoint
// of our own): the content handler of a location with `stub_status`, and the
// response counters it reports.
//
// The numbers are the server's, not the worker's: the loop's counters point into
// the shared zone, so whichever worker answers, the totals include what the others
// did. `status_format nginx` (the default) is nginx's text, byte for byte:
//
//   Active connections: 1 \n
//   server accepts handled requests\n
//    7 7 12 \n
//   Reading: 0 Writing: 1 Waiting: 0 \n
//
// `status_format prometheus` is the Prometheus text exposition format 0.0.4: the
// same counters, the responses per status code and the bytes sent (counted once per
// finished request, where its access log line is written: count_response), the file
// I/O counters per AIO mode, and the connection counters of each worker slot.
//
// Thread: the worker's loop thread; set_worker_slots() before the loop runs.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <span>

#include "event/stats.hpp"

namespace evs::http {

struct Request;

enum class StatusFormat : std::uint8_t { nginx, prometheus };

// stub_status: GET and HEAD get the page (a HEAD response has no Content-Length, as
// nginx's), other methods 405. Runs after the access phase, so allow/deny apply.
void status_handler(Request* r);

// Adds a finished request to the response counters: its status (444 for a
// connection closed without a response, as the access log shows it) and the bytes
// the client was actually sent, head included. Called once per request, whether
// or not its location writes an access log.
void count_response(const Request* r);

// One worker slot of the server, as the Prometheus page lists it: the pid of the
// worker in it (0 for an empty slot) and its own connection counters. The server
// layer owns both (its shared zone); the status page only reads them.
struct WorkerSlot {
    const std::atomic<pid_t>* pid = nullptr;
    const event::ConnectionStats* stats = nullptr;
};

// Tells the status pages where the worker slots are (a copy of the list is kept).
// Without it (a loop without a server around it) the page has no per-worker lines.
void set_worker_slots(std::span<const WorkerSlot> slots);

}  // namespace evs::http
