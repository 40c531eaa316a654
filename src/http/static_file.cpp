// The content handlers: static files (with index files, nginx's 301 for a
// directory without its slash, conditional requests and byte ranges) and `return`.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "event/loop.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace evs::http {

using core::LogLevel;

namespace {

void log_error(Request* r, LogLevel level, int err, const std::string& message) {
    core::Log& log = r->c->loop->log();
    if (log.enabled(level)) {
        log.write_conn(level, err, r->c->number, request_log_context, r, "%s", message.c_str());
    }
}

// root + uri, or for an alias the alias + what follows the location's prefix.
std::string map_path(Request* r, std::string_view uri) {
    const LocationConfig& loc = *r->loc;
    std::string path = loc.root;
    if (loc.alias && uri.starts_with(loc.pattern)) {
        path.append(uri.substr(loc.pattern.size()));
    } else {
        path.append(uri);
    }
    return path;
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

// Parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" against `size`. Returns
// 1 for a satisfiable range, 0 to ignore the header (several ranges or an
// unparsable value), -1 for 416.
int parse_range(std::string_view value, std::int64_t size, std::int64_t* start, std::int64_t* end) {
    if (!value.starts_with("bytes=")) {
        return 0;
    }
    value.remove_prefix(6);
    if (value.find(',') != std::string_view::npos) {
        return 0;  // several ranges: served whole until multipart responses land
    }
    const auto dash = value.find('-');
    if (dash == std::string_view::npos) {
        return 0;
    }
    auto number = [](std::string_view text, std::int64_t* out) {
        if (text.empty() || text.size() > 18) {
            return false;
        }
        std::int64_t v = 0;
        for (char ch : text) {
            if (ch < '0' || ch > '9') {
                return false;
            }
            v = v * 10 + (ch - '0');
        }
        *out = v;
        return true;
    };
    const std::string_view first = value.substr(0, dash);
    const std::string_view last = value.substr(dash + 1);
    std::int64_t a = 0;
    std::int64_t b = 0;
    if (first.empty()) {
        if (!number(last, &b)) {
            return 0;
        }
        if (b == 0) {
            return -1;
        }
        *start = b >= size ? 0 : size - b;
        *end = size;
    } else {
        if (!number(first, &a) || (!last.empty() && !number(last, &b))) {
            return 0;
        }
        if (!last.empty() && b < a) {
            return 0;
        }
        if (a >= size) {
            return -1;
        }
        *start = a;
        *end = last.empty() || b >= size ? size : b + 1;
    }
    return 1;
}

void close_fd_cleanup(void* fd) {
    ::close(static_cast<int>(reinterpret_cast<std::intptr_t>(fd)));
}

}  // namespace

void static_handler(Request* r) {
    const RequestHead& head = r->parser.head();
    const LocationConfig& loc = *r->loc;
    if (head.method != Method::get && head.method != Method::head) {
        finalize_request(r, 405);
        return;
    }

    if (r->uri.ends_with('/')) {
        // The index module: the first index file that exists becomes the URI.
        for (const std::string& index : loc.index) {
            std::string path = map_path(r, r->uri) + index;
            struct stat st {};
            if (::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
                const std::string next = std::string(r->uri) + index;
                internal_redirect(r, r->arena->copy(next));
                return;
            }
        }
        std::string dir = map_path(r, r->uri);
        struct stat st {};
        if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            log_error(r, LogLevel::error, 0, "directory index of \"" + dir + "\" is forbidden");
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
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        int status = 500;
        LogLevel level = LogLevel::crit;
        if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG) {
            status = 404;
            level = LogLevel::error;
        } else if (err == EACCES) {
            status = 403;
            level = LogLevel::error;
        }
        if (status != 404 || loc.log_not_found) {
            log_error(r, level, err, "open() \"" + path + "\" failed");
        }
        finalize_request(r, status);
        return;
    }
    r->arena->add_cleanup(close_fd_cleanup,
                          reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    struct stat st {};
    if (::fstat(fd, &st) < 0) {
        log_error(r, LogLevel::crit, errno, "fstat() \"" + path + "\" failed");
        finalize_request(r, 500);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        // A directory requested without its slash: nginx's 301 to the slashed URI.
        std::string location = std::string(r->uri) + "/";
        if (!head.args.empty()) {
            location += "?";
            location += head.args;
        }
        r->location_header = r->arena->copy(location);
        finalize_request(r, 301);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        log_error(r, LogLevel::crit, 0, "\"" + path + "\" is not a regular file");
        finalize_request(r, 404);
        return;
    }

    const std::int64_t size = st.st_size;
    r->last_modified = st.st_mtime;
    if (loc.etag) {
        char etag[48];
        const int n = std::snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "\"",
                                    static_cast<std::uint64_t>(st.st_mtime),
                                    static_cast<std::uint64_t>(size));
        r->etag = r->arena->copy(std::string_view(etag, static_cast<std::size_t>(n)));
    }

    // Conditional requests (RFC 9110 section 13.2.2 order).
    if (const Header* h = head.find(KnownHeader::if_match)) {
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
    if (const Header* h = head.find(KnownHeader::if_none_match)) {
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
    r->fd = fd;
    r->file_pos = 0;
    r->file_end = size;
    r->content_length = size;
    r->content_type =
        mime_type(loc, r->uri.substr(r->uri.rfind('/') + 1).find('.') == std::string_view::npos
                           ? std::string_view{}
                           : r->uri.substr(r->uri.rfind('.') + 1));
    r->accept_ranges = loc.max_ranges != 0;

    const Header* range = head.find(KnownHeader::range);
    if (range != nullptr && loc.max_ranges != 0) {
        bool use_range = true;
        if (const Header* if_range = head.find(KnownHeader::if_range)) {
            // The range applies only to the representation the client has.
            const std::string_view v = if_range->value;
            use_range = v.starts_with("\"") || v.starts_with("W/")
                            ? v == r->etag
                            : parse_http_time(v) == st.st_mtime;
        }
        std::int64_t start = 0;
        std::int64_t end = 0;
        const int result = use_range ? parse_range(range->value, size, &start, &end) : 0;
        char text[80];
        if (result < 0) {
            const int n =
                std::snprintf(text, sizeof(text), "bytes */%lld", static_cast<long long>(size));
            r->content_range = r->arena->copy(std::string_view(text, static_cast<std::size_t>(n)));
            r->fd = -1;
            finalize_request(r, 416);
            return;
        }
        if (result > 0) {
            const int n = std::snprintf(
                text, sizeof(text), "bytes %lld-%lld/%lld", static_cast<long long>(start),
                static_cast<long long>(end - 1), static_cast<long long>(size));
            r->content_range = r->arena->copy(std::string_view(text, static_cast<std::size_t>(n)));
            r->status = 206;
            r->file_pos = start;
            r->file_end = end;
            r->content_length = end - start;
        }
    }
    finalize_request(r, 0);
}

void return_handler(Request* r) {
    const LocationConfig& loc = *r->loc;
    const int code = loc.return_code;
    const bool redirect = code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
    if (redirect && !loc.return_text.empty()) {
        r->location_header = loc.return_text;
        finalize_request(r, code);
        return;
    }
    if (loc.return_text.empty()) {
        finalize_request(r, code);
        return;
    }
    r->status = code;
    r->mem = loc.return_text.data();
    r->mem_len = loc.return_text.size();
    r->content_length = static_cast<std::int64_t>(loc.return_text.size());
    r->content_type = loc.default_type;
    finalize_request(r, 0);
}

}  // namespace evs::http
