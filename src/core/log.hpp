#pragma once

// Log: nginx-format error log lines written to one or more file descriptors.
//
//   2026/11/23 17:02:00 [error] 1234#0: *5 message (2: No such file or directory)
//
// Each sink has its own level (error_log may be given several times). A line is
// formatted into a stack buffer and written with one write(2) per sink, so lines
// from several processes appending to one file never interleave. The Log does not
// own its descriptors unless told to. Safe to call from any thread (thread pool
// tasks log through the same object); not async-signal-safe.

#include <cstdarg>
#include <cstdint>
#include <string_view>
#include <vector>

namespace evs::core {

enum class LogLevel : std::uint8_t {
    stderr_only = 0,  // nginx's NGX_LOG_STDERR: printed without a level prefix
    emerg = 1,
    alert,
    crit,
    error,
    warn,
    notice,
    info,
    debug,
};

std::string_view to_string(LogLevel level);
// Parses "debug", "info", ... "emerg"; returns false for anything else.
bool parse_log_level(std::string_view text, LogLevel* level);

class Log {
public:
    struct Sink {
        int fd;
        LogLevel level;
        bool owned;
    };

    // Appends context to a line (", client: ..., server: ..."), returns bytes written.
    using ContextFn = std::size_t (*)(const void* data, char* buf, std::size_t size);

    Log() : Log(2, LogLevel::error) {}
    Log(int fd, LogLevel level);
    ~Log();
    Log(const Log&) = delete;
    Log& operator=(const Log&) = delete;

    void clear_sinks();
    void add_sink(int fd, LogLevel level, bool owned);
    const std::vector<Sink>& sinks() const { return sinks_; }

    bool enabled(LogLevel level) const { return level <= max_level_; }

    // err: an errno to append as " (N: text)", or 0.
    void write(LogLevel level, int err, const char* fmt, ...) __attribute__((format(printf, 4, 5)));
    // A line for connection number `conn` ("*N "), with optional context.
    void write_conn(LogLevel level, int err, std::uint64_t conn, ContextFn context,
                    const void* context_data, const char* fmt, ...)
        __attribute__((format(printf, 7, 8)));

    void vwrite(LogLevel level, int err, std::uint64_t conn, ContextFn context,
                const void* context_data, const char* fmt, va_list args);

    // Writes to every sink whatever its level (for -T dumps and the like).
    void write_raw(std::string_view text);

private:
    std::vector<Sink> sinks_;
    LogLevel max_level_ = LogLevel::error;
};

}  // namespace evs::core
