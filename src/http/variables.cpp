// Variables: each name maps to a getter that finds the value in the request, the
// connection or the server. Getters return a view into memory that outlives the
// evaluation (the request's buffers and arena, the configuration) or format into the
// caller's scratch buffer (numbers, times).

#include "http/variables.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <span>

#include "event/loop.hpp"
#include "http/config.hpp"
#include "http/http_connection.hpp"
#include "http/request.hpp"
#include "os/address.hpp"
#include "version.hpp"

namespace evs::http {

namespace {

using Part = Text::Part;
constexpr std::size_t k_scratch = 64;

bool view(std::string_view v, std::string_view* value) {
    *value = v;
    return !v.empty();
}

bool number(std::uint64_t n, char* scratch, std::string_view* value) {
    const int len = std::snprintf(scratch, k_scratch, "%llu", static_cast<unsigned long long>(n));
    *value = std::string_view(scratch, static_cast<std::size_t>(len));
    return true;
}

bool seconds_msec(core::Msec ms, char* scratch, std::string_view* value) {
    const int len =
        std::snprintf(scratch, k_scratch, "%llu.%03llu", static_cast<unsigned long long>(ms / 1000),
                      static_cast<unsigned long long>(ms % 1000));
    *value = std::string_view(scratch, static_cast<std::size_t>(len));
    return true;
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

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

os::SocketAddress peer_address(Request* r) {
    os::SocketAddress a;
    std::memcpy(&a.storage, &r->c->peer.addr, sizeof(r->c->peer.addr));
    a.length = r->c->peer.length;
    return a;
}

std::string_view server_name(Request* r) {
    if (r->server != nullptr && !r->server->names.empty()) {
        return r->server->names.front();
    }
    return {};
}

// A copy in the request's arena ("" when it is out of memory).
std::string_view in_arena(Request* r, const std::string& text) {
    const char* p = r->arena->copy(text);
    return p == nullptr ? std::string_view{} : std::string_view(p, text.size());
}

const RequestHead& head(Request* r) {
    return r->parser.head();
}

// The fixed variables, by name.
struct Fixed {
    std::string_view name;
    std::string_view doc;
    Part::Getter get;
};

const Fixed k_fixed[] = {
    {"remote_addr", "The client's address (`unix:` for a UNIX-domain client).",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         // Formatted into the scratch buffer (INET6_ADDRSTRLEN fits): no malloc.
         const auto* sa = reinterpret_cast<const sockaddr*>(&r->c->peer.addr);
         const void* bytes = nullptr;
         if (sa->sa_family == AF_INET) {
             bytes = &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr;
         } else if (sa->sa_family == AF_INET6) {
             bytes = &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
         } else {
             return view("unix:", v);
         }
         if (::inet_ntop(sa->sa_family, bytes, s, k_scratch) == nullptr) {
             return view({}, v);
         }
         return view(std::string_view(s), v);
     }},
    {"remote_port", "The client's port.",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         const os::SocketAddress a = peer_address(r);
         return a.family() == AF_UNIX ? view({}, v) : number(a.port(), s, v);
     }},
    {"remote_user", "The user of basic authentication: never set (no auth module), logged as `-`.",
     [](Request*, const Part&, char*, std::string_view* v) { return view({}, v); }},
    {"server_port", "The port of the listening socket that accepted the connection.",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         return number(r->hc->address->local.port(), s, v);
     }},
    {"server_name", "The first `server_name` of the virtual server.",
     [](Request* r, const Part&, char*, std::string_view* v) { return view(server_name(r), v); }},
    {"server_protocol", "The request's protocol: `HTTP/1.0` or `HTTP/1.1`.",
     [](Request* r, const Part&, char*, std::string_view* v) { return view(head(r).protocol, v); }},
    {"scheme", "`http`.",
     [](Request*, const Part&, char*, std::string_view* v) { return view("http", v); }},
    {"host", "The Host header (lowercased), else the first `server_name`.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         return view(!head(r).host.empty() ? head(r).host : server_name(r), v);
     }},
    {"hostname", "The machine's host name.",
     [](Request*, const Part&, char*, std::string_view* v) {
         static const std::string name = [] {
             char buf[256] = {};
             ::gethostname(buf, sizeof(buf) - 1);
             return std::string(buf);
         }();
         return view(name, v);
     }},
    {"request", "The request line as received.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         if (!head(r).request_line.empty() || r->buf == nullptr) {
             return view(head(r).request_line, v);
         }
         // A request that failed or broke off within its line: what came of it, up
         // to the end of the line (nginx logs "\x16\x03..." for a TLS hello, too).
         const std::size_t start = std::min(r->parser.request_start(), r->len);
         std::string_view line(r->buf + start, r->len - start);
         line = line.substr(0, line.find_first_of("\r\n"));
         return view(line, v);
     }},
    {"request_method", "The method.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         return view(head(r).method_name, v);
     }},
    {"request_uri", "The URI as received, with its arguments.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         return view(head(r).unparsed_uri, v);
     }},
    {"uri", "The normalised path (decoded, dot segments resolved), changed by internal redirects.",
     [](Request* r, const Part&, char*, std::string_view* v) { return view(r->uri, v); }},
    {"document_uri", "Same as `$uri`.",
     [](Request* r, const Part&, char*, std::string_view* v) { return view(r->uri, v); }},
    {"args", "The arguments (after `?`); an internal redirect to a URI with its own replaces them.",
     [](Request* r, const Part&, char*, std::string_view* v) { return view(r->args, v); }},
    {"query_string", "Same as `$args`.",
     [](Request* r, const Part&, char*, std::string_view* v) { return view(r->args, v); }},
    {"is_args", "`?` when there are arguments, else empty.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         *v = r->args.empty() ? "" : "?";
         return true;
     }},
    {"content_length", "The Content-Length request header.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         return view(head(r).value(KnownHeader::content_length), v);
     }},
    {"content_type", "The Content-Type request header.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         return view(head(r).value(KnownHeader::content_type), v);
     }},
    {"status", "The response status, three digits.",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         const int len = std::snprintf(s, k_scratch, "%03d", r->status);
         *v = std::string_view(s, static_cast<std::size_t>(len));
         return true;
     }},
    {"body_bytes_sent", "Bytes of the response body sent so far.",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         const std::uint64_t sent = r->c->sent - r->start_sent;
         return number(sent > r->head_len ? sent - r->head_len : 0, s, v);
     }},
    {"bytes_sent", "Bytes sent to the client for this response, head included.",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         return number(r->c->sent - r->start_sent, s, v);
     }},
    {"request_length", "Bytes of the request: line, headers and body.",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         return number(r->request_length, s, v);
     }},
    {"request_time", "Seconds since the request's first byte, with milliseconds.",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         return seconds_msec(r->c->loop->time().msec() - r->start_msec, s, v);
     }},
    {"msec", "The current time in seconds, with milliseconds.",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         return seconds_msec(r->c->loop->time().wall_msec(), s, v);
     }},
    {"time_local", "The local time in the Common Log Format.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         return view(r->c->loop->time().access_log_time(), v);
     }},
    {"time_iso8601", "The local time in ISO 8601.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         return view(r->c->loop->time().iso8601(), v);
     }},
    {"pid", "The worker's process id.",
     [](Request*, const Part&, char* s, std::string_view* v) {
         return number(static_cast<std::uint64_t>(::getpid()), s, v);
     }},
    {"connection", "The connection's serial number.",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         return number(r->c->number, s, v);
     }},
    {"connection_requests", "How many requests this connection has made so far.",
     [](Request* r, const Part&, char* s, std::string_view* v) {
         return number(r->c->requests, s, v);
     }},
    {"nginx_version", "evserve's version (for configurations written for nginx).",
     [](Request*, const Part&, char*, std::string_view* v) { return view(version(), v); }},
    {"evserve_version", "evserve's version.",
     [](Request*, const Part&, char*, std::string_view* v) { return view(version(), v); }},
    {"document_root", "The `root` or `alias` of the request's location, variables evaluated.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         if (r->loc == nullptr) {
             return view({}, v);
         }
         if (!r->loc->root_text.has_variables()) {
             return view(r->loc->root, v);
         }
         // Evaluated into the arena: the view must outlive this call.
         std::string root;
         r->loc->root_text.evaluate(r, root);
         return view(in_arena(r, root), v);
     }},
    {"request_filename",
     "The file the URI maps to: root + URI, or the alias + what follows the location's prefix.",
     [](Request* r, const Part&, char*, std::string_view* v) {
         if (r->loc == nullptr) {
             return view({}, v);
         }
         return view(in_arena(r, map_uri_to_path(r, r->uri)), v);
     }},
};

// $connections_active..: the stub_status gauges, server-wide, at evaluation time.
template <std::atomic<std::int64_t> event::ConnectionStats::*Gauge>
bool gauge(Request* r, const Part&, char* s, std::string_view* v) {
    const std::int64_t n = (r->c->loop->server_stats().*Gauge).load(std::memory_order_relaxed);
    return number(static_cast<std::uint64_t>(std::max<std::int64_t>(n, 0)), s, v);
}

const Fixed k_gauges[] = {
    {"connections_active", "stub_status's active connections, server-wide.",
     gauge<&event::ConnectionStats::active>},
    {"connections_reading", "Connections reading a request head, server-wide.",
     gauge<&event::ConnectionStats::reading>},
    {"connections_writing", "Connections writing a response, server-wide.",
     gauge<&event::ConnectionStats::writing>},
    {"connections_waiting", "Idle keepalive connections, server-wide.",
     gauge<&event::ConnectionStats::waiting>},
};

bool http_header(Request* r, const Part& p, char*, std::string_view* v) {
    for (const Header& h : head(r).headers) {
        if (same_header_name(h.name, p.arg)) {
            return view(h.value, v);
        }
    }
    return view({}, v);
}

// $arg_NAME: the first NAME=value of the arguments, as received (the name compared
// without case, as nginx does).
bool query_arg(Request* r, const Part& p, char*, std::string_view* v) {
    std::string_view args = r->args;
    while (!args.empty()) {
        const std::size_t amp = args.find('&');
        const std::string_view pair = args.substr(0, amp);
        const std::size_t eq = pair.find('=');
        if (iequal(pair.substr(0, eq), p.arg)) {
            return view(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), v);
        }
        args = amp == std::string_view::npos ? std::string_view{} : args.substr(amp + 1);
    }
    return view({}, v);
}

// $cookie_NAME: from the Cookie headers ("a=1; b=2"), the name compared exactly.
bool cookie(Request* r, const Part& p, char*, std::string_view* v) {
    for (const Header& h : head(r).headers) {
        if (!iequal(h.name, "cookie")) {
            continue;
        }
        std::string_view rest = h.value;
        while (!rest.empty()) {
            const std::size_t semi = rest.find(';');
            std::string_view pair = rest.substr(0, semi);
            while (!pair.empty() && pair.front() == ' ') {
                pair.remove_prefix(1);
            }
            const std::size_t eq = pair.find('=');
            if (eq != std::string_view::npos && pair.substr(0, eq) == p.arg) {
                return view(pair.substr(eq + 1), v);
            }
            rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
        }
    }
    return view({}, v);
}

// $1..$9: the groups of the last regex with groups (location, else server name).
bool capture(Request* r, const Part& p, char*, std::string_view* v) {
    return view(r->captures.group(p.index), v);
}

// $name: a named group, from the location's regex, else the server name's.
bool named_capture(Request* r, const Part& p, char*, std::string_view* v) {
    std::string_view found = r->captures.named(p.arg);
    if (found.empty()) {
        found = r->host_captures.named(p.arg);
    }
    return view(found, v);
}

struct Prefixed {
    std::string_view prefix;
    std::string_view doc;
    Part::Getter get;
};

const Prefixed k_prefixed[] = {
    {"http_", "A request header: `$http_user_agent` is User-Agent (lowercase, `-` as `_`).",
     http_header},
    {"arg_", "An argument: `$arg_page` is the value of the first `page=` (name without case).",
     query_arg},
    {"cookie_", "A cookie: `$cookie_sid` is the value of `sid` in the Cookie headers.", cookie},
};

bool is_name_char(char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
}

// Binds `name` to its getter; false when it is no variable evserve knows (a possible
// named capture).
bool bind(std::string_view name, Part* part) {
    for (const Fixed& f : k_fixed) {
        if (f.name == name) {
            part->get = f.get;
            return true;
        }
    }
    for (const Fixed& f : k_gauges) {
        if (f.name == name) {
            part->get = f.get;
            return true;
        }
    }
    for (const Prefixed& p : k_prefixed) {
        if (name.size() > p.prefix.size() && name.starts_with(p.prefix)) {
            part->get = p.get;
            part->arg = std::string(name.substr(p.prefix.size()));
            if (p.get == http_header) {
                std::transform(part->arg.begin(), part->arg.end(), part->arg.begin(),
                               [](char c) { return c == '-' ? '_' : c; });
            }
            return true;
        }
    }
    if (name.size() == 1 && name[0] >= '0' && name[0] <= '9') {
        part->get = capture;
        part->index = static_cast<std::uint32_t>(name[0] - '0');
        return true;
    }
    return false;
}

void append_escaped(std::string& out, std::string_view value, Escape escape) {
    static const char* const k_hex = "0123456789ABCDEF";
    if (escape == Escape::none) {
        out += value;
        return;
    }
    for (char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (escape == Escape::log_default) {
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                out += "\\x";
                out += k_hex[c >> 4];
                out += k_hex[c & 15];
            } else {
                out += ch;
            }
            continue;
        }
        // JSON: quote and backslash escaped, control characters as \n, \t... or
        // \u00XX; bytes >= 0x80 (UTF-8) as they are.
        switch (ch) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += k_hex[c >> 4];
                    out += k_hex[c & 15];
                } else {
                    out += ch;
                }
        }
    }
}

}  // namespace

std::optional<Text> Text::compile(std::string_view text, std::string* error) {
    Text t;
    t.source_ = std::string(text);
    std::string literal;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '$') {
            literal += text[i++];
            continue;
        }
        std::size_t end = i + 1;
        const bool braced = end < text.size() && text[end] == '{';
        if (braced) {
            ++end;
        }
        const std::size_t start = end;
        // $1 is one digit: "$10" is $1 followed by "0", as in nginx.
        if (!braced && end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) {
            ++end;
        } else {
            while (end < text.size() && is_name_char(text[end])) {
                ++end;
            }
        }
        const std::string_view name = text.substr(start, end - start);
        if (braced) {
            if (end >= text.size() || text[end] != '}') {
                *error = "the closing bracket in \"" + std::string(name) + "\" variable is missing";
                return std::nullopt;
            }
            ++end;
        }
        if (name.empty()) {
            *error = "invalid variable name in \"" + std::string(text) + "\"";
            return std::nullopt;
        }
        if (!literal.empty()) {
            Part p;
            p.literal = std::move(literal);
            literal.clear();
            t.parts_.push_back(std::move(p));
        }
        Part p;
        if (!bind(name, &p)) {
            p.get = named_capture;
            p.arg = std::string(name);
        }
        t.parts_.push_back(std::move(p));
        ++t.variables_;
        i = end;
    }
    if (!literal.empty()) {
        Part p;
        p.literal = std::move(literal);
        t.parts_.push_back(std::move(p));
    }
    return t;
}

std::string_view Text::literal_prefix() const {
    if (parts_.empty() || parts_.front().get != nullptr) {
        return {};
    }
    return parts_.front().literal;
}

void Text::evaluate(Request* r, std::string& out, Escape escape) const {
    char scratch[k_scratch];
    for (const Part& p : parts_) {
        if (p.get == nullptr) {
            out += p.literal;
            continue;
        }
        std::string_view value;
        if (!p.get(r, p, scratch, &value) && escape == Escape::log_default) {
            out += '-';  // not found (an empty value that exists stays empty)
            continue;
        }
        append_escaped(out, value, escape);
    }
}

std::optional<std::string> Text::unknown_capture(const std::vector<std::string>& names) const {
    for (const Part& p : parts_) {
        if (p.get == named_capture && std::find(names.begin(), names.end(), p.arg) == names.end()) {
            return p.arg;
        }
    }
    return std::nullopt;
}

std::string map_uri_to_path(Request* r, std::string_view uri) {
    const LocationConfig& loc = *r->loc;
    std::string path;
    if (loc.root_text.has_variables()) {
        loc.root_text.evaluate(r, path);
    } else {
        path = loc.root;
    }
    if (loc.alias_whole) {
        return path;
    }
    if (loc.alias && uri.starts_with(loc.alias_prefix)) {
        uri.remove_prefix(loc.alias_prefix.size());
    }
    path.append(uri);
    return path;
}

std::string variables_markdown() {
    std::string out =
        "\n## Variables\n\n"
        "Usable in `root`, `alias`, `return`, `log_format` and `access_log if=`; an unknown "
        "name is a configuration error. A variable with no value is empty (`-` in an access "
        "log line, nothing with `escape=json`).\n\n"
        "| variable | value |\n|---|---|\n";
    for (std::span<const Fixed> table :
         {std::span<const Fixed>(k_fixed), std::span<const Fixed>(k_gauges)}) {
        for (const Fixed& f : table) {
            out.append("| `$").append(f.name).append("` | ").append(f.doc).append(" |\n");
        }
    }
    for (const Prefixed& p : k_prefixed) {
        out.append("| `$").append(p.prefix).append("NAME` | ").append(p.doc).append(" |\n");
    }
    out +=
        "| `$1`..`$9` | The groups of the last regular expression with groups that matched "
        "(the location's, else the server name's). |\n"
        "| `$NAME` | A named group `(?<NAME>...)` of a location's or server name's regular "
        "expression. |\n";
    return out;
}

bool is_known_variable(std::string_view name) {
    Part p;
    return bind(name, &p);
}

}  // namespace evs::http
