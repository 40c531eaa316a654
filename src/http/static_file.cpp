// The content handlers: static files (with index files, nginx's 301 for a
// directory without its slash, conditional requests and byte ranges) and `return`.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "event/loop.hpp"
#include "http/autoindex.hpp"
#include "http/file_read.hpp"
#include "http/open_file_cache.hpp"
#include "http/range.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/variables.hpp"

namespace evs::http {

using core::LogLevel;

namespace {

void log_error(Request* r, LogLevel level, int err, const std::string& message) {
    core::Log& log = r->c->loop->log();
    if (log.enabled(level)) {
        log.write_conn(level, err, r->c->number, request_log_context, r, "%s", message.c_str());
    }
}

std::string map_path(Request* r, std::string_view uri) {
    return map_uri_to_path(r, uri);
}

std::string_view mime_type(const LocationConfig& loc, std::string_view exten) {
    if (!exten.empty() && loc.types) {
        char lower[32];
        if (exten.size() < sizeof(lower)) {
            for (std::size_t i = 0; i < exten.size(); ++i) {
                lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(exten[i])));
            }
            auto it = loc.types->find(std::string_view(lower, exten.size()));
            if (it != loc.types->end()) {
                return it->second;
            }
        }
    }
    return loc.default_type;
}

// An entity tag list ("a", W/"b", *) contains `etag`; weak comparison when `weak`.
bool etag_matches(std::string_view list, std::string_view etag, bool weak) {
    auto strip = [](std::string_view t) { return t.starts_with("W/") ? t.substr(2) : t; };
    std::size_t pos = 0;
    while (pos < list.size()) {
        while (pos < list.size() && (list[pos] == ' ' || list[pos] == ',')) {
            ++pos;
        }
        std::size_t end = list.find(',', pos);
        if (end == std::string_view::npos) {
            end = list.size();
        }
        std::string_view item = list.substr(pos, end - pos);
        while (!item.empty() && item.back() == ' ') {
            item.remove_suffix(1);
        }
        if (item == "*") {
            return true;
        }
        if (weak ? strip(item) == strip(etag) : (!item.starts_with("W/") && item == etag)) {
            return true;
        }
        pos = end + 1;
    }
    return false;
}

}  // namespace

void static_handler(Request* r) {
    const RequestHead& head = r->parser.head();
    const LocationConfig& loc = *r->loc;
    if (r->method != Method::get && r->method != Method::head) {
        finalize_request(r, 405);
        return;
    }

    event::Loop& loop = *r->c->loop;
    if (r->uri.ends_with('/')) {
        // The index module: the first index file that exists becomes the URI.
        for (const std::string& index : loc.index) {
            std::string path = map_path(r, r->uri) + index;
            const FileInfo of = open_file_for_request(loop, loc, path, *r->arena, true, r);
            if (of.err == 0 && !of.is_dir) {
                const std::string next = std::string(r->uri) + index;
                internal_redirect(r, r->arena->copy(next));
                return;
            }
            if (of.err == ELOOP || of.err == EMLINK) {
                // disable_symlinks refused the index file (nginx: 403).
                log_error(r, LogLevel::error, of.err,
                          std::string(of.failed) + " \"" + path + "\" failed");
                finalize_request(r, 403);
                return;
            }
        }
        std::string dir = map_path(r, r->uri);
        const FileInfo of = open_file_for_request(loop, loc, dir, *r->arena, true, r);
        if (of.err == 0 && of.is_dir) {
            if (loc.autoindex) {
                autoindex_handler(r, dir.c_str());
                return;
            }
            log_error(r, LogLevel::error, 0, "directory index of \"" + dir + "\" is forbidden");
            finalize_request(r, 403);
        } else if (of.err == ELOOP || of.err == EMLINK) {
            // The directory itself is a refused or looping link (nginx's index module: 403).
            log_error(r, LogLevel::error, of.err,
                      std::string(of.failed) + " \"" + dir + "\" failed");
            finalize_request(r, 403);
        } else {
            if (loc.log_not_found) {
                log_error(r, LogLevel::error, ENOENT,
                          "\"" + dir + loc.index.front() + "\" is not found");
            }
            finalize_request(r, 404);
        }
        return;
    }

    const std::string path = map_path(r, r->uri);
    // The descriptor is closed (or released to the open file cache) with the arena.
    const FileInfo of = open_file_for_request(loop, loc, path, *r->arena, false, r);
    if (of.err != 0) {
        const int err = of.err;
        int status = 500;
        LogLevel level = LogLevel::crit;
        if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG) {
            status = 404;
            level = LogLevel::error;
        } else if (err == EACCES || err == ELOOP || err == EMLINK) {
            // ELOOP: disable_symlinks refused a link (nginx answers 403 too).
            status = 403;
            level = LogLevel::error;
        }
        if (status != 404 || loc.log_not_found) {
            log_error(r, level, err, std::string(of.failed) + " \"" + path + "\" failed");
        }
        finalize_request(r, status);
        return;
    }
    if (of.is_dir) {
        // A directory requested without its slash: nginx's 301 to the slashed URI.
        std::string location = std::string(r->uri) + "/";
        if (!r->args.empty()) {
            location += "?";
            location += r->args;
        }
        r->location_header = r->arena->copy(location);
        finalize_request(r, 301);
        return;
    }
    if (!of.is_file) {
        log_error(r, LogLevel::crit, 0, "\"" + path + "\" is not a regular file");
        finalize_request(r, 404);
        return;
    }
    // The conditional and range code below reads the file's times from `st`.
    struct stat st {};
    st.st_mtime = of.mtime;

    const std::int64_t size = of.size;
    r->last_modified = st.st_mtime;
    r->last_modified_text = of.last_modified;
    if (loc.etag && !of.etag.empty()) {
        r->etag = of.etag;  // formatted once, by the open file cache
    } else if (loc.etag) {
        char etag[48];
        const int n = std::snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "\"",
                                    static_cast<std::uint64_t>(st.st_mtime),
                                    static_cast<std::uint64_t>(size));
        r->etag = r->arena->copy(std::string_view(etag, static_cast<std::size_t>(n)));
    }

    // Conditional requests (RFC 9110 section 13.2.2 order), and below, ranges: for a
    // 200 only, not for an error page sent with the error's status (nginx's filters
    // look at the status error_page set).
    const bool plain = r->err_status == 0 || r->err_status == 200;
    if (!plain) {
        // The error page goes out whole.
    } else if (const Header* h = head.find(KnownHeader::if_match)) {
        if (!etag_matches(h->value, r->etag, false)) {
            finalize_request(r, 412);
            return;
        }
    } else if (const Header* h2 = head.find(KnownHeader::if_unmodified_since)) {
        const std::time_t t = parse_http_time(h2->value);
        if (t >= 0 && st.st_mtime > t) {
            finalize_request(r, 412);
            return;
        }
    }
    if (!plain) {
        // As above.
    } else if (const Header* h = head.find(KnownHeader::if_none_match)) {
        if (!r->etag.empty() && etag_matches(h->value, r->etag, true)) {
            r->status = 304;
            finalize_request(r, 304);
            return;
        }
    } else if (const Header* h2 = head.find(KnownHeader::if_modified_since);
               h2 != nullptr && loc.if_modified_since != IfModifiedSince::off) {
        const std::time_t t = parse_http_time(h2->value);
        const bool unchanged =
            loc.if_modified_since == IfModifiedSince::exact ? t == st.st_mtime : t >= st.st_mtime;
        if (t >= 0 && unchanged) {
            finalize_request(r, 304);
            return;
        }
    }

    r->status = 200;
    r->fd = of.fd;
    r->file_mem = of.body;
    r->file_pos = 0;
    r->file_end = size;
    prepare_file_read(r, path, size);  // directio
    r->content_length = size;
    r->content_type =
        mime_type(loc, r->uri.substr(r->uri.rfind('/') + 1).find('.') == std::string_view::npos
                           ? std::string_view{}
                           : r->uri.substr(r->uri.rfind('.') + 1));
    if (const int status = plain ? apply_ranges(r, size, st.st_mtime) : 0; status != 0) {
        r->fd = -1;
        finalize_request(r, status);
        return;
    }
    finalize_request(r, 0);
}

void return_handler(Request* r) {
    const LocationConfig& loc = *r->loc;
    const int code = loc.return_code;
    const bool redirect = code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
    std::string_view text = loc.return_text;
    if (loc.return_value.has_variables()) {
        std::string value;
        loc.return_value.evaluate(r, value);
        const char* copy = r->arena->copy(value);
        if (copy == nullptr) {
            finalize_request(r, 500);
            return;
        }
        text = std::string_view(copy, value.size());
    }
    if (redirect && !text.empty()) {
        r->location_header = text;
        finalize_request(r, code);
        return;
    }
    if (text.empty()) {
        finalize_request(r, code);
        return;
    }
    r->status = code;
    r->mem = text.data();
    r->mem_len = text.size();
    r->content_length = static_cast<std::int64_t>(text.size());
    r->content_type = loc.default_type;
    finalize_request(r, 0);
}

}  // namespace evs::http
