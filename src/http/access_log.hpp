#pragma once

// AccessLogBuffer: access_log's buffer= and flush=. One per log file and process
// (the server layer makes it when it opens the file, shared by every access_log
// directive naming that file); it keeps whole lines and writes them with one
// write(2) when the next line would not fit, when flush= has passed since the first
// buffered line, before the logs are reopened, and when the worker exits.
// Thread: the worker's loop thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/conf_applier.hpp"
#include "core/time_cache.hpp"
#include "event/event.hpp"

namespace evs::event {
class Loop;
}

namespace evs::http {

class AccessLogBuffer {
public:
    AccessLogBuffer(std::string path, int fd, std::size_t size, core::Msec flush);
    ~AccessLogBuffer();  // flushes
    AccessLogBuffer(const AccessLogBuffer&) = delete;
    AccessLogBuffer& operator=(const AccessLogBuffer&) = delete;

    void append(std::string_view line, event::Loop& loop);
    void flush();
    std::size_t size() const { return size_; }
    std::size_t buffered() const { return data_.size(); }

private:
    void write_out(std::string_view bytes);

    std::string path_;
    int fd_;  // the file's descriptor; reopening dup3()s onto it, so it stays valid
    std::size_t size_;
    core::Msec flush_;
    std::string data_;
    event::Event timer_;
    event::Loop* loop_ = nullptr;  // the loop the flush timer was armed in
};

// Writes every buffered line of this process (before reopening, and at exit).
void flush_access_logs();

// The setters of `access_log` (into a LocationConfig) and `log_format` (into the
// HttpConfig).
std::optional<core::conf::Error> set_access_log(core::conf::Applier& applier,
                                                const core::conf::Node& node,
                                                const core::conf::Directive& directive, void* conf);
std::optional<core::conf::Error> set_log_format(core::conf::Applier& applier,
                                                const core::conf::Node& node,
                                                const core::conf::Directive& directive, void* conf);

}  // namespace evs::http
