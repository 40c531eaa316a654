#include "http/config.hpp"

#include <unistd.h>

#include <algorithm>

#include "http/config_tables.hpp"
#include "http/error_pages.hpp"
#include "http/try_files.hpp"

namespace evs::http {

namespace conf = core::conf;
using conf::Applier;
using conf::Error;
using conf::Node;
using std::optional;

namespace {

// nginx's merge step for what the generic inherit() cannot copy.
void merge_location(LocationConfig& child, const LocationConfig& parent,
                    conf::ContextMask parent_context, const conf::Seen& seen) {
    conf::inherit(k_location_table, &child, &parent, seen, parent_context);
    if (!seen.contains("root") && !seen.contains("alias")) {
        // nginx inherits an alias with the prefix it replaces: in
        // `location /a/ { alias /data/; location /a/b/ {} }`, /a/b/c is /data/b/c.
        child.root = parent.root;
        child.root_text = parent.root_text;
        child.alias = parent.alias;
        child.alias_prefix = parent.alias_prefix;
        child.alias_whole = parent.alias_whole;
        child.root_where = parent.root_where;
    }
    if (!child.index_set) {
        child.index = parent.index;
    }
    if (!child.types) {
        child.types = parent.types;
    }
    if (!seen.contains("error_page")) {
        child.error_pages = parent.error_pages;
    }
    if (child.access_rules.empty()) {
        child.access_rules = parent.access_rules;
    }
    if (!child.access_logs_set) {
        child.access_logs = parent.access_logs;
        child.access_log_off = parent.access_log_off;
    }
    if (!seen.contains("disable_symlinks")) {
        child.disable_symlinks = parent.disable_symlinks;
    }
    merge_headers(child.headers, parent.headers, seen);
    if (!seen.contains("open_file_cache")) {
        child.open_file_cache = parent.open_file_cache;
    }
    if (!seen.contains("keepalive_timeout")) {
        child.keepalive_timeout = parent.keepalive_timeout;
        child.keepalive_header = parent.keepalive_header;
    }
    if (!seen.contains("aio")) {
        child.aio = parent.aio;
        child.aio_thread_pool = parent.aio_thread_pool;
        child.aio_source = parent.aio_source;
    }
    if (!seen.contains("directio")) {
        child.directio = parent.directio;
    }
    if (!seen.contains("directio_alignment")) {
        child.directio_alignment = parent.directio_alignment;
    }
    if (!seen.contains("output_buffers")) {
        child.output_buffers_number = parent.output_buffers_number;
        child.output_buffers_size = parent.output_buffers_size;
    }
    for (auto& nested : child.locations) {
        merge_location(*nested, child, conf::k_location, nested->seen);
    }
}

}  // namespace

optional<Error> apply_http_block(Applier& applier, const Node& node, HttpConfig& config) {
    config.defaults.location.server = nullptr;
    const conf::Binding bindings[] = {{&k_http_table, &config},
                                      {&k_server_table, &config.defaults},
                                      {&k_location_table, &config.defaults.location}};
    if (auto err = applier.apply(node, bindings, conf::k_http, &config.defaults.seen)) {
        return err;
    }
    LocationConfig& top = config.defaults.location;
    if (top.index.empty()) {
        top.index = {"index.html"};
    }
    if (!top.types) {
        // Without a types block nginx knows two types; so do we.
        top.types = std::make_shared<MimeTypes>(
            MimeTypes{{"html", "text/html"}, {"gif", "image/gif"}, {"jpg", "image/jpeg"}});
    }
    if (!top.access_logs_set) {
        AccessLogConfig log;
        log.path = "logs/access.log";
        log.format = "combined";
        top.access_logs.push_back(std::move(log));
    }
    for (auto& srv : config.servers) {
        conf::inherit(k_server_table, srv.get(), &config.defaults, srv->seen, conf::k_http);
        merge_location(srv->location, top, conf::k_http, srv->seen);
        if (srv->listens.empty()) {
            ListenSpec spec;
            os::SocketAddress::parse(::geteuid() == 0 ? "*:80" : "*:8000", 80, &spec.address);
            srv->listens.push_back(spec);
        }
    }
    return std::nullopt;
}

namespace {

constexpr std::string_view k_combined =
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
    "\"$http_referer\" \"$http_user_agent\"";

// Every group name of every regex (server names and locations): the named captures
// a `$name` may refer to.
void collect_capture_names(const LocationConfig& loc, std::vector<std::string>* names) {
    if (loc.regex) {
        for (const Regex::Name& n : loc.regex->names()) {
            names->push_back(n.name);
        }
    }
    for (const auto& nested : loc.locations) {
        collect_capture_names(*nested, names);
    }
}

bool unknown_variable(const Text& text, const std::vector<std::string>& names,
                      const std::string& where, std::string* error) {
    if (auto name = text.unknown_capture(names)) {
        *error = "unknown \"" + *name + "\" variable in " + where;
        return true;
    }
    return false;
}

bool finish_location(LocationConfig& loc, const HttpConfig& config, const std::string& prefix,
                     const std::vector<std::string>& names, std::string* error) {
    if (!loc.root.empty() && loc.root[0] != '/' && loc.root[0] != '$') {
        loc.root = prefix + loc.root;
    }
    if (loc.root_text.has_variables()) {
        if (unknown_variable(loc.root_text, names, loc.root_where, error)) {
            return false;
        }
        std::string ignored;
        loc.root_text = *Text::compile(loc.root, &ignored);  // with the prefix
    }
    for (AccessLogConfig& log : loc.access_logs) {
        if (!log.path.empty() && log.path[0] != '/') {
            log.path = prefix + log.path;
        }
        std::string text;
        if (log.format == "combined") {
            text = std::string(k_combined);
            log.escape = Escape::log_default;
        } else {
            auto it = std::find_if(config.log_formats.begin(), config.log_formats.end(),
                                   [&](const LogFormat& f) { return f.name == log.format; });
            if (it == config.log_formats.end()) {
                *error = "unknown log format \"" + log.format + "\" in " + log.where;
                return false;
            }
            text = it->text;
            log.escape = it->escape;
            if (auto name = Text::compile(text, error)->unknown_capture(names)) {
                *error = "unknown \"" + *name + "\" variable in " + it->where;
                return false;
            }
        }
        log.format_text = *Text::compile(text, error);
        if (unknown_variable(log.condition_text, names, log.where, error)) {
            return false;
        }
    }
    if (loc.try_files) {
        if (auto name = try_files_unknown_capture(*loc.try_files, names)) {
            *error = "unknown \"" + *name + "\" variable in " + loc.try_files->where;
            return false;
        }
    }
    if (loc.error_pages) {
        if (auto name = error_pages_unknown_capture(*loc.error_pages, names)) {
            *error = "unknown \"" + *name + "\" variable in " + loc.error_pages->where;
            return false;
        }
    }
    if (!build_headers_filter(loc.headers, names, &loc.headers_filter, error)) {
        return false;
    }
    if (loc.disable_symlinks.from_text.has_variables() &&
        unknown_variable(loc.disable_symlinks.from_text, names, "disable_symlinks", error)) {
        return false;
    }
    for (auto& nested : loc.locations) {
        if (!finish_location(*nested, config, prefix, names, error)) {
            return false;
        }
    }
    return true;
}

}  // namespace

bool finish_http_config(HttpConfig& config, const std::string& prefix, std::string* error) {
    config.prefix = prefix;
    std::vector<std::string> names;
    for (auto& srv : config.servers) {
        for (const auto& re : srv->name_regexes) {
            for (const Regex::Name& n : re->names()) {
                names.push_back(n.name);
            }
        }
        collect_capture_names(srv->location, &names);
    }
    for (auto& srv : config.servers) {
        if (!finish_location(srv->location, config, prefix, names, error)) {
            return false;
        }
    }
    return true;
}

std::span<const conf::Table* const> http_tables() {
    static const conf::Table* const tables[] = {&k_http_table, &k_server_table, &k_location_table};
    return tables;
}

}  // namespace evs::http
