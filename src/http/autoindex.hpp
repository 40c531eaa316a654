#pragma once

// Directory listings: nginx's ngx_http_autoindex_module.
//
// A GET or HEAD for a URI ending in "/" whose directory has no index file is answered
// with a listing of the directory when `autoindex on` (otherwise 403, as before). The
// listing is rendered into the request's arena and sent as a memory body, in one of
// nginx's four formats:
//
//   html   the page nginx writes: names padded to 50 columns, "dd-Mon-yyyy hh:mm",
//          sizes exact (19 columns) or rounded to K/M/G (autoindex_exact_size off),
//          times in GMT or the server's zone (autoindex_localtime on)
//   xml    <list><directory mtime="...">name</directory><file mtime=".." size="..">..
//   json   [{ "name":"..", "type":"directory|file|other", "mtime":"<HTTP date>" ...
//   jsonp  json wrapped in the `callback` argument's function; json without one
//
// Directories come first, then files, each in byte order of their names; names that
// start with "." are left out. Beyond nginx: the XML and JSON outputs stay well-formed
// for any file name (invalid UTF-8 and the control characters XML cannot carry become
// U+FFFD, JSONP escapes U+2028/U+2029), and names are counted in UTF-8 characters when
// they are valid UTF-8, so a long name is never cut inside a character.
//
// The renderers are pure functions over a list of entries, for the unit tests; the
// handler reads the directory. Thread: the worker's loop thread (the renderers: any).

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>
#include <string_view>

namespace evs::core {
class Arena;
}

namespace evs::http {

struct Request;

enum class AutoindexFormat : std::uint8_t { html, xml, json, jsonp };

struct AutoindexEntry {
    enum class Kind : std::uint8_t { directory, file, other };
    std::string_view name;
    std::time_t mtime = 0;
    std::int64_t size = 0;
    Kind kind = Kind::file;
};

struct AutoindexOptions {
    AutoindexFormat format = AutoindexFormat::html;
    bool exact_size = true;
    bool localtime = false;
    std::string_view callback;  // jsonp: the validated `callback` argument, may be empty
};

// The size column of the HTML listing, exactly as nginx writes it: 19 columns for an
// exact size, 7 for a rounded one ("   12K", "    999"), "-" for a directory. Writes
// at most 24 bytes to `out` and returns the length.
std::size_t format_autoindex_size(std::int64_t size, bool exact, bool directory, char* out);

// Sorts `entries` as nginx does: directories first, then by name (bytes).
void sort_autoindex_entries(std::span<AutoindexEntry> entries);

// The listing of `uri` (the decoded request path, ending in "/") for the sorted
// `entries`, in arena memory; nothing (a null data pointer) when the arena is out of
// memory. With jsonp and an empty callback, the JSON format.
std::string_view render_autoindex(core::Arena& arena, std::string_view uri,
                                  std::span<const AutoindexEntry> entries,
                                  const AutoindexOptions& options);

// The `callback` argument of a query string ("a=1&callback=f"), empty when absent.
std::string_view find_callback_argument(std::string_view args);

// A JSONP callback name nginx accepts: at most 128 letters, digits, "_" and ".".
bool valid_callback(std::string_view name);

// The content handler: lists the directory `dir` (root + URI, ending in "/") and
// finalizes the request (200, or 403/404/500 when the directory cannot be read, 400
// for an invalid JSONP callback).
void autoindex_handler(Request* r, const char* dir);

}  // namespace evs::http
