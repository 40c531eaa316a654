#include "core/time_cache.hpp"

#include <cstdio>
#include <ctime>

namespace evs::core {

TimeCache::TimeCache() {
    update();
}

void TimeCache::update() {
    timespec mono{};
    // CLOCK_MONOTONIC_COARSE is read from the vDSO without a syscall; its
    // resolution (a jiffy, 1-4 ms) is what nginx's timers have always had.
    clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
    msec_ = static_cast<Msec>(mono.tv_sec) * 1000 + static_cast<Msec>(mono.tv_nsec / 1000000) +
            msec_offset_;

    timespec wall{};
    clock_gettime(CLOCK_REALTIME_COARSE, &wall);
    wall_msec_ = static_cast<std::uint64_t>(wall.tv_sec) * 1000 +
                 static_cast<std::uint64_t>(wall.tv_nsec / 1000000);
    if (wall.tv_sec != wall_sec_) {
        render(wall.tv_sec);
    }
}

void TimeCache::render(std::time_t sec) {
    static const char* const k_weekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    wall_sec_ = sec;

    tm gmt{};
    gmtime_r(&sec, &gmt);
    http_date_len_ = static_cast<std::size_t>(
        std::snprintf(http_date_, sizeof(http_date_), "%s, %02d %s %4d %02d:%02d:%02d GMT",
                      k_weekdays[gmt.tm_wday], gmt.tm_mday, k_months[gmt.tm_mon],
                      gmt.tm_year + 1900, gmt.tm_hour, gmt.tm_min, gmt.tm_sec));

    tm local{};
    localtime_r(&sec, &local);
    error_log_len_ = static_cast<std::size_t>(std::snprintf(
        error_log_, sizeof(error_log_), "%4d/%02d/%02d %02d:%02d:%02d", local.tm_year + 1900,
        local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec));

    const long gmtoff_min = local.tm_gmtoff / 60;
    const char sign = gmtoff_min < 0 ? '-' : '+';
    const long off = gmtoff_min < 0 ? -gmtoff_min : gmtoff_min;
    access_log_len_ = static_cast<std::size_t>(
        std::snprintf(access_log_, sizeof(access_log_), "%02d/%s/%d:%02d:%02d:%02d %c%02ld%02ld",
                      local.tm_mday, k_months[local.tm_mon], local.tm_year + 1900, local.tm_hour,
                      local.tm_min, local.tm_sec, sign, off / 60, off % 60));
    iso8601_len_ = static_cast<std::size_t>(
        std::snprintf(iso8601_, sizeof(iso8601_), "%4d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
                      local.tm_year + 1900, local.tm_mon + 1, local.tm_mday, local.tm_hour,
                      local.tm_min, local.tm_sec, sign, off / 60, off % 60));
}

TimeCache& clock() {
    thread_local TimeCache cache;
    return cache;
}

}  // namespace evs::core
