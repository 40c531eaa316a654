// Directory listings (nginx's autoindex): reading the directory under disable_symlinks,
// and the html, xml and json renderers. Thread: the worker's loop thread.

#include "http/autoindex.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "core/arena.hpp"
#include "event/loop.hpp"
#include "http/location_symlinks.hpp"
#include "http/open_file.hpp"
#include "http/request.hpp"

namespace evs::http {

using core::LogLevel;

namespace {

constexpr std::size_t k_name_columns = 50;  // nginx's NGX_HTTP_AUTOINDEX_NAME_LEN
constexpr std::size_t k_max_callback = 128;
constexpr char k_months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr char k_weekdays[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// ASCII letters and digits, whatever the locale.
bool is_alnum(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Text growing in arena memory. A grown buffer leaves the old one in the arena until
// the request ends: at most as many bytes again as the listing, for no copy per entry.
class ArenaText {
public:
    explicit ArenaText(core::Arena& arena) : arena_(arena) {}

    void append(std::string_view text) {
        if (reserve(text.size())) {
            std::memcpy(data_ + len_, text.data(), text.size());
            len_ += text.size();
        }
    }
    void push(char ch) { append(std::string_view(&ch, 1)); }
    void spaces(std::size_t n) {
        if (reserve(n)) {
            std::memset(data_ + len_, ' ', n);
            len_ += n;
        }
    }
    __attribute__((format(printf, 2, 3))) void printf(const char* format, ...) {
        char buf[96];
        va_list args;
        va_start(args, format);
        const int n = std::vsnprintf(buf, sizeof(buf), format, args);
        va_end(args);
        append(std::string_view(
            buf, n < 0 ? 0 : std::min(static_cast<std::size_t>(n), sizeof(buf) - 1)));
    }
    // Nothing (a null data pointer) once an allocation has failed.
    std::string_view view() const {
        return failed_ ? std::string_view{} : std::string_view(data_, len_);
    }

private:
    bool reserve(std::size_t more) {
        if (failed_) {
            return false;
        }
        if (len_ + more <= cap_) {
            return true;
        }
        const std::size_t cap = std::max({cap_ * 2, len_ + more, std::size_t{2048}});
        auto* data = static_cast<char*>(arena_.allocate(cap, 1));
        if (data == nullptr) {
            failed_ = true;
            return false;
        }
        if (len_ != 0) {
            std::memcpy(data, data_, len_);
        }
        data_ = data;
        cap_ = cap;
        return true;
    }

    core::Arena& arena_;
    char* data_ = nullptr;
    std::size_t len_ = 0;
    std::size_t cap_ = 0;
    bool failed_ = false;
};

// The code point at the start of `text` and its length in *len, or -1 (with *len = 1)
// for a byte that does not begin a valid UTF-8 sequence (overlong forms, surrogates
// and values past U+10FFFF are invalid too).
std::int32_t decode_utf8(std::string_view text, std::size_t* len) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    *len = 1;
    if (p[0] < 0x80) {
        return p[0];
    }
    std::size_t need = 0;
    std::int32_t cp = 0;
    std::int32_t min = 0;
    if ((p[0] & 0xE0) == 0xC0) {
        need = 1;
        cp = p[0] & 0x1F;
        min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        need = 2;
        cp = p[0] & 0x0F;
        min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        need = 3;
        cp = p[0] & 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    if (need >= n) {
        return -1;
    }
    for (std::size_t i = 1; i <= need; ++i) {
        if ((p[i] & 0xC0) != 0x80) {
            return -1;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return -1;
    }
    *len = need + 1;
    return cp;
}

// The number of characters of a valid UTF-8 name, or its bytes when it is not valid
// UTF-8 (then the name is shown byte for byte, as nginx does without a charset).
std::size_t display_length(std::string_view name, bool* utf8) {
    std::size_t chars = 0;
    for (std::size_t pos = 0; pos < name.size(); ++chars) {
        std::size_t len = 0;
        if (decode_utf8(name.substr(pos), &len) < 0) {
            *utf8 = false;
            return name.size();
        }
        pos += len;
    }
    *utf8 = true;
    return chars;
}

// The first `chars` characters of `name` (bytes when it is not UTF-8).
std::string_view first_chars(std::string_view name, std::size_t chars, bool utf8) {
    if (!utf8) {
        return name.substr(0, chars);
    }
    std::size_t pos = 0;
    for (std::size_t i = 0; i < chars && pos < name.size(); ++i) {
        std::size_t len = 0;
        decode_utf8(name.substr(pos), &len);
        pos += len;
    }
    return name.substr(0, pos);
}

// nginx's ngx_escape_html: the four characters that end text or an attribute.
void append_html(ArenaText& out, std::string_view text) {
    for (char ch : text) {
        switch (ch) {
            case '<':
                out.append("&lt;");
                break;
            case '>':
                out.append("&gt;");
                break;
            case '&':
                out.append("&amp;");
                break;
            case '"':
                out.append("&quot;");
                break;
            default:
                out.push(ch);
        }
    }
}

// A URI path component: everything but ALPHA, DIGIT, "-", ".", "_", "~" as %XX, as
// nginx's NGX_ESCAPE_URI_COMPONENT, so a name is one relative path segment whatever
// it holds ("?", "#", "%", ":" and quotes included).
void append_uri_component(ArenaText& out, std::string_view text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push(ch);
        } else {
            const char escaped[] = {'%', k_hex[c >> 4], k_hex[c & 15]};
            out.append(std::string_view(escaped, 3));
        }
    }
}

// Text and attribute values of XML 1.0, which cannot hold most control characters
// even as references: those, and bytes that are not UTF-8, become U+FFFD.
void append_xml(ArenaText& out, std::string_view text) {
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t len = 0;
        const std::int32_t cp = decode_utf8(text.substr(pos), &len);
        if (cp < 0) {
            out.append(k_replacement);
        } else if (cp == '\t' || cp == '\n' || cp == '\r') {
            // As references, so that a parser's line-end normalisation keeps them.
            out.printf("&#%d;", static_cast<int>(cp));
        } else if (cp < 0x20) {
            out.append(k_replacement);
        } else if (cp == '<' || cp == '>' || cp == '&' || cp == '"') {
            append_html(out, text.substr(pos, 1));
        } else {
            out.append(text.substr(pos, len));
        }
        pos += len;
    }
}

// A JSON string's content. `javascript`: also U+2028 and U+2029, which JSON allows in
// strings but JavaScript before ES2019 did not (JSONP is run as a script).
void append_json(ArenaText& out, std::string_view text, bool javascript) {
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t len = 0;
        const std::int32_t cp = decode_utf8(text.substr(pos), &len);
        switch (cp) {
            case -1:
                out.append("\\ufffd");
                break;
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\f':
                out.append("\\f");
                break;
            default:
                if (cp < 0x20 || (javascript && (cp == 0x2028 || cp == 0x2029))) {
                    out.printf("\\u%04x", static_cast<unsigned>(cp));
                } else {
                    out.append(text.substr(pos, len));
                }
        }
        pos += len;
    }
}

tm broken_down(std::time_t t, bool local) {
    tm result{};
    if (local) {
        localtime_r(&t, &result);
    } else {
        gmtime_r(&t, &result);
    }
    return result;
}

void render_html(ArenaText& out, std::string_view uri, std::span<const AutoindexEntry> entries,
                 const AutoindexOptions& options) {
    out.append("<html>\r\n<head><title>Index of ");
    append_html(out, uri);
    out.append("</title></head>\r\n<body>\r\n<h1>Index of ");
    append_html(out, uri);
    out.append("</h1><hr><pre><a href=\"../\">../</a>\r\n");

    for (const AutoindexEntry& entry : entries) {
        const bool dir = entry.kind == AutoindexEntry::Kind::directory;
        out.append("<a href=\"");
        append_uri_component(out, entry.name);
        if (dir) {
            out.push('/');
        }
        out.append("\">");

        // The name column: 50 characters, a longer name cut to 47 and "..>".
        bool utf8 = false;
        std::size_t len = display_length(entry.name, &utf8);
        if (len > k_name_columns) {
            append_html(out, first_chars(entry.name, k_name_columns - 3, utf8));
            out.append("..&gt;</a>");
        } else {
            append_html(out, entry.name);
            if (dir && len < k_name_columns) {
                out.push('/');
                ++len;
            }
            out.append("</a>");
            out.spaces(k_name_columns - len);
        }

        const tm t = broken_down(entry.mtime, options.localtime);
        out.printf(" %02d-%s-%d %02d:%02d ", t.tm_mday, k_months[t.tm_mon], t.tm_year + 1900,
                   t.tm_hour, t.tm_min);
        char size[32];
        out.append(std::string_view(
            size, format_autoindex_size(entry.size, options.exact_size, dir, size)));
        out.append("\r\n");
    }
    out.append("</pre><hr></body>\r\n</html>\r\n");
}

std::string_view kind_name(AutoindexEntry::Kind kind) {
    switch (kind) {
        case AutoindexEntry::Kind::directory:
            return "directory";
        case AutoindexEntry::Kind::file:
            return "file";
        case AutoindexEntry::Kind::other:
            break;
    }
    return "other";
}

void render_xml(ArenaText& out, std::span<const AutoindexEntry> entries) {
    out.append("<?xml version=\"1.0\"?>\r\n<list>\r\n");
    for (const AutoindexEntry& entry : entries) {
        const std::string_view kind = kind_name(entry.kind);
        const tm t = broken_down(entry.mtime, false);
        out.push('<');
        out.append(kind);
        out.printf(" mtime=\"%04d-%02d-%02dT%02d:%02d:%02dZ\"", t.tm_year + 1900, t.tm_mon + 1,
                   t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
        if (entry.kind == AutoindexEntry::Kind::file) {
            out.printf(" size=\"%" PRId64 "\"", entry.size);
        }
        out.push('>');
        append_xml(out, entry.name);
        out.append("</");
        out.append(kind);
        out.append(">\r\n");
    }
    out.append("</list>\r\n");
}

void render_json(ArenaText& out, std::span<const AutoindexEntry> entries,
                 std::string_view callback) {
    const bool jsonp = !callback.empty();
    if (jsonp) {
        out.append(callback);
        out.push('(');
    }
    out.push('[');
    bool first = true;
    for (const AutoindexEntry& entry : entries) {
        out.append(first ? "\r\n{ \"name\":\"" : ",\r\n{ \"name\":\"");
        first = false;
        append_json(out, entry.name, jsonp);
        out.append("\", \"type\":\"");
        out.append(kind_name(entry.kind));
        const tm t = broken_down(entry.mtime, false);
        out.printf("\", \"mtime\":\"%s, %02d %s %04d %02d:%02d:%02d GMT\"", k_weekdays[t.tm_wday],
                   t.tm_mday, k_months[t.tm_mon], t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
        if (entry.kind == AutoindexEntry::Kind::file) {
            out.printf(", \"size\":%" PRId64, entry.size);
        }
        out.append(" }");
    }
    out.append("\r\n]");
    out.append(jsonp ? ");\r\n" : "\r\n");
}

__attribute__((format(printf, 4, 5))) void log_request_error(Request* r, LogLevel level, int err,
                                                             const char* format, ...) {
    core::Log& log = r->c->loop->log();
    if (log.enabled(level)) {
        va_list args;
        va_start(args, format);
        log.vwrite(level, err, r->c->number, request_log_context, r, format, args);
        va_end(args);
    }
}

// The directory to list. nginx's autoindex calls opendir() by name and relies on the
// index module's disable_symlinks check of the directory just before; here, under
// disable_symlinks, the directory itself is opened with that check (the openat() walk
// of open_file.hpp), so that a directory swapped for a symbolic link after the check,
// or while the check's answer is kept by the open file cache, is refused, not listed.
// Nothing (and errno) on failure; *failed names the call for the log.
DIR* open_directory(const char* dir, const SymlinkPolicy& policy, const char** failed) {
    if (policy.check == SymlinkCheck::off) {
        *failed = "opendir()";
        return ::opendir(dir);
    }
    const int fd = open_checked(dir, O_RDONLY | O_DIRECTORY, policy, failed);
    if (fd < 0) {
        errno = -fd;
        return nullptr;
    }
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
        const int err = errno;
        ::close(fd);
        errno = err;
        *failed = "fdopendir()";
    }
    return d;
}

void close_dir_cleanup(void* dir) {
    ::closedir(static_cast<DIR*>(dir));
}

}  // namespace

std::size_t format_autoindex_size(std::int64_t size, bool exact, bool directory, char* out) {
    if (exact) {
        if (directory) {
            std::memcpy(out, "                  -", 19);
            return 19;
        }
        return static_cast<std::size_t>(std::snprintf(out, 24, "%19" PRId64, size));
    }
    if (directory) {
        std::memcpy(out, "      -", 7);
        return 7;
    }
    // nginx's rounding: to the nearest unit, the unit chosen by the size; sizes up to
    // 9999 bytes are exact.
    constexpr std::int64_t k_kib = 1024;
    constexpr std::int64_t k_mib = 1024 * k_kib;
    constexpr std::int64_t k_gib = 1024 * k_mib;
    std::int64_t value = size;
    char scale = '\0';
    if (size > k_gib - 1) {
        value = size / k_gib + (size % k_gib > k_gib / 2 - 1 ? 1 : 0);
        scale = 'G';
    } else if (size > k_mib - 1) {
        value = size / k_mib + (size % k_mib > k_mib / 2 - 1 ? 1 : 0);
        scale = 'M';
    } else if (size > 9999) {
        value = size / k_kib + (size % k_kib > k_kib / 2 - 1 ? 1 : 0);
        scale = 'K';
    }
    const int n = scale != '\0' ? std::snprintf(out, 24, "%6" PRId64 "%c", value, scale)
                                : std::snprintf(out, 24, " %6" PRId64, value);
    return n < 0 ? 0 : static_cast<std::size_t>(n);
}

void sort_autoindex_entries(std::span<AutoindexEntry> entries) {
    std::sort(entries.begin(), entries.end(), [](const AutoindexEntry& a, const AutoindexEntry& b) {
        const bool a_dir = a.kind == AutoindexEntry::Kind::directory;
        const bool b_dir = b.kind == AutoindexEntry::Kind::directory;
        if (a_dir != b_dir) {
            return a_dir;
        }
        // Unsigned bytes, as strcmp() compares them.
        return a.name < b.name;
    });
}

std::string_view render_autoindex(core::Arena& arena, std::string_view uri,
                                  std::span<const AutoindexEntry> entries,
                                  const AutoindexOptions& options) {
    ArenaText out(arena);
    switch (options.format) {
        case AutoindexFormat::html:
            render_html(out, uri, entries, options);
            break;
        case AutoindexFormat::xml:
            render_xml(out, entries);
            break;
        case AutoindexFormat::json:
            render_json(out, entries, {});
            break;
        case AutoindexFormat::jsonp:
            render_json(out, entries, options.callback);
            break;
    }
    return out.view();
}

std::string_view find_callback_argument(std::string_view args) {
    constexpr std::string_view k_key = "callback=";
    std::size_t pos = 0;
    while (pos <= args.size()) {
        std::size_t end = args.find('&', pos);
        if (end == std::string_view::npos) {
            end = args.size();
        }
        const std::string_view arg = args.substr(pos, end - pos);
        if (arg.starts_with(k_key)) {
            return arg.substr(k_key.size());
        }
        pos = end + 1;
    }
    return {};
}

bool valid_callback(std::string_view name) {
    if (name.size() > k_max_callback) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char ch) {
        return is_alnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.';
    });
}

void autoindex_handler(Request* r, const char* dir) {
    const LocationConfig& loc = *r->loc;
    AutoindexOptions options;
    options.format = loc.autoindex_format;
    options.exact_size = loc.autoindex_exact_size;
    options.localtime = loc.autoindex_localtime;
    std::string_view content_type = "text/html";
    switch (options.format) {
        case AutoindexFormat::html:
            break;
        case AutoindexFormat::xml:
            content_type = "text/xml";
            break;
        case AutoindexFormat::json:
            content_type = "application/json";
            break;
        case AutoindexFormat::jsonp:
            options.callback = find_callback_argument(r->parser.head().args);
            if (!valid_callback(options.callback)) {
                // The callback is written into a script: only a plain name is let through.
                const std::string_view shown = options.callback.substr(0, k_max_callback);
                log_request_error(r, LogLevel::info, 0, "client sent invalid callback \"%.*s\"",
                                  static_cast<int>(shown.size()), shown.data());
                finalize_request(r, 400);
                return;
            }
            content_type = options.callback.empty() ? "application/json" : "application/javascript";
            break;
    }

    const char* failed = "opendir()";
    DIR* d = open_directory(dir, policy_of(loc, dir, r), &failed);
    if (d == nullptr) {
        const int err = errno;
        int status = 500;
        LogLevel level = LogLevel::crit;
        if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG) {
            status = 404;
            level = LogLevel::error;
        } else if (err == EACCES || err == ELOOP || err == EMLINK) {
            // ELOOP: disable_symlinks refused a link on the way (403, as for a file).
            status = 403;
            level = LogLevel::error;
        }
        log_request_error(r, level, err, "%s \"%s\" failed", failed, dir);
        finalize_request(r, status);
        return;
    }
    if (!r->arena->add_cleanup(close_dir_cleanup, d)) {
        ::closedir(d);
        finalize_request(r, 500);
        return;
    }

    // The entries grow in the arena, doubling; names are copied next to them.
    AutoindexEntry* entries = nullptr;
    std::size_t count = 0;
    std::size_t capacity = 0;
    for (;;) {
        errno = 0;
        const dirent* de = ::readdir(d);
        if (de == nullptr) {
            if (errno != 0) {
                log_request_error(r, LogLevel::crit, errno, "readdir() \"%s\" failed", dir);
                finalize_request(r, 500);
                return;
            }
            break;
        }
        if (de->d_name[0] == '.') {
            continue;  // hidden files, "." and ".."
        }
        struct stat st {};
        if (::fstatat(::dirfd(d), de->d_name, &st, 0) < 0) {
            int err = errno;
            // A dangling or looping symbolic link is listed with the link's own size
            // and time (type "other"), as nginx does; a file removed meanwhile is not.
            if (err == ENOENT || err == ELOOP) {
                if (::fstatat(::dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                    err = 0;
                } else if (errno == ENOENT) {
                    continue;
                } else {
                    err = errno;
                }
            }
            if (err != 0) {
                log_request_error(r, LogLevel::crit, err, "stat() \"%s%s\" failed", dir,
                                  de->d_name);
                if (err == EACCES) {
                    continue;  // nginx leaves the entry out
                }
                finalize_request(r, 500);
                return;
            }
        }
        if (count == capacity) {
            const std::size_t grown = capacity == 0 ? 64 : capacity * 2;
            auto* more = static_cast<AutoindexEntry*>(
                r->arena->allocate(grown * sizeof(AutoindexEntry), alignof(AutoindexEntry)));
            if (more == nullptr) {
                finalize_request(r, 500);
                return;
            }
            if (count != 0) {
                std::memcpy(static_cast<void*>(more), entries, count * sizeof(AutoindexEntry));
            }
            entries = more;
            capacity = grown;
        }
        const char* name = r->arena->copy(de->d_name);
        if (name == nullptr) {
            finalize_request(r, 500);
            return;
        }
        AutoindexEntry& entry = entries[count++];
        entry = AutoindexEntry{};
        entry.name = name;
        entry.mtime = st.st_mtime;
        entry.size = st.st_size;
        entry.kind = S_ISDIR(st.st_mode)   ? AutoindexEntry::Kind::directory
                     : S_ISREG(st.st_mode) ? AutoindexEntry::Kind::file
                                           : AutoindexEntry::Kind::other;
    }

    const std::span<AutoindexEntry> list(entries, count);
    sort_autoindex_entries(list);
    const std::string_view body = render_autoindex(*r->arena, r->uri, list, options);
    if (body.data() == nullptr) {
        finalize_request(r, 500);
        return;
    }
    r->status = 200;
    r->mem = body.data();
    r->mem_len = body.size();
    r->content_length = static_cast<std::int64_t>(body.size());
    r->content_type = content_type;
    finalize_request(r, 0);
}

}  // namespace evs::http
