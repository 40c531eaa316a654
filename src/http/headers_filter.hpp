#pragma once

// The response header filters of nginx's headers and charset modules:
//
//   add_header name value [always];           (http, server, location; repeatable)
//   expires [modified] time | @time | epoch | max | off;
//   charset name | off;   source_charset name;   charset_types mime-type ... | *;
//
// add_header and expires act on the statuses nginx calls safe (200, 201, 204, 206,
// 301, 302, 303, 304, 307, 308); `always` adds a header whatever the status. A value
// that is empty (or evaluates to "") adds nothing. A block with any add_header drops
// the whole list of the enclosing block (nginx's rule); the other directives inherit
// one by one. An add_header of Last-Modified or ETag replaces the response's own
// header (an empty value removes it), as nginx's does.
//
// charset appends "; charset=name" to a Content-Type whose MIME type is in
// charset_types (text/html always is; "*" matches every type) and that names no
// charset yet. evserve does not recode bodies, so a source_charset that differs from
// charset is a configuration error - nginx refuses the same pair without a
// charset_map between them, and evserve has no charset_map.
//
// The per-request cost is the point of the split between HeadersSettings (what the
// directives say, merged across levels) and HeadersFilter (built once per location
// when the configuration is finished): a location with none of these directives has
// no filter at all (one null test per response), literal add_header lines are
// rendered into one string at configuration time, and only values with variables
// and expires times relative to "now" are rendered per response.
//
// Ownership: LocationConfig owns its settings and shares its filter with nothing
// mutable; read-only once the configuration is applied. Thread: configuration
// thread to build, the worker's loop thread to run.

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/conf_applier.hpp"
#include "http/variables.hpp"

namespace evs::http {

struct Request;

enum class ExpiresMode : std::uint8_t {
    off,
    epoch,     // Expires: Thu, 01 Jan 1970 00:00:01 GMT, Cache-Control: no-cache
    max,       // Expires: Thu, 31 Dec 2037 23:55:55 GMT, Cache-Control: max-age=315360000
    access,    // now + time
    modified,  // the file's mtime + time (now + time when the response has none)
    daily,     // @time: the next time of day
};

struct AddHeader {
    std::string name;
    std::string value;  // as written
    Text text;          // compiled, when the value has variables
    bool always = false;
    std::string where;  // "file:line"
};

// What the directives of one block say, after inheritance.
struct HeadersSettings {
    std::vector<AddHeader> add;
    ExpiresMode expires = ExpiresMode::off;
    std::int64_t expires_time = 0;  // seconds; for daily, since midnight
    std::string charset;            // "" for off
    std::string source_charset;
    std::string charset_where;  // "file:line" of charset or source_charset
    std::vector<std::string> charset_types;
    bool charset_all_types = false;  // charset_types *
};

// A location's filter, compiled from its settings; null when it would do nothing.
struct HeadersFilter {
    std::vector<AddHeader> add;
    bool add_has_variables = false;  // or replaces Last-Modified/ETag: walk `add`
    // Without variables: every add_header line, and the `always` ones, rendered.
    std::string rendered_safe;
    std::string rendered_always;
    ExpiresMode expires = ExpiresMode::off;
    std::int64_t expires_time = 0;
    std::string expires_fixed;          // epoch and max: the two lines, rendered
    std::string rendered_safe_expires;  // expires_fixed + rendered_safe
    std::string charset_suffix;         // "; charset=utf-8", empty when charset is off
    std::vector<std::string> charset_types;
    bool charset_all_types = false;
};

// The setters of add_header, expires, charset, source_charset and charset_types
// (referenced from the location table in config.cpp; the conf is a LocationConfig).
std::optional<core::conf::Error> set_add_header(core::conf::Applier&, const core::conf::Node&,
                                                const core::conf::Directive&, void* conf);
std::optional<core::conf::Error> set_expires(core::conf::Applier&, const core::conf::Node&,
                                             const core::conf::Directive&, void* conf);
std::optional<core::conf::Error> set_charset(core::conf::Applier&, const core::conf::Node&,
                                             const core::conf::Directive&, void* conf);
std::optional<core::conf::Error> set_charset_types(core::conf::Applier&, const core::conf::Node&,
                                                   const core::conf::Directive&, void* conf);

// nginx's merge: what `seen` (the child block's directives) does not set comes from
// the parent; any add_header in the child replaces the parent's whole list.
void merge_headers(HeadersSettings& child, const HeadersSettings& parent,
                   const core::conf::Seen& seen);

// Builds the location's filter; null when nothing is configured. False with a message
// naming file:line for a setting that cannot work (source_charset without recoding),
// or a variable no regex defines (`names`: every capture name).
bool build_headers_filter(const HeadersSettings& settings, const std::vector<std::string>& names,
                          std::shared_ptr<const HeadersFilter>* out, std::string* error);

// Runs the filter on the response of `r` before its head is rendered: may change
// r->content_type (charset), r->etag and r->last_modified_text / r->last_modified
// (add_header of those), and returns the lines (each ending in CRLF) that go after
// ETag, in nginx's order: Expires, Cache-Control, then the add_header lines.
std::string_view run_headers_filter(Request* r, const HeadersFilter& filter);

// The next `seconds_of_day` (local time) after `now` (nginx's ngx_next_time).
std::time_t next_time_of_day(std::time_t now, std::int64_t seconds_of_day);

}  // namespace evs::http
