#pragma once

// Response pacing: nginx's limit_rate and limit_rate_after in the write filter.
//
//   limit_rate rate;          bytes per second; 0: no limit
//   limit_rate_after size;    sent at full speed before the limit applies
//
// From the start of the request, a response may have sent at most
//   limit_rate_after + limit_rate * elapsed
// bytes (the head included, as nginx counts c->sent). The writers ask rate_budget()
// before each writev() or sendfile() and send no more than it allows; when the budget
// is spent, the write event's timer is armed for the time the budget needs to reach
// one chunk (a tenth of a second's worth, or what is left of the response) and the
// writer returns. The expiry of that timer is a deliberate delay, not send_timeout:
// Request::rate_delayed tells the two apart (nginx's wev->delayed).
//
// Unlike nginx, time is counted in milliseconds rather than whole seconds and there is
// no one-second head start: nginx lets a full second's worth go at once (its clock is
// ngx_time() - start_sec + 1), so a short response may beat the rate; here the average
// from the start of the request never exceeds it.
//
// Thread: the worker's loop thread.

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace evs::http {

struct Request;
struct LocationConfig;

// The most bytes the next send may take: SIZE_MAX without a limit; 0 when the writer
// must wait (the delay is armed, r->rate_delayed is set). `left`: the bytes the
// response still has to send (for the size of the last chunk).
std::size_t rate_budget(Request* r, const LocationConfig& loc, std::uint64_t left);

// Shortens iov[0..count) to `budget` bytes in all; returns the new count.
int clamp_iov(iovec* iov, int count, std::size_t budget);

}  // namespace evs::http
