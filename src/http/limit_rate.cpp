#include "http/limit_rate.hpp"

#include <algorithm>

#include "event/loop.hpp"
#include "http/request.hpp"

namespace evs::http {

namespace {

// The smallest send after a delay: a tenth of a second's worth, so that a slow rate
// does not turn into a system call per millisecond; bounded so that a fast one does
// not turn into bursts.
constexpr std::uint64_t k_max_chunk = 256 * 1024;

}  // namespace

std::size_t rate_budget(Request* r, const LocationConfig& loc, std::uint64_t left) {
    const std::uint64_t rate = loc.limit_rate;
    if (rate == 0) {
        return SIZE_MAX;
    }
    event::Connection* c = r->c;
    event::Loop& loop = *c->loop;
    const std::uint64_t sent = c->sent - r->start_sent;
    const std::uint64_t elapsed = loop.time().msec() - r->start_msec;
    const std::uint64_t allowed = loc.limit_rate_after + rate * elapsed / 1000;
    const std::uint64_t budget = allowed > sent ? allowed - sent : 0;
    const std::uint64_t chunk = std::max<std::uint64_t>(
        1, std::min({left, std::max<std::uint64_t>(rate / 10, 1), k_max_chunk}));
    if (budget >= chunk) {
        return static_cast<std::size_t>(std::min<std::uint64_t>(budget, SIZE_MAX));
    }
    // Wait until the budget reaches a chunk (nginx: -limit * 1000 / rate + 1).
    const core::Msec delay = static_cast<core::Msec>((chunk - budget) * 1000 / rate + 1);
    r->rate_delayed = true;
    loop.add_timer(&c->write, delay);
    if (loop.log().enabled(core::LogLevel::debug)) {
        loop.log().write_conn(core::LogLevel::debug, 0, c->number, nullptr, nullptr,
                              "limit_rate: %llu of %llu bytes sent, delay %llu ms",
                              static_cast<unsigned long long>(sent),
                              static_cast<unsigned long long>(sent + left),
                              static_cast<unsigned long long>(delay));
    }
    // A level-triggered backend must not report the writable socket meanwhile.
    if (loop.handle_write_event(&c->write) != core::Status::ok) {
        return 0;
    }
    return 0;
}

int clamp_iov(iovec* iov, int count, std::size_t budget) {
    std::size_t total = 0;
    for (int i = 0; i < count; ++i) {
        if (total + iov[i].iov_len >= budget) {
            iov[i].iov_len = budget - total;
            return iov[i].iov_len > 0 ? i + 1 : i;
        }
        total += iov[i].iov_len;
    }
    return count;
}

}  // namespace evs::http
