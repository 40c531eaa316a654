#include "core/log.hpp"

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/time_cache.hpp"

namespace evs::core {

namespace {

constexpr std::string_view k_level_names[] = {"",     "emerg",  "alert", "crit", "error",
                                              "warn", "notice", "info",  "debug"};

void write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;  // Nowhere left to report a failing log write.
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

}  // namespace

std::string_view to_string(LogLevel level) {
    return k_level_names[static_cast<std::size_t>(level)];
}

bool parse_log_level(std::string_view text, LogLevel* level) {
    for (std::size_t i = 1; i < std::size(k_level_names); ++i) {
        if (text == k_level_names[i]) {
            *level = static_cast<LogLevel>(i);
            return true;
        }
    }
    return false;
}

Log::Log(int fd, LogLevel level) {
    add_sink(fd, level, false);
}

Log::~Log() {
    clear_sinks();
}

void Log::clear_sinks() {
    for (const Sink& sink : sinks_) {
        if (sink.owned) {
            ::close(sink.fd);
        }
    }
    sinks_.clear();
    max_level_ = LogLevel::stderr_only;
}

void Log::add_sink(int fd, LogLevel level, bool owned) {
    sinks_.push_back(Sink{fd, level, owned});
    max_level_ = std::max(max_level_, level);
}

void Log::write(LogLevel level, int err, const char* fmt, ...) {
    if (!enabled(level)) {
        return;
    }
    va_list args;
    va_start(args, fmt);
    vwrite(level, err, 0, nullptr, nullptr, fmt, args);
    va_end(args);
}

void Log::write_conn(LogLevel level, int err, std::uint64_t conn, ContextFn context,
                     const void* context_data, const char* fmt, ...) {
    if (!enabled(level)) {
        return;
    }
    va_list args;
    va_start(args, fmt);
    vwrite(level, err, conn, context, context_data, fmt, args);
    va_end(args);
}

void Log::vwrite(LogLevel level, int err, std::uint64_t conn, ContextFn context,
                 const void* context_data, const char* fmt, va_list args) {
    // nginx truncates a line at 2048 bytes; so do we.
    char line[2048];
    const std::size_t cap = sizeof(line) - 1;  // room for the newline
    std::size_t len = 0;
    auto room = [&] { return cap > len ? cap - len : 0; };
    auto advance = [&](int n) {
        len = std::min(cap, len + static_cast<std::size_t>(std::max(n, 0)));
    };

    if (level != LogLevel::stderr_only) {
        const std::string_view time = clock().error_log_time();
        advance(std::snprintf(line, room(), "%.*s [%.*s] %d#0: ", static_cast<int>(time.size()),
                              time.data(), static_cast<int>(to_string(level).size()),
                              to_string(level).data(), static_cast<int>(::getpid())));
        if (conn != 0) {
            advance(
                std::snprintf(line + len, room(), "*%llu ", static_cast<unsigned long long>(conn)));
        }
    } else {
        advance(std::snprintf(line, room(), "evserve: "));
    }
    advance(std::vsnprintf(line + len, room(), fmt, args));
    if (err != 0) {
        char buf[128];
        const char* text = strerror_r(err, buf, sizeof(buf));
        advance(std::snprintf(line + len, room(), " (%d: %s)", err, text));
    }
    if (context != nullptr && room() > 0) {
        len += std::min(room(), context(context_data, line + len, room()));
    }
    line[len++] = '\n';

    for (const Sink& sink : sinks_) {
        if (level <= sink.level) {
            write_all(sink.fd, line, len);
        }
    }
}

void Log::write_raw(std::string_view text) {
    for (const Sink& sink : sinks_) {
        write_all(sink.fd, text.data(), text.size());
    }
}

}  // namespace evs::core
