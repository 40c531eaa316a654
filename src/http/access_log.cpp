// The access log: one line per request, in the location's formats, written with one
// write(2) to a file opened with O_APPEND (so lines of several workers never mix).
// With buffer=, lines collect in the file's buffer and go out together when the next
// line would not fit, when flush= expires, before the logs are reopened, and when the
// worker exits: always whole lines, so O_APPEND still keeps workers' lines apart.

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "event/loop.hpp"
#include "http/access_log.hpp"
#include "http/request.hpp"
#include "http/status_page.hpp"

namespace evs::http {

void log_request(Request* r) {
    count_response(r);  // every finished request, whether or not it is logged
    if (r->loc == nullptr || r->loc->access_log_off) {
        // A request that failed before its location was known goes to the server's
        // logs, as nginx logs a 400 in the server's context.
        if (r->loc != nullptr || r->server == nullptr || r->server->location.access_log_off) {
            return;
        }
    }
    const LocationConfig& loc = r->loc != nullptr ? *r->loc : r->server->location;
    for (const AccessLogConfig& log : loc.access_logs) {
        if (log.fd < 0) {
            continue;
        }
        if (!log.condition.empty()) {
            std::string value;
            log.condition_text.evaluate(r, value);
            if (value.empty() || value == "0") {
                continue;
            }
        }
        // One buffer per thread, reused: its capacity stays, so a line costs no malloc
        // once the first lines have been written.
        static thread_local std::string line;
        line.clear();
        log.format_text.evaluate(r, line, log.escape);
        line += '\n';
        if (log.buffer != nullptr) {
            log.buffer->append(line, *r->c->loop);
            continue;
        }
        // One write per line: O_APPEND keeps lines of concurrent workers whole.
        if (::write(log.fd, line.data(), line.size()) < 0) {
            r->c->loop->log().write(core::LogLevel::alert, errno, "write() to \"%s\" failed",
                                    log.path.c_str());
        }
    }
}

// --- buffered logs --------------------------------------------------------------

namespace {

// The buffers of this process, for flush_access_logs(). A process has a handful.
std::vector<AccessLogBuffer*>& all_buffers() {
    static std::vector<AccessLogBuffer*> buffers;
    return buffers;
}

}  // namespace

AccessLogBuffer::AccessLogBuffer(std::string path, int fd, std::size_t size, core::Msec flush)
    : path_(std::move(path)), fd_(fd), size_(size), flush_(flush) {
    timer_.data = this;
    timer_.handler = [](event::Event* ev) { static_cast<AccessLogBuffer*>(ev->data)->flush(); };
    timer_.cancelable = 1;  // a graceful shutdown does not wait for it: exit flushes
    all_buffers().push_back(this);
}

AccessLogBuffer::~AccessLogBuffer() {
    flush();  // also takes the timer out of its loop (the worker flushes before exiting)
    auto& buffers = all_buffers();
    buffers.erase(std::remove(buffers.begin(), buffers.end(), this), buffers.end());
}

void AccessLogBuffer::append(std::string_view line, event::Loop& loop) {
    if (data_.size() + line.size() > size_) {
        flush();
    }
    if (line.size() >= size_) {
        write_out(line);  // longer than the whole buffer: straight to the file
        return;
    }
    if (data_.capacity() < size_) {
        data_.reserve(size_);
    }
    data_.append(line);
    if (flush_ != 0 && !timer_.timer_set) {
        loop_ = &loop;
        loop.add_timer(&timer_, flush_);
    }
}

void AccessLogBuffer::flush() {
    if (loop_ != nullptr && timer_.timer_set) {
        loop_->del_timer(&timer_);
    }
    if (data_.empty()) {
        return;
    }
    write_out(data_);
    data_.clear();
}

void AccessLogBuffer::write_out(std::string_view bytes) {
    // One write(2) of whole lines. A short write on a regular file means the disk is
    // full; the rest is dropped, as nginx drops it, with an alert.
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 || static_cast<std::size_t>(n) != bytes.size()) {
        if (loop_ != nullptr) {
            loop_->log().write(core::LogLevel::alert, n < 0 ? errno : 0,
                               "write() to \"%s\" was incomplete: %zd of %zu", path_.c_str(), n,
                               bytes.size());
        }
    }
}

void flush_access_logs() {
    for (AccessLogBuffer* buffer : all_buffers()) {
        buffer->flush();
    }
}

// The directives.

namespace conf = core::conf;
using conf::Applier;
using conf::Directive;
using conf::Error;
using conf::Node;
using std::optional;

// access_log path [format [buffer=size] [flush=time] [if=condition]] | off;
optional<Error> set_access_log(Applier&, const Node& node, const Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    loc->access_logs_set = true;
    if (node.args[1] == "off") {
        if (node.arg_count() != 1) {
            return node.error("invalid parameter \"" + node.args[2] + "\"");
        }
        loc->access_log_off = true;
        loc->access_logs.clear();
        return std::nullopt;
    }
    AccessLogConfig log;
    log.path = node.args[1];
    log.where = std::string(node.file) + ":" + std::to_string(node.line);
    log.format = node.arg_count() >= 2 ? node.args[2] : "combined";
    for (std::size_t i = 3; i < node.args.size(); ++i) {
        const std::string& a = node.args[i];
        if (a.starts_with("buffer=")) {
            const auto size = core::conf::parse_size(std::string_view(a).substr(7));
            if (!size || *size == 0) {
                return node.error("invalid buffer size \"" + a.substr(7) + "\"");
            }
            log.buffer_size = *size;
        } else if (a.starts_with("flush=")) {
            const auto ms = core::conf::parse_msec(std::string_view(a).substr(6));
            if (!ms || *ms == 0) {
                return node.error("invalid flush time \"" + a.substr(6) + "\"");
            }
            log.flush = *ms;
        } else if (a.starts_with("if=")) {
            log.condition = a.substr(3);
            std::string error;
            auto text = Text::compile(log.condition, &error);
            if (log.condition.empty()) {
                return node.error("invalid parameter \"" + a + "\"");
            }
            if (!text) {
                return node.error(error);
            }
            log.condition_text = std::move(*text);
        } else if (a == "gzip" || a.starts_with("gzip=")) {
            return node.error("the \"gzip\" parameter is not supported by evserve");
        } else {
            return node.error("invalid parameter \"" + a + "\"");
        }
    }
    if (log.flush != 0 && log.buffer_size == 0) {
        // nginx: flush= without buffer= gets a 64k buffer.
        log.buffer_size = 64 * 1024;
    }
    loc->access_logs.push_back(std::move(log));
    return std::nullopt;
}

// log_format name [escape=default|json|none] string ...;
optional<Error> set_log_format(Applier&, const Node& node, const Directive&, void* p) {
    auto* http = static_cast<HttpConfig*>(p);
    LogFormat f;
    f.name = node.args[1];
    std::size_t i = 2;
    if (node.args[i].starts_with("escape=")) {
        const std::string_view e = std::string_view(node.args[i]).substr(7);
        if (e == "default") {
            f.escape = Escape::log_default;
        } else if (e == "json") {
            f.escape = Escape::log_json;
        } else if (e == "none") {
            f.escape = Escape::none;
        } else {
            return node.error("unknown log format escaping \"" + std::string(e) + "\"");
        }
        ++i;
    }
    if (i >= node.args.size()) {
        return node.error("invalid number of arguments in \"log_format\" directive");
    }
    for (; i < node.args.size(); ++i) {
        f.text += node.args[i];
    }
    for (const LogFormat& other : http->log_formats) {
        if (other.name == f.name) {
            return node.error("duplicate \"log_format\" name \"" + f.name + "\"");
        }
    }
    std::string error;
    if (!Text::compile(f.text, &error)) {
        return node.error(error);
    }
    f.where = std::string(node.file) + ":" + std::to_string(node.line);
    http->log_formats.push_back(std::move(f));
    return std::nullopt;
}

}  // namespace evs::http
