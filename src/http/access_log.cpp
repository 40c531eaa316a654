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

namespace evs::http {

namespace {

// nginx escapes characters outside printable ASCII, and '"' and '\', as \xHH.
void append_escaped(std::string& out, std::string_view value) {
    static const char* const k_hex = "0123456789ABCDEF";
    for (char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
            out += "\\x";
            out += k_hex[c >> 4];
            out += k_hex[c & 15];
        } else {
            out += ch;
        }
    }
}

bool same_header_name(std::string_view header, std::string_view variable) {
    if (header.size() != variable.size()) {
        return false;
    }
    for (std::size_t i = 0; i < header.size(); ++i) {
        char a = static_cast<char>(std::tolower(static_cast<unsigned char>(header[i])));
        if (a == '-') {
            a = '_';
        }
        if (a != variable[i]) {
            return false;
        }
    }
    return true;
}

void append_number(std::string& out, long long value) {
    char buf[24];
    const int n = std::snprintf(buf, sizeof(buf), "%lld", value);
    out.append(buf, static_cast<std::size_t>(n));
}

// Appends the value of $name; false when the variable is unknown.
// `raw`: the value as it is, for if= (an empty value stays empty, nothing escaped).
bool append_variable(std::string& out, Request* r, std::string_view name, bool raw = false) {
    const RequestHead& head = r->parser.head();
    event::Connection* c = r->c;
    core::TimeCache& time = c->loop->time();
    const std::uint64_t sent = c->sent - r->start_sent;
    auto value_or_dash = [&](std::string_view v) {
        if (raw) {
            out += v;
        } else if (v.empty()) {
            out += '-';
        } else {
            append_escaped(out, v);
        }
    };
    if (name == "remote_addr") {
        os::SocketAddress a;
        std::memcpy(&a.storage, &c->peer.addr, sizeof(c->peer.addr));
        a.length = c->peer.length;
        out += a.family() == AF_UNIX ? "unix:" : a.to_string(false);
    } else if (name == "remote_user") {
        if (!raw) {
            out += '-';
        }
    } else if (name == "time_local") {
        out += time.access_log_time();
    } else if (name == "time_iso8601") {
        out += time.iso8601();
    } else if (name == "msec") {
        char buf[32];
        const int n = std::snprintf(buf, sizeof(buf), "%llu.%03llu",
                                    static_cast<unsigned long long>(time.wall_msec() / 1000),
                                    static_cast<unsigned long long>(time.wall_msec() % 1000));
        out.append(buf, static_cast<std::size_t>(n));
    } else if (name == "request") {
        value_or_dash(head.request_line);
    } else if (name == "request_method") {
        value_or_dash(head.method_name);
    } else if (name == "request_uri") {
        value_or_dash(head.unparsed_uri);
    } else if (name == "uri") {
        value_or_dash(r->uri);
    } else if (name == "args" || name == "query_string") {
        value_or_dash(head.args);
    } else if (name == "status") {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "%03d", r->status);
        out += buf;
    } else if (name == "body_bytes_sent") {
        append_number(out, static_cast<long long>(sent > r->head_len ? sent - r->head_len : 0));
    } else if (name == "bytes_sent") {
        append_number(out, static_cast<long long>(sent));
    } else if (name == "request_length") {
        append_number(out, static_cast<long long>(r->request_length));
    } else if (name == "request_time") {
        const core::Msec ms = time.msec() - r->start_msec;
        char buf[32];
        const int n = std::snprintf(buf, sizeof(buf), "%llu.%03llu",
                                    static_cast<unsigned long long>(ms / 1000),
                                    static_cast<unsigned long long>(ms % 1000));
        out.append(buf, static_cast<std::size_t>(n));
    } else if (name == "host") {
        if (!head.host.empty()) {
            out += head.host;
        } else if (r->server != nullptr && !r->server->names.empty()) {
            out += r->server->names.front();
        }
    } else if (name == "server_name") {
        if (r->server != nullptr && !r->server->names.empty()) {
            out += r->server->names.front();
        }
    } else if (name == "server_port") {
        append_number(out, r->hc->address->local.port());
    } else if (name == "pid") {
        append_number(out, static_cast<long long>(::getpid()));
    } else if (name == "connection") {
        append_number(out, static_cast<long long>(c->number));
    } else if (name == "connection_requests") {
        append_number(out, static_cast<long long>(c->requests));
    } else if (name.starts_with("connections_")) {
        // The stub_status module's variables: the server-wide gauges at logging
        // time, when this request still counts as writing.
        const event::ConnectionStats& stats = c->loop->server_stats();
        const std::string_view which = name.substr(12);
        const std::atomic<std::int64_t>* gauge = which == "active"    ? &stats.active
                                                 : which == "reading" ? &stats.reading
                                                 : which == "writing" ? &stats.writing
                                                 : which == "waiting" ? &stats.waiting
                                                                      : nullptr;
        if (gauge == nullptr) {
            return false;
        }
        append_number(out, static_cast<long long>(gauge->load(std::memory_order_relaxed)));
    } else if (name.starts_with("http_")) {
        const std::string_view wanted = name.substr(5);
        std::string_view found;
        for (const Header& h : head.headers) {
            if (same_header_name(h.name, wanted)) {
                found = h.value;
                break;
            }
        }
        value_or_dash(found);
    } else if (name.starts_with("arg_")) {
        // $arg_NAME: the first NAME=value of the arguments, as received (nginx's
        // name comparison is case-insensitive).
        const std::string_view wanted = name.substr(4);
        std::string_view args = head.args;
        std::string_view found;
        while (!args.empty()) {
            const std::size_t amp = args.find('&');
            const std::string_view pair = args.substr(0, amp);
            const std::size_t eq = pair.find('=');
            const std::string_view key = pair.substr(0, eq);
            if (key.size() == wanted.size() &&
                std::equal(key.begin(), key.end(), wanted.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) ==
                           std::tolower(static_cast<unsigned char>(b));
                })) {
                found = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
                break;
            }
            args = amp == std::string_view::npos ? std::string_view{} : args.substr(amp + 1);
        }
        value_or_dash(found);
    } else {
        return false;
    }
    return true;
}

bool is_name_char(char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
}

// Appends `text` with its variables replaced ($name or ${name}); an unknown variable
// is kept as written.
void expand(std::string& out, Request* r, const std::string& f, bool raw) {
    for (std::size_t i = 0; i < f.size();) {
        if (f[i] != '$') {
            out += f[i++];
            continue;
        }
        std::size_t end = i + 1;
        const bool braced = end < f.size() && f[end] == '{';
        if (braced) {
            ++end;
        }
        const std::size_t name_start = end;
        while (end < f.size() && is_name_char(f[end])) {
            ++end;
        }
        const std::string_view name(f.data() + name_start, end - name_start);
        if (braced && end < f.size() && f[end] == '}') {
            ++end;
        }
        if (name.empty() || !append_variable(out, r, name, raw)) {
            out.append(f, i, end - i);  // unknown: kept as written
        }
        i = end;
    }
}

}  // namespace

void log_request(Request* r) {
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
            expand(value, r, log.condition, true);
            if (value.empty() || value == "0") {
                continue;
            }
        }
        std::string line;
        line.reserve(256);
        expand(line, r, log.format_text, false);
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

}  // namespace evs::http
