#include "http/headers_filter.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "core/conf_values.hpp"
#include "event/loop.hpp"
#include "http/config.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace evs::http {

namespace conf = core::conf;
using conf::Applier;
using conf::Directive;
using conf::Error;
using conf::Node;
using std::optional;

namespace {

std::string where_of(const Node& node) {
    return std::string(node.file) + ":" + std::to_string(node.line);
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& ch : out) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    return out;
}

// The headers an add_header replaces rather than adds to (nginx's set handlers).
bool replaces_builtin(std::string_view name) {
    return conf::equals_ignore_case(name, "Last-Modified") ||
           conf::equals_ignore_case(name, "ETag");
}

// nginx's safe statuses: add_header without `always`, and expires.
bool safe_status(int status) {
    switch (status) {
        case 200:
        case 201:
        case 204:
        case 206:
        case 301:
        case 302:
        case 303:
        case 304:
        case 307:
        case 308:
            return true;
        default:
            return false;
    }
}

void append_line(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

// add_header name value [always];
optional<Error> set_add_header(Applier&, const Node& node, const Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    if (node.arg_count() == 3 && node.args[3] != "always") {
        return node.error("invalid parameter \"" + node.args[3] + "\"");
    }
    std::string error;
    auto text = Text::compile(node.args[2], &error);
    if (!text) {
        return node.error(error);
    }
    AddHeader h;
    h.name = node.args[1];
    h.value = node.args[2];
    h.text = text->has_variables() ? std::move(*text) : Text{};
    h.always = node.arg_count() == 3;
    h.where = where_of(node);
    loc->headers.add.push_back(std::move(h));
    return std::nullopt;
}

// expires [modified] time | @time | epoch | max | off;
optional<Error> set_expires(Applier&, const Node& node, const Directive&, void* p) {
    HeadersSettings& s = static_cast<LocationConfig*>(p)->headers;
    std::size_t n = 1;
    ExpiresMode mode = ExpiresMode::access;
    if (node.arg_count() == 2) {
        if (node.args[1] != "modified") {
            return conf::invalid_value_error(node);
        }
        mode = ExpiresMode::modified;
        n = 2;
    }
    const std::string& value = node.args[n];
    if (value == "epoch" || value == "max" || value == "off") {
        s.expires = value == "epoch" ? ExpiresMode::epoch
                    : value == "max" ? ExpiresMode::max
                                     : ExpiresMode::off;
        s.expires_time = 0;
        return std::nullopt;
    }
    std::string_view text = value;
    if (text.starts_with('@')) {
        if (mode == ExpiresMode::modified) {
            return node.error("daily time cannot be used with \"modified\" parameter");
        }
        mode = ExpiresMode::daily;
        text.remove_prefix(1);
    }
    bool minus = false;
    if (text.starts_with('+')) {
        text.remove_prefix(1);
    } else if (text.starts_with('-')) {
        minus = true;
        text.remove_prefix(1);
    }
    const auto seconds = conf::parse_sec(text);
    if (!seconds) {
        return conf::invalid_value_error(node);
    }
    if (mode == ExpiresMode::daily && minus) {
        return node.error("daily time cannot be negative");
    }
    if (mode == ExpiresMode::daily && *seconds > 24 * 60 * 60) {
        return node.error("daily time value must be less than 24 hours");
    }
    s.expires = mode;
    s.expires_time = minus ? -*seconds : *seconds;
    return std::nullopt;
}

// charset name | off;   source_charset name;
optional<Error> set_charset(Applier&, const Node& node, const Directive& d, void* p) {
    HeadersSettings& s = static_cast<LocationConfig*>(p)->headers;
    const std::string& name = node.args[1];
    if (name.empty()) {
        return conf::invalid_value_error(node);
    }
    if (d.name == "charset") {
        s.charset = name == "off" ? std::string() : name;
    } else {
        s.source_charset = name;
    }
    if (node.line != 0) {
        s.charset_where = where_of(node);
    }
    return std::nullopt;
}

// charset_types mime-type ... | *;
optional<Error> set_charset_types(Applier&, const Node& node, const Directive&, void* p) {
    HeadersSettings& s = static_cast<LocationConfig*>(p)->headers;
    s.charset_types.clear();
    s.charset_all_types = false;
    for (std::size_t i = 1; i < node.args.size(); ++i) {
        if (node.args[i] == "*") {
            s.charset_all_types = true;
        } else {
            s.charset_types.push_back(lowercase(node.args[i]));
        }
    }
    return std::nullopt;
}

void merge_headers(HeadersSettings& child, const HeadersSettings& parent, const conf::Seen& seen) {
    if (!seen.contains("add_header")) {
        child.add = parent.add;
    }
    if (!seen.contains("expires")) {
        child.expires = parent.expires;
        child.expires_time = parent.expires_time;
    }
    if (!seen.contains("charset")) {
        child.charset = parent.charset;
    }
    if (!seen.contains("source_charset")) {
        child.source_charset = parent.source_charset;
    }
    if (!seen.contains("charset") && !seen.contains("source_charset")) {
        child.charset_where = parent.charset_where;
    }
    if (!seen.contains("charset_types")) {
        child.charset_types = parent.charset_types;
        child.charset_all_types = parent.charset_all_types;
    }
}

bool build_headers_filter(const HeadersSettings& s, const std::vector<std::string>& names,
                          std::shared_ptr<const HeadersFilter>* out, std::string* error) {
    out->reset();
    if (!s.charset.empty() && !s.source_charset.empty() &&
        !conf::equals_ignore_case(s.charset, s.source_charset)) {
        // nginx recodes through a charset_map, and refuses a pair without one.
        *error = "no \"charset_map\" between the charsets \"" + s.source_charset + "\" and \"" +
                 s.charset + "\" (evserve does not recode) in " + s.charset_where;
        return false;
    }
    if (s.add.empty() && s.expires == ExpiresMode::off && s.charset.empty()) {
        return true;
    }
    auto f = std::make_shared<HeadersFilter>();
    f->add = s.add;
    for (const AddHeader& h : s.add) {
        if (auto name = h.text.unknown_capture(names)) {
            *error = "unknown \"" + *name + "\" variable in " + h.where;
            return false;
        }
        if (h.text.has_variables() || replaces_builtin(h.name)) {
            f->add_has_variables = true;
        }
        if (h.value.empty()) {
            continue;  // nginx adds nothing for an empty value
        }
        append_line(f->rendered_safe, h.name, h.value);
        if (h.always) {
            append_line(f->rendered_always, h.name, h.value);
        }
    }
    f->expires = s.expires;
    f->expires_time = s.expires_time;
    if (s.expires == ExpiresMode::epoch) {
        f->expires_fixed = "Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\nCache-Control: no-cache\r\n";
    } else if (s.expires == ExpiresMode::max) {
        f->expires_fixed =
            "Expires: Thu, 31 Dec 2037 23:55:55 GMT\r\nCache-Control: max-age=315360000\r\n";
    }
    f->rendered_safe_expires = f->expires_fixed + f->rendered_safe;
    if (!s.charset.empty()) {
        f->charset_suffix = "; charset=" + s.charset;
        f->charset_types = s.charset_types;
        f->charset_all_types = s.charset_all_types;
        // text/html is always among them (nginx).
        if (std::find(f->charset_types.begin(), f->charset_types.end(), "text/html") ==
            f->charset_types.end()) {
            f->charset_types.emplace_back("text/html");
        }
    }
    *out = std::move(f);
    return true;
}

std::time_t next_time_of_day(std::time_t now, std::int64_t seconds_of_day) {
    tm t{};
    localtime_r(&now, &t);
    t.tm_hour = static_cast<int>(seconds_of_day / 3600);
    t.tm_min = static_cast<int>(seconds_of_day / 60 % 60);
    t.tm_sec = static_cast<int>(seconds_of_day % 60);
    t.tm_isdst = -1;
    std::time_t next = std::mktime(&t);
    if (next == -1 || next > now) {
        return next;
    }
    t.tm_mday++;
    t.tm_isdst = -1;
    return std::mktime(&t);
}

namespace {

// "; charset=..." for a Content-Type of the configured types without a charset.
void apply_charset(Request* r, const HeadersFilter& f) {
    const std::string_view type = r->content_type;
    if (type.empty() || type.find("charset=") != std::string_view::npos) {
        return;
    }
    if (!f.charset_all_types) {
        std::string_view bare = type.substr(0, type.find(';'));
        while (!bare.empty() && bare.back() == ' ') {
            bare.remove_suffix(1);
        }
        const bool listed =
            std::any_of(f.charset_types.begin(), f.charset_types.end(),
                        [&](const std::string& t) { return conf::equals_ignore_case(t, bare); });
        if (!listed) {
            return;
        }
    }
    const std::size_t size = type.size() + f.charset_suffix.size();
    char* out = static_cast<char*>(r->arena->allocate(size, 1));
    if (out == nullptr) {
        return;
    }
    std::memcpy(out, type.data(), type.size());
    std::memcpy(out + type.size(), f.charset_suffix.data(), f.charset_suffix.size());
    r->content_type = std::string_view(out, size);
}

// Expires and Cache-Control for a time relative to now, the mtime or a time of day,
// into `out` (at least 128 bytes); returns the length.
std::size_t render_expires(Request* r, const HeadersFilter& f, char* out) {
    const std::time_t now = r->c->loop->time().seconds();
    std::int64_t expires_at;
    std::int64_t max_age;
    if (f.expires == ExpiresMode::daily) {
        expires_at = next_time_of_day(now, f.expires_time);
        max_age = expires_at - now;
    } else if (f.expires == ExpiresMode::access || r->last_modified < 0) {
        max_age = f.expires_time;
        expires_at = now + f.expires_time;
    } else {
        expires_at = r->last_modified + f.expires_time;
        max_age = expires_at - now;
    }
    char when[64];
    format_http_time(static_cast<std::time_t>(expires_at), when, sizeof(when));
    const int n = f.expires_time < 0 || max_age < 0
                      ? std::snprintf(out, 128, "Expires: %s\r\nCache-Control: no-cache\r\n", when)
                      : std::snprintf(out, 128, "Expires: %s\r\nCache-Control: max-age=%lld\r\n",
                                      when, static_cast<long long>(max_age));
    return n > 0 ? std::min<std::size_t>(static_cast<std::size_t>(n), 127) : 0;
}

std::string_view to_arena(Request* r, const std::string& text) {
    const char* copy = r->arena->copy(text);
    return copy != nullptr ? std::string_view(copy, text.size()) : std::string_view{};
}

}  // namespace

std::string_view run_headers_filter(Request* r, const HeadersFilter& f) {
    if (!f.charset_suffix.empty()) {
        apply_charset(r, f);
    }
    const bool safe = safe_status(r->status);
    const bool dynamic_expires = safe && f.expires != ExpiresMode::off && f.expires_fixed.empty();
    if (!f.add_has_variables && !dynamic_expires) {
        // The common case: everything was rendered when the configuration was read.
        return safe ? f.rendered_safe_expires : f.rendered_always;
    }
    if (!f.add_has_variables) {
        // expires relative to now or the mtime, then the pre-rendered lines: one
        // arena block, no heap.
        char expires[128];
        const std::size_t n = render_expires(r, f, expires);
        const std::size_t size = n + f.rendered_safe.size();
        char* out = static_cast<char*>(r->arena->allocate(size, 1));
        if (out == nullptr) {
            return {};
        }
        std::memcpy(out, expires, n);
        std::memcpy(out + n, f.rendered_safe.data(), f.rendered_safe.size());
        return std::string_view(out, size);
    }
    // Values with variables (or replacing ETag/Last-Modified): walked per response.
    std::string out;
    if (safe && !f.expires_fixed.empty()) {
        out = f.expires_fixed;
    } else if (dynamic_expires) {
        char expires[128];
        out.append(expires, render_expires(r, f, expires));
    }
    std::string value;
    for (const AddHeader& h : f.add) {
        if (!safe && !h.always) {
            continue;
        }
        value.clear();
        if (h.text.has_variables()) {
            h.text.evaluate(r, value);
        } else {
            value = h.value;
        }
        if (conf::equals_ignore_case(h.name, "ETag")) {
            r->etag = value.empty() ? std::string_view{} : to_arena(r, value);
            continue;
        }
        if (conf::equals_ignore_case(h.name, "Last-Modified")) {
            if (value.empty()) {
                r->last_modified = -1;
                r->last_modified_text = {};
            } else {
                r->last_modified_text = to_arena(r, value);
                r->last_modified = parse_http_time(value);
                if (r->last_modified < 0) {
                    r->last_modified = 0;  // rendered from the text, which is set
                }
            }
            continue;
        }
        if (!value.empty()) {
            append_line(out, h.name, value);
        }
    }
    return to_arena(r, out);
}

}  // namespace evs::http
