#pragma once

// The HTTP configuration, in nginx's three levels: settings given in `http` are
// inherited by every `server`, and a server's by its `location`s (and a location's
// by the locations nested in it), unless the inner block sets its own.
//
// LocationConfig holds everything that may differ per location; ServerConfig what
// is per virtual server (listen, server_name, header buffers); HttpConfig what
// exists once (log formats, the servers). Directives with list values (index,
// access_log) inherit as a whole: an inner block that names any replaces the outer
// list, as in nginx.
//
// Ownership: the HttpConfig owns every server and location. Read-only once the
// configuration is applied; workers read it after fork().

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/conf_applier.hpp"
#include "core/time_cache.hpp"
#include "event/listening.hpp"
#include "http/access_rules.hpp"
#include "http/autoindex.hpp"
#include "http/headers_filter.hpp"
#include "http/open_file.hpp"
#include "http/open_file_cache.hpp"
#include "http/regex.hpp"
#include "http/status_page.hpp"
#include "http/variables.hpp"
#include "os/address.hpp"

namespace evs::http {

struct ServerConfig;

using MimeTypes = std::map<std::string, std::string, std::less<>>;  // extension -> type

struct AccessLogBuffer;  // http/access_log.hpp
struct TryFiles;         // http/try_files.hpp
struct ErrorPages;       // http/error_pages.hpp

struct AccessLogConfig {
    std::string path;                     // resolved; empty for off
    std::string format;                   // a log_format name
    Text format_text;                     // the format itself, resolved after the http block
    Escape escape = Escape::log_default;  // the format's escape=
    std::string where;                    // "file:line", for errors found after the block
    std::size_t buffer_size = 0;          // buffer=: 0 writes each line at once
    core::Msec flush = 0;                 // flush=: 0 keeps lines until the buffer is full
    std::string condition;                // if=: a text with variables; "" or "0" skips the line
    Text condition_text;
    int fd = -1;  // opened by the server layer
    // One per file and process, shared by the access_log directives naming the file;
    // made by the server layer when it opens the file (open_access_logs).
    std::shared_ptr<AccessLogBuffer> buffer;
};

enum class IfModifiedSince : std::uint8_t { off, exact, before };
// aio: how file parts are read when they are not sent with sendfile (issue #6).
enum class AioMode : std::uint8_t { off, native, threads, io_uring };
enum class LingeringClose : std::uint8_t { off, on, always };

struct LocationConfig {
    enum class Match : std::uint8_t {
        prefix,
        exact,
        prefix_no_regex,
        regex,
        regex_caseless,
        named
    };

    // Where it sits.
    Match match = Match::prefix;
    std::string pattern;           // "/images/", "=/", "~\\.php$" without the modifier
    std::unique_ptr<Regex> regex;  // for ~ and ~*, compiled when the block is read
    std::vector<std::unique_ptr<LocationConfig>> locations;  // nested
    ServerConfig* server = nullptr;

    // What it serves.
    std::string root = "html";
    bool alias = false;  // root holds an alias path
    // root/alias compiled when it has variables ("/srv/$host", "/data/$1"); the
    // request evaluates it instead of using `root`.
    Text root_text;
    // For an alias: the URI prefix it replaces, the pattern of the location that set
    // it (nested locations inherit both, as in nginx); in a regex location the alias
    // replaces the whole URI.
    std::string alias_prefix;
    bool alias_whole = false;
    std::string root_where;  // "file:line" of root/alias, for errors found later
    std::vector<std::string> index;
    bool index_set = false;
    std::string default_type = "text/plain";
    std::shared_ptr<MimeTypes> types;
    int return_code = 0;  // `return`: 0 when absent
    std::string return_text;
    Text return_value;  // return_text compiled, when it has variables
    bool autoindex = false;
    bool autoindex_exact_size = true;
    AutoindexFormat autoindex_format = AutoindexFormat::html;
    bool autoindex_localtime = false;
    bool stub_status = false;  // not inherited: nginx's content handler is per block
    StatusFormat status_format = StatusFormat::nginx;

    // try_files (try_files.hpp): null when the block has none. Not inherited: a
    // server's try_files serves only requests no location matches, as in nginx.
    std::shared_ptr<const TryFiles> try_files;
    bool internal = false;  // `internal`: 404 for requests that were not redirected here

    // error_page (error_pages.hpp): null when none applies; a block with any replaces
    // the enclosing block's list.
    std::shared_ptr<const ErrorPages> error_pages;
    bool recursive_error_pages = false;

    // Who may ask (allow/deny, in order); inherited whole when a block has none.
    std::vector<AccessRule> access_rules;

    // How it is sent.
    bool sendfile = false;
    std::uint64_t sendfile_max_chunk = 2 * 1024 * 1024;
    bool tcp_nopush = false;
    bool tcp_nodelay = true;
    std::uint64_t postpone_output = 1460;
    core::Msec send_timeout = 60000;
    std::uint64_t limit_rate = 0;  // bytes per second, 0: unlimited (limit_rate.hpp)
    std::uint64_t limit_rate_after = 0;

    // Reading files (http/file_read.hpp): aio, directio (-1: off; files of at least
    // this size are opened O_DIRECT), directio_alignment, output_buffers.
    AioMode aio = AioMode::off;
    std::string aio_thread_pool;  // aio threads[=pool]; "default" for io_uring's fallback
    std::string aio_source;       // "file:line" of that aio directive, for its errors
    std::int64_t directio = -1;
    std::uint64_t directio_alignment = 512;
    std::uint32_t output_buffers_number = 2;
    std::uint64_t output_buffers_size = 32768;

    // open_file_cache (see open_file_cache.hpp): null when off. The cache belongs to
    // the directive, shared by the blocks that inherit it, as in nginx.
    std::shared_ptr<const OpenFileCacheConfig> open_file_cache;
    core::Msec open_file_cache_valid = 60000;
    std::uint32_t open_file_cache_min_uses = 1;
    bool open_file_cache_errors = false;
    bool open_file_cache_events = true;
    std::uint64_t open_file_cache_body = 16384;
    SymlinkSettings disable_symlinks;  // open_file.hpp

    // Keepalive and closing.
    core::Msec keepalive_timeout = 75000;
    std::int64_t keepalive_header = -1;  // second argument of keepalive_timeout
    std::uint64_t keepalive_requests = 1000;
    core::Msec keepalive_time = 3600000;
    LingeringClose lingering_close = LingeringClose::on;
    core::Msec lingering_time = 30000;
    core::Msec lingering_timeout = 5000;
    bool reset_timedout_connection = false;

    // Request bodies.
    core::Msec client_body_timeout = 60000;
    std::int64_t client_max_body_size = 1024 * 1024;

    // Responses.
    bool server_tokens = true;
    bool etag = true;
    IfModifiedSince if_modified_since = IfModifiedSince::exact;
    std::uint64_t max_ranges = UINT64_MAX;
    bool log_not_found = true;
    // add_header, expires, charset (headers_filter.hpp): the settings, and the filter
    // built from them when the configuration is finished (null: nothing to do).
    HeadersSettings headers;
    std::shared_ptr<const HeadersFilter> headers_filter;

    // Logging.
    std::vector<AccessLogConfig> access_logs;
    bool access_logs_set = false;
    bool access_log_off = false;

    // The directives this block set itself, for inheritance.
    core::conf::Seen seen;
};

struct ListenSpec {
    os::SocketAddress address;
    event::ListenOptions options;
    bool default_server = false;
};

struct ServerConfig {
    std::vector<ListenSpec> listens;
    std::vector<std::string> names;  // as written: "example.com", "*.example.com", "~^www"
    // The "~..." names compiled, in the order written.
    std::vector<std::unique_ptr<Regex>> name_regexes;

    core::Msec client_header_timeout = 60000;
    std::uint64_t client_header_buffer_size = 1024;
    std::uint32_t large_header_buffers = 4;
    std::uint64_t large_header_buffer_size = 8192;
    bool ignore_invalid_headers = true;
    bool underscores_in_headers = false;
    bool merge_slashes = true;

    LocationConfig location;  // the server level of the location settings
    core::conf::Seen seen;
};

struct LogFormat {
    std::string name;
    std::string text;  // the concatenated format string
    Escape escape = Escape::log_default;
    std::string where;  // "file:line"
};

struct HttpConfig {
    ServerConfig defaults;  // the http level of server and location settings
    std::vector<std::unique_ptr<ServerConfig>> servers;
    std::vector<LogFormat> log_formats;
    std::string prefix;  // for relative paths (root, access_log)
};

// Applies an `http { ... }` block into `config`: the servers, their locations, and
// the inheritance from http to server to location. `prefix` resolves relative paths.
std::optional<core::conf::Error> apply_http_block(core::conf::Applier& applier,
                                                  const core::conf::Node& node, HttpConfig& config);

// Resolves relative paths (root, alias, access_log) against `prefix` and each
// access_log's format name to its text; false with the message in *error.
bool finish_http_config(HttpConfig& config, const std::string& prefix, std::string* error);

// The tables of the HTTP module, for the directive reference and for telling
// "unknown directive" from "not allowed here".
std::span<const core::conf::Table* const> http_tables();

}  // namespace evs::http
