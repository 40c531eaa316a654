// The HTTP module's directives: the setters and the tables for the http, server and
// location blocks (what each directive accepts, where, its default and its one-line
// documentation, from which docs/DIRECTIVES.md is generated). How the values are
// inherited and finished once the block is read is config.cpp's part.

#include "http/config_tables.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/conf_values.hpp"
#include "http/access_log.hpp"
#include "http/error_pages.hpp"
#include "http/file_read.hpp"
#include "http/try_files.hpp"
#include "http/virtual_servers.hpp"

namespace evs::http {

namespace conf = core::conf;
using conf::Applier;
using conf::Directive;
using conf::Error;
using conf::Node;
using std::optional;

namespace {

constexpr conf::ContextMask k_hsl = conf::k_http | conf::k_server | conf::k_location;
constexpr conf::ContextMask k_hs = conf::k_http | conf::k_server;

// large_client_header_buffers number size;
optional<Error> set_large_buffers(Applier&, const Node& node, const Directive&, void* p) {
    auto* srv = static_cast<ServerConfig*>(p);
    const auto n = conf::parse_number(node.args[1]);
    const auto size = conf::parse_size(node.args[2]);
    if (!n || *n == 0 || *n > 1024) {
        return node.error("invalid value \"" + node.args[1] + "\"");
    }
    if (!size || *size == 0 || *size > (64u << 20)) {
        return node.error("invalid value \"" + node.args[2] + "\"");
    }
    srv->large_header_buffers = static_cast<std::uint32_t>(*n);
    srv->large_header_buffer_size = *size;
    return std::nullopt;
}

optional<Error> set_server(Applier& applier, const Node& node, const Directive&, void* p) {
    auto* http = static_cast<HttpConfig*>(p);
    auto srv = std::make_unique<ServerConfig>();
    srv->location.server = srv.get();
    const conf::Binding bindings[] = {{&k_server_table, srv.get()},
                                      {&k_location_table, &srv->location}};
    if (auto err = applier.apply(node, bindings, conf::k_server, &srv->seen)) {
        return err;
    }
    http->servers.push_back(std::move(srv));
    return std::nullopt;
}

// location [ = | ~ | ~* | ^~ ] uri { ... }   location @name { ... }
optional<Error> set_location(Applier& applier, const Node& node, const Directive&, void* p) {
    auto* parent = static_cast<LocationConfig*>(p);
    auto loc = std::make_unique<LocationConfig>();
    loc->server = parent->server;
    using Match = LocationConfig::Match;
    if (node.arg_count() == 2) {
        const std::string& mod = node.args[1];
        if (mod == "=") {
            loc->match = Match::exact;
        } else if (mod == "^~") {
            loc->match = Match::prefix_no_regex;
        } else if (mod == "~") {
            loc->match = Match::regex;
        } else if (mod == "~*") {
            loc->match = Match::regex_caseless;
        } else {
            return node.error("invalid location modifier \"" + mod + "\"");
        }
        loc->pattern = node.args[2];
    } else {
        const std::string& arg = node.args[1];
        if (arg.starts_with("=")) {
            loc->match = Match::exact;
            loc->pattern = arg.substr(1);
        } else if (arg.starts_with("^~")) {
            loc->match = Match::prefix_no_regex;
            loc->pattern = arg.substr(2);
        } else if (arg.starts_with("~*")) {
            loc->match = Match::regex_caseless;
            loc->pattern = arg.substr(2);
        } else if (arg.starts_with("~")) {
            loc->match = Match::regex;
            loc->pattern = arg.substr(1);
        } else if (arg.starts_with("@")) {
            loc->match = Match::named;
            loc->pattern = arg;
        } else {
            loc->pattern = arg;
        }
    }
    const bool regex = loc->match == Match::regex || loc->match == Match::regex_caseless;
    if (regex) {
        std::string error;
        loc->regex = Regex::compile(loc->pattern, loc->match == Match::regex_caseless, &error);
        if (!loc->regex) {
            return node.error(std::move(error));
        }
    }
    const bool nested = parent->server != nullptr && &parent->server->location != parent;
    if (nested) {
        // nginx's rules for nesting, in its order and with its messages.
        if (parent->match == Match::exact) {
            return node.error("location \"" + loc->pattern +
                              "\" cannot be inside the exact location \"" + parent->pattern + "\"");
        }
        if (parent->match == Match::named) {
            return node.error("location \"" + loc->pattern +
                              "\" cannot be inside the named location \"" + parent->pattern + "\"");
        }
        if (loc->match == Match::named) {
            return node.error("named location \"" + loc->pattern +
                              "\" can be on the server level only");
        }
    }
    // A regular expression may sit in any location; a prefix must extend its parent's
    // name (for a regex parent, its pattern text, as nginx compares).
    if (nested && !regex && !loc->pattern.starts_with(parent->pattern)) {
        return node.error("location \"" + loc->pattern + "\" is outside location \"" +
                          parent->pattern + "\"");
    }
    for (const auto& sibling : parent->locations) {
        // nginx lets two regular expressions repeat: the first simply wins.
        if (!regex && sibling->match == loc->match && sibling->pattern == loc->pattern) {
            return node.error("duplicate location \"" + loc->pattern + "\"");
        }
    }
    const conf::Binding binding{&k_location_table, loc.get()};
    if (auto err = applier.apply(node, std::span<const conf::Binding>(&binding, 1),
                                 conf::k_location, &loc->seen)) {
        return err;
    }
    parent->locations.push_back(std::move(loc));
    return std::nullopt;
}

optional<Error> set_root(Applier&, const Node& node, const Directive& d, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    const bool alias = d.name == "alias";
    if (node.line == 0 && loc->seen.contains(alias ? "root" : "alias")) {
        return std::nullopt;  // a default never replaces the root or alias a block set
    }
    if (loc->seen.contains(alias ? "root" : "alias")) {
        return node.error("\"" + std::string(d.name) + "\" directive is duplicate, \"" +
                          (alias ? "root" : "alias") + "\" directive was specified earlier");
    }
    if (alias && loc->match == LocationConfig::Match::named) {
        return node.error("\"alias\" directive cannot be used inside the named location");
    }
    std::string error;
    auto text = Text::compile(node.args[1], &error);
    if (!text) {
        return node.error(error);
    }
    loc->root = node.args[1];
    loc->root_text = text->has_variables() ? std::move(*text) : Text{};
    loc->alias = alias;
    loc->alias_prefix = alias ? loc->pattern : std::string();
    // In a regex location an alias is the whole path, normally built from the
    // captures ("alias /data/$1;"), as in nginx.
    loc->alias_whole = alias && loc->regex != nullptr;
    loc->root_where = std::string(node.file) + ":" + std::to_string(node.line);
    return std::nullopt;
}

optional<Error> set_index(Applier&, const Node& node, const Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    for (std::size_t i = 1; i < node.args.size(); ++i) {
        if (node.args[i].empty()) {
            return node.error("index \"\" in \"index\" directive is invalid");
        }
        loc->index.push_back(node.args[i]);
    }
    loc->index_set = true;
    return std::nullopt;
}

// types { text/html html htm; ... }
optional<Error> set_types(Applier&, const Node& node, const Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    auto types = std::make_shared<MimeTypes>();
    for (const Node& entry : node.children) {
        if (entry.block || entry.args.size() < 2) {
            return entry.error("invalid number of arguments in \"" + entry.args[0] +
                               "\" directive");
        }
        for (std::size_t i = 1; i < entry.args.size(); ++i) {
            std::string ext = entry.args[i];
            for (char& ch : ext) {
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            }
            // nginx keeps the first type given for an extension and warns.
            types->emplace(std::move(ext), entry.args[0]);
        }
    }
    loc->types = std::move(types);
    return std::nullopt;
}

// keepalive_timeout timeout [header_timeout];
optional<Error> set_keepalive_timeout(Applier&, const Node& node, const Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    const auto t = conf::parse_msec(node.args[1]);
    if (!t) {
        return conf::invalid_value_error(node);
    }
    loc->keepalive_timeout = *t;
    if (node.arg_count() == 2) {
        const auto h = conf::parse_sec(node.args[2]);
        if (!h) {
            return conf::invalid_value_error(node);
        }
        loc->keepalive_header = *h;
    }
    return std::nullopt;
}

// The text or URL of `return`, compiled when it has variables.
optional<Error> compile_return_text(const Node& node, LocationConfig* loc) {
    std::string error;
    auto text = Text::compile(loc->return_text, &error);
    if (!text) {
        return node.error(error);
    }
    loc->return_value = text->has_variables() ? std::move(*text) : Text{};
    return std::nullopt;
}

// return code [text]; return code URL; return URL;
optional<Error> set_return(Applier&, const Node& node, const Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    const std::string& first = node.args[1];
    int code = 0;
    const auto [end, ec] = std::from_chars(first.data(), first.data() + first.size(), code);
    if (ec != std::errc() || end != first.data() + first.size()) {
        if (node.arg_count() != 1 ||
            !(first.starts_with("http://") || first.starts_with("https://") ||
              first.starts_with("$scheme"))) {
            return node.error("invalid return code \"" + first + "\"");
        }
        loc->return_code = 302;
        loc->return_text = first;
        return compile_return_text(node, loc);
    }
    if (code < 100 || code > 999) {
        return node.error("invalid return code \"" + first + "\"");
    }
    loc->return_code = code;
    loc->return_text = node.arg_count() == 2 ? node.args[2] : "";
    return compile_return_text(node, loc);
}

// stub_status; nginx before 1.7.5 wanted an argument (`stub_status on;`) and still
// takes any word there and ignores it, so old configurations keep working.
optional<Error> set_stub_status(Applier&, const Node&, const Directive&, void* p) {
    static_cast<LocationConfig*>(p)->stub_status = true;
    return std::nullopt;
}

constexpr conf::EnumValue k_ims_values[] = {{"off", 0}, {"exact", 1}, {"before", 2}};
constexpr conf::EnumValue k_lingering_values[] = {{"off", 0}, {"on", 1}, {"always", 2}};
constexpr conf::EnumValue k_autoindex_formats[] = {
    {"html", 0}, {"xml", 1}, {"json", 2}, {"jsonp", 3}};
constexpr conf::EnumValue k_status_formats[] = {{"nginx", 0}, {"prometheus", 1}};

constexpr Directive k_http_directives[] = {
    {"server",
     conf::k_http,
     conf::k_block | conf::k_noargs | conf::k_repeatable,
     {set_server},
     {},
     "{ ... }",
     "A virtual server."},
    {"log_format",
     conf::k_http,
     conf::k_2more | conf::k_repeatable,
     {set_log_format},
     {},
     "name [escape=default|json|none] string ...",
     "A named access log format."},
};

constexpr Directive k_server_directives[] = {
    {"listen",
     conf::k_server,
     conf::k_1more | conf::k_repeatable,
     {set_listen},
     {},
     "address[:port] [default_server] [reuseport] [backlog=number] [rcvbuf=size] "
     "[sndbuf=size] [deferred] [so_keepalive=on|off|[idle]:[intvl]:[cnt]] [ipv6only=on|off] "
     "[fastopen=number] [notsent_lowat=size]",
     "An address the server accepts on (default *:80). notsent_lowat (evserve): "
     "TCP_NOTSENT_LOWAT on every connection accepted there, the most a response keeps "
     "queued in the socket unsent; large files then leave in smaller passes. A reload "
     "keeps the socket of an unchanged address and sets the new parameters on it."},
    {"server_name",
     conf::k_server,
     conf::k_1more | conf::k_repeatable,
     {set_server_name},
     {},
     "name ...",
     "Names of the virtual server: exact, *.wildcard, wildcard.* or ~regex."},
    {"client_header_timeout",
     k_hs,
     conf::k_take1,
     conf::msec_slot<&ServerConfig::client_header_timeout>,
     "60s",
     {},
     "How long a client may take to send the request head."},
    {"client_header_buffer_size",
     k_hs,
     conf::k_take1,
     conf::size_slot<&ServerConfig::client_header_buffer_size>,
     "1k",
     {},
     "The buffer a request head is first read into."},
    {"large_client_header_buffers",
     k_hs,
     conf::k_take2,
     {set_large_buffers},
     "4 8k",
     "number size",
     "Larger buffers for long request lines and headers."},
    {"ignore_invalid_headers",
     k_hs,
     conf::k_flag,
     conf::flag_slot<&ServerConfig::ignore_invalid_headers>,
     "on",
     {},
     "Skip header lines with invalid names instead of rejecting the request."},
    {"underscores_in_headers",
     k_hs,
     conf::k_flag,
     conf::flag_slot<&ServerConfig::underscores_in_headers>,
     "off",
     {},
     "Accept underscores in header names."},
    {"merge_slashes",
     k_hs,
     conf::k_flag,
     conf::flag_slot<&ServerConfig::merge_slashes>,
     "on",
     {},
     "Collapse repeated slashes in the URI."},
};

constexpr Directive k_location_directives[] = {
    {"location",
     conf::k_server | conf::k_location,
     conf::k_block | conf::k_take12 | conf::k_repeatable,
     {set_location},
     {},
     "[ = | ~ | ~* | ^~ ] uri { ... } | @name { ... }",
     "Settings for requests whose URI matches."},
    {"root",
     k_hsl,
     conf::k_take1,
     {set_root},
     "html",
     "path",
     "The directory requests are served from (the URI is appended)."},
    {"alias",
     conf::k_location,
     conf::k_take1,
     {set_root},
     {},
     "path",
     "Replaces the location's prefix with this path; in a regex location the path replaces "
     "the whole URI and usually names captures (`alias /data/$1;`). Variables allowed."},
    {"index",
     k_hsl,
     conf::k_1more,
     {set_index},
     "index.html",
     "file ...",
     "Files tried, in order, for a request that ends with a slash."},
    {"default_type", k_hsl, conf::k_take1, conf::string_slot<&LocationConfig::default_type>,
     "text/plain", "mime-type", "The type of files whose extension is not in types."},
    {"types",
     k_hsl,
     conf::k_block | conf::k_noargs,
     {set_types},
     {},
     "{ type extension ...; }",
     "Maps file extensions to MIME types."},
    {"return",
     conf::k_server | conf::k_location,
     conf::k_take12,
     {set_return},
     {},
     "code [text] | code URL | URL",
     "Stops processing and answers with the code."},
    {"autoindex",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::autoindex>,
     "off",
     {},
     "List a directory that has no index file."},
    {"autoindex_exact_size",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::autoindex_exact_size>,
     "on",
     {},
     "Exact file sizes in HTML listings, or rounded to K, M and G."},
    {"autoindex_format",
     k_hsl,
     conf::k_take1,
     conf::enum_slot<&LocationConfig::autoindex_format, k_autoindex_formats>,
     "html",
     {},
     "The format of listings (jsonp takes the function from the callback argument)."},
    {"autoindex_localtime",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::autoindex_localtime>,
     "off",
     {},
     "Times in HTML listings in the server's time zone rather than GMT."},
    {"stub_status",
     conf::k_server | conf::k_location,
     conf::k_noargs | conf::k_take1,
     {set_stub_status},
     {},
     "[on]",
     "Answers requests with the server's connection and request counters (nginx's "
     "stub_status page; an argument, as in `stub_status on;`, is accepted and ignored)."},
    {"status_format",
     conf::k_server | conf::k_location,
     conf::k_take1,
     conf::enum_slot<&LocationConfig::status_format, k_status_formats>,
     "nginx",
     {},
     "(evserve) The stub_status page's format: nginx's text, or the Prometheus text format "
     "with response counts per status, bytes sent, file I/O and per-worker counters."},
    {"try_files",
     conf::k_server | conf::k_location,
     conf::k_2more,
     {set_try_files},
     {},
     "file ... uri | file ... =code",
     "Serves the first of the files that exists (a trailing slash tests for a directory), "
     "else redirects internally to the last argument (a URI with its own ?args, or @name) "
     "or answers =code. Variables allowed; not inherited by nested locations, as in nginx."},
    {"internal",
     conf::k_location,
     conf::k_noargs,
     {set_internal},
     {},
     "",
     "The location serves internal redirects only (error_page, try_files, index); "
     "requests from clients get 404."},
    {"error_page",
     k_hsl,
     conf::k_2more | conf::k_repeatable,
     {set_error_page},
     {},
     "code ... [=[response]] uri | @name | URL",
     "The page for these error codes: an internal redirect (the method becomes GET) answered "
     "with the error's status, =code's, or with = the page's own; a URL gets a 302 (or =301, "
     "=303, =307, =308)."},
    {"recursive_error_pages",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::recursive_error_pages>,
     "off",
     {},
     "Follow error_page again for an error while serving an error page (still bounded by "
     "the limit of 10 internal redirects)."},
    {"allow",
     k_hsl,
     conf::k_take1 | conf::k_repeatable,
     {set_access_rule},
     {},
     "address | CIDR | unix: | all",
     "Lets clients from these addresses in (the first matching allow or deny decides)."},
    {"deny",
     k_hsl,
     conf::k_take1 | conf::k_repeatable,
     {set_access_rule},
     {},
     "address | CIDR | unix: | all",
     "Answers 403 to clients from these addresses (the first matching rule decides)."},
    {"sendfile",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::sendfile>,
     "off",
     {},
     "Send files with sendfile(2); with aio threads the calls run in the thread pool."},
    {"sendfile_max_chunk",
     k_hsl,
     conf::k_take1,
     conf::size_slot<&LocationConfig::sendfile_max_chunk>,
     "2m",
     {},
     "The most one sendfile() call sends, so one fast client cannot hog a worker; 0: no "
     "limit."},
    {"tcp_nopush",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::tcp_nopush>,
     "off",
     {},
     "TCP_CORK while sending the response head and file."},
    {"tcp_nodelay",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::tcp_nodelay>,
     "on",
     {},
     "TCP_NODELAY on keepalive connections."},
    {"postpone_output",
     k_hsl,
     conf::k_take1,
     conf::size_slot<&LocationConfig::postpone_output>,
     "1460",
     {},
     "Hold back output smaller than this until there is more."},
    {"aio",
     k_hsl,
     conf::k_take1,
     {set_aio},
     "off",
     "on | off | threads[=pool] | io_uring",
     "Read files that are not sent with sendfile without blocking the worker: on is Linux "
     "native AIO (io_submit; without directio the kernel still blocks in it), threads a "
     "thread pool, which with sendfile on also makes the sendfile() calls, io_uring a ring "
     "per worker (no directio needed; with sendfile on it reads only what does not go out "
     "with sendfile, as on; a kernel without io_uring falls back to the thread pool "
     "\"default\" with one warning)."},
    {"directio",
     k_hsl,
     conf::k_take1,
     {set_directio},
     "off",
     "size | off",
     "Files of at least this size are read with O_DIRECT (bypassing the page cache) into "
     "aligned buffers, and never with sendfile."},
    {"directio_alignment",
     k_hsl,
     conf::k_take1,
     {set_directio_alignment},
     "512",
     "size",
     "The alignment of O_DIRECT reads (4k for XFS); unaligned heads and tails of a range "
     "are read synchronously."},
    {"output_buffers",
     k_hsl,
     conf::k_take2,
     {set_output_buffers},
     "2 32k",
     "number size",
     "The buffers a file is read into when it is not sent with sendfile (one read fills "
     "number times size bytes)."},
    {"open_file_cache",
     k_hsl,
     conf::k_take12,
     {set_open_file_cache},
     "off",
     "max=N [inactive=time] | off",
     "A per-worker cache of open file descriptors and file metadata (evserve also watches "
     "the files' directories with inotify, so a changed file is never served stale)."},
    {"open_file_cache_valid",
     k_hsl,
     conf::k_take1,
     conf::msec_slot<&LocationConfig::open_file_cache_valid>,
     "60s",
     {},
     "After this time a cached file is checked again."},
    {"open_file_cache_min_uses",
     k_hsl,
     conf::k_take1,
     conf::number_slot<&LocationConfig::open_file_cache_min_uses>,
     "1",
     {},
     "Uses within the inactive time before a file's descriptor is kept open."},
    {"open_file_cache_errors",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::open_file_cache_errors>,
     "off",
     {},
     "Cache file lookup errors (not found, forbidden) too."},
    {"open_file_cache_events",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::open_file_cache_events>,
     "on",
     {},
     "(evserve) Drop cached files as soon as inotify reports a change; off: only "
     "open_file_cache_valid, as nginx."},
    {"open_file_cache_body",
     k_hsl,
     conf::k_take1,
     conf::size_slot<&LocationConfig::open_file_cache_body>,
     "16k",
     {},
     "(evserve) Cached files up to this size keep their bytes in memory and go out with the "
     "head in one writev() (0: never)."},
    {"disable_symlinks",
     k_hsl,
     conf::k_take12,
     {set_disable_symlinks},
     "off",
     "off | on | if_not_owner [from=part]",
     "Refuse (403) files reached through a symbolic link (on), or through a link whose "
     "owner differs from its target's (if_not_owner); the path up to from= is not "
     "checked. Variables allowed in from=."},
    {"send_timeout",
     k_hsl,
     conf::k_take1,
     conf::msec_slot<&LocationConfig::send_timeout>,
     "60s",
     {},
     "Between two successive writes to the client."},
    {"limit_rate",
     k_hsl,
     conf::k_take1,
     conf::size_slot<&LocationConfig::limit_rate>,
     "0",
     {},
     "The most bytes per second a response is sent at, on average (0: no limit)."},
    {"limit_rate_after",
     k_hsl,
     conf::k_take1,
     conf::size_slot<&LocationConfig::limit_rate_after>,
     "0",
     {},
     "Bytes of a response sent at full speed before limit_rate applies."},
    {"keepalive_timeout",
     k_hsl,
     conf::k_take12,
     {set_keepalive_timeout},
     "75s",
     "timeout [header_timeout]",
     "How long an idle keepalive connection stays open."},
    {"keepalive_requests",
     k_hsl,
     conf::k_take1,
     conf::number_slot<&LocationConfig::keepalive_requests>,
     "1000",
     {},
     "Requests served on one keepalive connection."},
    {"keepalive_time",
     k_hsl,
     conf::k_take1,
     conf::msec_slot<&LocationConfig::keepalive_time>,
     "1h",
     {},
     "The longest a keepalive connection is kept, whatever its traffic."},
    {"lingering_close",
     k_hsl,
     conf::k_take1,
     conf::enum_slot<&LocationConfig::lingering_close, k_lingering_values>,
     "on",
     {},
     "Read and discard what the client still sends before closing."},
    {"lingering_time",
     k_hsl,
     conf::k_take1,
     conf::msec_slot<&LocationConfig::lingering_time>,
     "30s",
     {},
     "The longest lingering close."},
    {"lingering_timeout",
     k_hsl,
     conf::k_take1,
     conf::msec_slot<&LocationConfig::lingering_timeout>,
     "5s",
     {},
     "The wait for more data during a lingering close."},
    {"reset_timedout_connection",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::reset_timedout_connection>,
     "off",
     {},
     "Close timed-out connections with a reset."},
    {"client_body_timeout",
     k_hsl,
     conf::k_take1,
     conf::msec_slot<&LocationConfig::client_body_timeout>,
     "60s",
     {},
     "Between two successive reads of the request body."},
    {"client_max_body_size",
     k_hsl,
     conf::k_take1,
     conf::offset_slot<&LocationConfig::client_max_body_size>,
     "1m",
     {},
     "Larger request bodies get 413 (0: no limit)."},
    {"server_tokens",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::server_tokens>,
     "on",
     {},
     "The version in the Server header and error pages."},
    {"etag",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::etag>,
     "on",
     {},
     "ETag headers for static files."},
    {"if_modified_since",
     k_hsl,
     conf::k_take1,
     conf::enum_slot<&LocationConfig::if_modified_since, k_ims_values>,
     "exact",
     {},
     "How If-Modified-Since is compared."},
    {"max_ranges",
     k_hsl,
     conf::k_take1,
     conf::number_slot<&LocationConfig::max_ranges>,
     {},
     {},
     "The most ranges a byte-range request may ask for (0 disables ranges)."},
    {"log_not_found",
     k_hsl,
     conf::k_flag,
     conf::flag_slot<&LocationConfig::log_not_found>,
     "on",
     {},
     "Log files that are not found."},
    {"add_header",
     k_hsl,
     conf::k_take23 | conf::k_repeatable,
     {set_add_header},
     {},
     "name value [always]",
     "Adds a header to 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 responses (any "
     "status with always); an empty value adds nothing. A block with any add_header drops "
     "the enclosing block's. Variables allowed."},
    {"expires",
     k_hsl,
     conf::k_take12,
     {set_expires},
     "off",
     "[modified] time | @time | epoch | max | off",
     "Expires and Cache-Control for the statuses of add_header: now (or the file's mtime "
     "with modified) plus time, the next time of day with @, no-cache for a negative time."},
    {"charset",
     k_hsl,
     conf::k_take1,
     {set_charset},
     "off",
     "name | off",
     "Appends \"; charset=name\" to the Content-Type of the charset_types."},
    {"source_charset",
     k_hsl,
     conf::k_take1,
     {set_charset},
     {},
     "name",
     "The charset of the files; evserve does not recode, so it must equal charset."},
    {"charset_types",
     k_hsl,
     conf::k_1more,
     {set_charset_types},
     "text/html text/xml text/plain text/vnd.wap.wml application/javascript "
     "application/rss+xml",
     "mime-type ... | *",
     "The MIME types charset applies to, besides text/html (* for all)."},
    {"access_log",
     k_hsl,
     conf::k_1more | conf::k_repeatable,
     {set_access_log},
     {},
     "path [format [buffer=size] [flush=time] [if=condition]] | off",
     "Where requests are logged (default logs/access.log combined); buffer= collects lines "
     "in the worker (written when full, after flush=, on reopen and at exit), if= skips a "
     "request whose condition is empty or \"0\"."},
};

}  // namespace

const conf::Table k_http_table{"http", k_http_directives};
const conf::Table k_server_table{"http_server", k_server_directives};
const conf::Table k_location_table{"http_location", k_location_directives};

}  // namespace evs::http
