#pragma once

// TimeCache: the current time, read once per loop turn and shared by everything
// that needs it in that turn, as nginx's ngx_time_update() does.
//
// msec() is a monotonic millisecond clock for timers. The wall-clock strings (HTTP
// Date, error log, access log, ISO 8601) are re-rendered only when the second
// changes. Each thread has its own cache (thread_local), so a loop and its timers
// never share mutable state with another thread; the loop updates its thread's cache
// after every wait. Not for use from signal handlers.

#include <cstdint>
#include <ctime>
#include <string_view>

namespace evs::core {

using Msec = std::uint64_t;  // milliseconds of the monotonic clock

class TimeCache {
public:
    TimeCache();

    // Reads the clocks again. Cheap when the second has not changed.
    void update();

    Msec msec() const { return msec_; }
    std::time_t seconds() const { return wall_sec_; }
    // Wall-clock milliseconds since the epoch (for $msec and request times).
    std::uint64_t wall_msec() const { return wall_msec_; }

    std::string_view http_date() const { return {http_date_, http_date_len_}; }
    std::string_view error_log_time() const { return {error_log_, error_log_len_}; }
    std::string_view access_log_time() const { return {access_log_, access_log_len_}; }
    std::string_view iso8601() const { return {iso8601_, iso8601_len_}; }

    // Shifts msec() by `offset`, so that tests can start the clock just before the
    // 32-bit timer deadlines wrap around.
    void set_msec_offset(Msec offset) {
        msec_ += offset - msec_offset_;
        msec_offset_ = offset;
    }

private:
    void render(std::time_t sec);

    Msec msec_ = 0;  // with the offset added: read on every timer operation
    Msec msec_offset_ = 0;
    std::time_t wall_sec_ = -1;
    std::uint64_t wall_msec_ = 0;
    char http_date_[40] = {};
    char error_log_[24] = {};
    char access_log_[32] = {};
    char iso8601_[32] = {};
    std::size_t http_date_len_ = 0;
    std::size_t error_log_len_ = 0;
    std::size_t access_log_len_ = 0;
    std::size_t iso8601_len_ = 0;
};

// This thread's time cache.
TimeCache& clock();

}  // namespace evs::core
