// The access log: one line per request, in the location's formats, written with one
// write(2) to a file opened with O_APPEND (so lines of several workers never mix).

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "event/loop.hpp"
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
bool append_variable(std::string& out, Request* r, std::string_view name) {
    const RequestHead& head = r->parser.head();
    event::Connection* c = r->c;
    core::TimeCache& time = c->loop->time();
    const std::uint64_t sent = c->sent - r->start_sent;
    auto value_or_dash = [&](std::string_view v) {
        if (v.empty()) {
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
        out += '-';
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
    } else {
        return false;
    }
    return true;
}

bool is_name_char(char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
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
        std::string line;
        line.reserve(256);
        const std::string& f = log.format_text;
        for (std::size_t i = 0; i < f.size();) {
            if (f[i] != '$') {
                line += f[i++];
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
            if (name.empty() || !append_variable(line, r, name)) {
                line.append(f, i, end - i);  // unknown: kept as written
            }
            i = end;
        }
        line += '\n';
        // One write per line: O_APPEND keeps lines of concurrent workers whole.
        if (::write(log.fd, line.data(), line.size()) < 0) {
            r->c->loop->log().write(core::LogLevel::alert, errno, "write() to \"%s\" failed",
                                    log.path.c_str());
        }
    }
}

}  // namespace evs::http
