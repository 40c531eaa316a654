#include "http/open_file_cache.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "core/conf_values.hpp"
#include "event/backends/backend.hpp"
#include "event/loop.hpp"
#include "http/config.hpp"
#include "http/location_symlinks.hpp"
#include "http/response.hpp"

namespace evs::http {

using core::LogLevel;

struct OpenFileCache::Entry {
    std::string path;
    FileInfo info;  // info.fd is the cached descriptor (-1 when not kept)
    char* body = nullptr;
    char etag[48];
    char last_modified[40];
    std::uint32_t uses = 0;
    std::uint32_t refs = 0;  // responses still sending from fd or body
    core::Msec accessed = 0;
    core::Msec validated = 0;
    SymlinkPolicy symlinks;  // the disable_symlinks the entry was opened under
    bool removed = false;
    std::vector<int> watches;  // inotify watch descriptors this entry holds
    Entry* prev = nullptr;     // LRU, towards the most recently used
    Entry* next = nullptr;
};

namespace {

// What the directory watches report. Reads (IN_ACCESS, IN_OPEN, IN_CLOSE_NOWRITE)
// are left out: serving a file must not invalidate it.
constexpr std::uint32_t k_watch_mask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM |
                                       IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF |
                                       IN_MOVE_SELF | IN_ONLYDIR;

// The worker's inotify descriptor and its directory watches, shared by the caches.
class Watcher {
public:
    // Creates the inotify descriptor on first use; false when inotify cannot be
    // used (logged once), and the caches rely on open_file_cache_valid.
    bool ready(event::Loop& loop) {
        if (fd_ >= 0) {
            return true;
        }
        if (failed_) {
            return false;
        }
        fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd_ < 0) {
            fail(loop, errno, "inotify_init1() failed");
            return false;
        }
        connection_ = loop.pool().get_internal(fd_);
        if (connection_ == nullptr) {
            fail(loop, 0, "no internal connection slot for inotify");
            return false;
        }
        // Changes are applied during dispatch, before handlers posted in the same
        // turn run: a request that arrived after a change never sees the old file.
        connection_->immediate = 1;
        connection_->read.handler = on_readable;
        connection_->data = this;
        if (loop.backend().add(&connection_->read, event::k_clear_event) != core::Status::ok) {
            fail(loop, errno, "adding the inotify descriptor to the loop failed");
            return false;
        }
        loop_ = &loop;
        return true;
    }

    // A reference to a watch on `dir`: the watch descriptor, or -errno.
    int acquire(const std::string& dir) {
        if (auto it = by_path_.find(dir); it != by_path_.end()) {
            ++by_wd_[it->second].refs;
            return it->second;
        }
        const int wd = ::inotify_add_watch(fd_, dir.c_str(), k_watch_mask);
        if (wd < 0) {
            const int err = errno;
            if (err != ENOENT && err != ENOTDIR && err != EACCES && !warned_limit_) {
                // ENOSPC: fs.inotify.max_user_watches is reached.
                warned_limit_ = true;
                loop_->log().write(LogLevel::warn, err,
                                   "inotify_add_watch(\"%s\") failed, cached files are checked "
                                   "every open_file_cache_valid instead",
                                   dir.c_str());
            }
            return -err;
        }
        Watch& w = by_wd_[wd];  // the same directory reached by another path shares it
        w.paths.push_back(dir);
        ++w.refs;
        by_path_.emplace(dir, wd);
        return wd;
    }

    void release(int wd) {
        auto it = by_wd_.find(wd);
        if (it == by_wd_.end() || --it->second.refs > 0) {
            return;  // gone already (IN_IGNORED) or still used
        }
        ::inotify_rm_watch(fd_, wd);
        for (const std::string& p : it->second.paths) {
            by_path_.erase(p);
        }
        by_wd_.erase(it);
    }

    void add_cache(OpenFileCache* c) { caches_.push_back(c); }
    void remove_cache(OpenFileCache* c) { std::erase(caches_, c); }

    bool watching() const { return fd_ >= 0; }
    std::size_t watch_count() const { return by_wd_.size(); }

    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
        if (connection_ != nullptr) {
            connection_->fd = -1;
            connection_ = nullptr;
        }
        by_path_.clear();
        by_wd_.clear();
        failed_ = false;
        warned_limit_ = false;
        loop_ = nullptr;
    }

private:
    struct Watch {
        std::size_t refs = 0;
        std::vector<std::string> paths;
    };

    void fail(event::Loop& loop, int err, const char* what) {
        failed_ = true;
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
        if (connection_ != nullptr) {
            connection_->fd = -1;
            connection_ = nullptr;
        }
        loop.log().write(LogLevel::warn, err,
                         "%s, cached files are checked every open_file_cache_valid instead", what);
    }

    static void on_readable(event::Event* ev) {
        auto* self = static_cast<Watcher*>(event::connection_of(ev)->data);
        ev->ready = 0;
        if (!self->drain()) {
            // More is queued: go on next turn, after the connections had theirs. A
            // directory that never stops changing (a log written next to the root)
            // must not keep the worker here.
            ev->ready = 1;
            self->loop_->post(ev, event::PostedQueue::next);
        }
    }

    // Reads and handles at most k_max_reads buffers of events; false when it stopped
    // with events left to read.
    bool drain() {
        static constexpr int k_max_reads = 8;
        alignas(inotify_event) char buf[8192];
        for (int reads = 0; reads < k_max_reads; ++reads) {
            const ssize_t n = ::read(fd_, buf, sizeof(buf));
            if (n <= 0) {
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (n < 0 && errno != EAGAIN) {
                    loop_->log().write(LogLevel::alert, errno, "read() inotify failed");
                }
                return true;
            }
            for (ssize_t pos = 0; pos < n;) {
                const auto* e = reinterpret_cast<const inotify_event*>(buf + pos);
                pos += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
                handle(*e);
            }
        }
        return false;
    }

    void handle(const inotify_event& e) {
        if (e.mask & IN_Q_OVERFLOW) {
            // Changes were lost: nothing cached can be trusted.
            for (OpenFileCache* c : caches_) {
                c->invalidate_all();
            }
            return;
        }
        auto it = by_wd_.find(e.wd);
        if (it == by_wd_.end()) {
            return;
        }
        const std::string_view name = e.len > 0 ? std::string_view(e.name) : std::string_view{};
        // Copied: invalidating may release this very watch.
        const std::vector<std::string> paths = it->second.paths;
        for (const std::string& dir : paths) {
            std::string target = dir;
            if (!name.empty()) {
                if (target != "/") {
                    target += '/';
                }
                target.append(name);
            }
            if (loop_->log().enabled(LogLevel::debug)) {
                loop_->log().write(LogLevel::debug, 0, "open file cache: change 0x%x at \"%s\"",
                                   e.mask, target.c_str());
            }
            for (OpenFileCache* c : caches_) {
                c->invalidate(target);
            }
        }
        if (e.mask & IN_IGNORED) {
            // The kernel dropped the watch (the directory is gone).
            if (auto again = by_wd_.find(e.wd); again != by_wd_.end()) {
                for (const std::string& p : again->second.paths) {
                    by_path_.erase(p);
                }
                by_wd_.erase(again);
            }
        }
    }

    int fd_ = -1;
    bool failed_ = false;
    bool warned_limit_ = false;
    event::Connection* connection_ = nullptr;
    event::Loop* loop_ = nullptr;
    std::unordered_map<std::string, int> by_path_;
    std::unordered_map<int, Watch> by_wd_;
    std::vector<OpenFileCache*> caches_;
};

struct Registry {
    Watcher watcher;
    std::vector<std::pair<const OpenFileCacheConfig*, std::unique_ptr<OpenFileCache>>> caches;
};

thread_local Registry g_registry;

void destroy(OpenFileCache::Entry* e) {
    if (e->info.fd >= 0) {
        ::close(e->info.fd);
    }
    std::free(e->body);
    delete e;
}

FileInfo failed(int err) {
    FileInfo info;
    info.err = err;
    return info;
}

FileInfo info_from_stat(const struct stat& st) {
    FileInfo info;
    info.is_dir = S_ISDIR(st.st_mode);
    info.is_file = S_ISREG(st.st_mode);
    info.size = st.st_size;
    info.mtime = st.st_mtime;
    info.inode = st.st_ino;
    info.dev = st.st_dev;
    return info;
}

// open() and fstat(): the info, with the descriptor of anything but a directory.
// With disable_symlinks the path is walked with openat() (open_file.hpp).
FileInfo open_and_stat(const char* path, const SymlinkPolicy& symlinks) {
    FileInfo info;
    const char* call = "open()";
    const int fd = symlinks.check == SymlinkCheck::off
                       ? ::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
                       : open_checked(path, O_RDONLY | O_NONBLOCK, symlinks, &call);
    if (fd < 0) {
        info.err = symlinks.check == SymlinkCheck::off ? errno : -fd;
        info.failed = call;
        return info;
    }
    struct stat st {};
    if (::fstat(fd, &st) < 0) {
        info.err = errno;
        info.failed = "fstat()";
        ::close(fd);
        return info;
    }
    info = info_from_stat(st);
    if (info.is_dir) {
        ::close(fd);
    } else {
        info.fd = fd;
    }
    return info;
}

// The index module's probe: stat() without descriptors; with disable_symlinks the
// checked walk, as nginx's ngx_file_info_wrapper.
FileInfo stat_only(const char* path, const SymlinkPolicy& symlinks) {
    FileInfo info;
    if (symlinks.check == SymlinkCheck::off) {
        struct stat st {};
        if (::stat(path, &st) != 0) {
            info.err = errno;
            info.failed = "stat()";
            return info;
        }
        return info_from_stat(st);
    }
    const char* call = "open()";
    const int fd = open_checked(path, O_PATH, symlinks, &call);
    if (fd < 0) {
        info.err = -fd;
        info.failed = call;
        return info;
    }
    struct stat st {};
    const int rc = ::fstat(fd, &st);
    const int err = errno;
    ::close(fd);
    if (rc != 0) {
        info.err = err;
        info.failed = "fstat()";
        return info;
    }
    if (S_ISLNK(st.st_mode)) {
        // O_PATH with O_NOFOLLOW opened the link itself.
        info.err = ELOOP;
        info.failed = call;
        return info;
    }
    return info_from_stat(st);
}

// The whole file, read once; nullptr when it changed size under us.
char* read_body(int fd, std::int64_t size) {
    auto* body = static_cast<char*>(std::malloc(size > 0 ? static_cast<std::size_t>(size) : 1));
    if (body == nullptr) {
        return nullptr;
    }
    std::int64_t got = 0;
    while (got < size) {
        const ssize_t n = ::pread(fd, body + got, static_cast<std::size_t>(size - got), got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            std::free(body);
            return nullptr;
        }
        got += n;
    }
    return body;
}

}  // namespace

OpenFileCache::OpenFileCache(event::Loop& loop, const OpenFileCacheConfig& config)
    : loop_(loop), config_(config) {
    g_registry.watcher.add_cache(this);
}

OpenFileCache::~OpenFileCache() {
    invalidate_all();
    g_registry.watcher.remove_cache(this);
}

std::size_t OpenFileCache::open_fds() const {
    return static_cast<std::size_t>(std::count_if(
        entries_.begin(), entries_.end(), [](const auto& kv) { return kv.second->info.fd >= 0; }));
}

void OpenFileCache::touch(Entry* e) {
    if (lru_head_ == e) {
        return;
    }
    // Unlink (if linked), then push at the head.
    if (e->prev != nullptr) {
        e->prev->next = e->next;
    }
    if (e->next != nullptr) {
        e->next->prev = e->prev;
    }
    if (lru_tail_ == e) {
        lru_tail_ = e->prev;
    }
    e->prev = nullptr;
    e->next = lru_head_;
    if (lru_head_ != nullptr) {
        lru_head_->prev = e;
    }
    lru_head_ = e;
    if (lru_tail_ == nullptr) {
        lru_tail_ = e;
    }
}

void OpenFileCache::remove(Entry* e) {
    entries_.erase(e->path);
    if (e->prev != nullptr) {
        e->prev->next = e->next;
    } else {
        lru_head_ = e->next;
    }
    if (e->next != nullptr) {
        e->next->prev = e->prev;
    } else {
        lru_tail_ = e->prev;
    }
    e->prev = e->next = nullptr;
    for (int wd : e->watches) {
        g_registry.watcher.release(wd);
    }
    e->watches.clear();
    e->removed = true;
    if (e->refs == 0) {
        destroy(e);
    }
}

void OpenFileCache::release(Entry* e) {
    if (--e->refs == 0 && e->removed) {
        destroy(e);
    }
}

void OpenFileCache::invalidate(std::string_view path) {
    if (path == "/") {
        invalidate_all();
        return;
    }
    if (auto it = entries_.find(path); it != entries_.end()) {
        remove(it->second);
    }
    std::string prefix(path);
    prefix += '/';
    for (auto it = entries_.lower_bound(prefix);
         it != entries_.end() && std::string_view(it->first).starts_with(prefix);) {
        Entry* e = it->second;
        ++it;  // remove() erases e's node only
        remove(e);
    }
}

void OpenFileCache::invalidate_all() {
    while (!entries_.empty()) {
        remove(entries_.begin()->second);
    }
}

void OpenFileCache::expire(core::Msec now, std::size_t count) {
    while (count-- > 0 && lru_tail_ != nullptr && now - lru_tail_->accessed >= config_.inactive) {
        remove(lru_tail_);
    }
}

// nginx's open_file_cache_valid: after `valid`, an entry is checked against the file
// system. A file that is still the same (inode, size, mtime) keeps its descriptor.
bool OpenFileCache::still_valid(Entry* e, core::Msec now, core::Msec valid) {
    return now - e->validated < valid || [&] {
        if (e->info.err != 0 || e->info.fd < 0) {
            return false;  // errors, directories and unkept files are simply looked up again
        }
        struct stat st {};
        if (::stat(e->path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
            st.st_ino != e->info.inode || st.st_dev != e->info.dev || st.st_size != e->info.size ||
            st.st_mtime != e->info.mtime) {
            return false;
        }
        e->validated = now;
        return true;
    }();
}

FileInfo OpenFileCache::lookup(std::string_view path, const OpenFileOptions& options, Entry** entry,
                               bool* owned_fd) {
    *entry = nullptr;
    *owned_fd = false;
    const core::Msec now = loop_.time().msec();
    expire(now, 2);

    std::uint32_t uses = 0;
    if (auto it = entries_.find(path); it != entries_.end()) {
        Entry* e = it->second;
        if (e->symlinks == options.symlinks && still_valid(e, now, options.valid)) {
            ++e->uses;
            e->accessed = now;
            touch(e);
            if (e->info.err != 0 || e->info.is_dir || e->info.fd >= 0) {
                FileInfo info = e->info;
                if (info.fd >= 0) {
                    ++e->refs;
                    *entry = e;
                    info.etag = e->info.etag;
                    info.last_modified = e->info.last_modified;
                    info.body = e->body != nullptr &&
                                        static_cast<std::uint64_t>(info.size) <= options.body_max
                                    ? e->body
                                    : nullptr;
                }
                return info;
            }
            // Known, but not used often enough yet to keep its descriptor.
            uses = e->uses - 1;
        }
        remove(e);
    }

    // The watches go first: a change after them is reported, and the file opened
    // after them cannot be older than what they watch.
    std::vector<int> watches;
    if (options.events && g_registry.watcher.ready(loop_)) {
        std::string_view from = options.watch_from;
        while (from.size() > 1 && from.back() == '/') {
            from.remove_suffix(1);
        }
        if (from == "/") {
            from = {};
        }
        std::size_t start = path.starts_with(from) ? from.size() : path.rfind('/');
        if (start == std::string_view::npos) {
            start = 0;
        }
        std::string dir;
        for (std::size_t i = path.find('/', start);
             i != std::string_view::npos && i + 1 < path.size(); i = path.find('/', i + 1)) {
            dir.assign(i == 0 ? std::string_view("/") : path.substr(0, i));
            const int wd = g_registry.watcher.acquire(dir);
            if (wd >= 0) {
                watches.push_back(wd);
                continue;
            }
            // Missing: the watched directory above reports its creation. Cannot be
            // watched (limits, permissions): the entry relies on `valid`.
            break;
        }
    }

    const std::string key(path);
    FileInfo info = open_and_stat(key.c_str(), options.symlinks);
    if (info.err != 0 && !options.errors) {
        for (int wd : watches) {
            g_registry.watcher.release(wd);
        }
        return info;
    }

    while (!entries_.empty() && entries_.size() >= config_.max) {
        remove(lru_tail_);
    }
    auto* e = new Entry;
    e->path = key;
    e->uses = uses + 1;
    e->accessed = e->validated = now;
    e->watches = std::move(watches);
    e->symlinks = options.symlinks;
    e->info = info;
    e->info.fd = -1;
    if (info.fd >= 0) {
        if (info.is_file && e->uses >= options.min_uses) {
            e->info.fd = info.fd;
            if (info.size <= static_cast<std::int64_t>(options.body_max)) {
                e->body = read_body(info.fd, info.size);
                info.body = e->body;
            }
            // The ETag and Last-Modified values, formatted once rather than per request.
            const int n = std::snprintf(e->etag, sizeof(e->etag), "\"%" PRIx64 "-%" PRIx64 "\"",
                                        static_cast<std::uint64_t>(info.mtime),
                                        static_cast<std::uint64_t>(info.size));
            e->info.etag = std::string_view(e->etag, static_cast<std::size_t>(n));
            e->info.last_modified = std::string_view(
                e->last_modified,
                format_http_time(info.mtime, e->last_modified, sizeof(e->last_modified)));
            info.etag = e->info.etag;
            info.last_modified = e->info.last_modified;
            e->refs = 1;
            *entry = e;
        } else {
            *owned_fd = true;
        }
    }
    entries_.emplace(key, e);
    touch(e);
    return info;
}

namespace {

OpenFileCache* cache_for(event::Loop& loop, const LocationConfig& loc) {
    const OpenFileCacheConfig* config = loc.open_file_cache.get();
    for (auto& [c, cache] : g_registry.caches) {
        if (c == config) {
            return cache.get();
        }
    }
    g_registry.caches.emplace_back(config, std::make_unique<OpenFileCache>(loop, *config));
    return g_registry.caches.back().second.get();
}

void close_cleanup(void* fd) {
    ::close(static_cast<int>(reinterpret_cast<std::intptr_t>(fd)));
}

void release_cleanup(void* entry) {
    OpenFileCache::release(static_cast<OpenFileCache::Entry*>(entry));
}

}  // namespace

[[gnu::noinline]] SymlinkPolicy policy_of(const LocationConfig& loc, std::string_view path,
                                          Request* r) {
    std::string value;
    std::string_view from = loc.disable_symlinks.from;
    if (loc.disable_symlinks.from_text.has_variables()) {
        if (r != nullptr) {
            loc.disable_symlinks.from_text.evaluate(r, value);
        }
        from = value;
    }
    return symlink_policy(loc.disable_symlinks.check, path, from);
}

FileInfo open_file_for_request(event::Loop& loop, const LocationConfig& loc, std::string_view path,
                               core::Arena& arena, bool test_only, Request* r) {
    // disable_symlinks: nothing to evaluate when it is off (the common case).
    const bool check_symlinks = loc.disable_symlinks.check != SymlinkCheck::off;
    auto policy_for = [&](std::string_view p) {
        return check_symlinks ? policy_of(loc, p, r) : SymlinkPolicy{};
    };
    if (loc.open_file_cache == nullptr) {
        // The cache is off: what nginx does, one open() and fstat() per request.
        const char* cpath = arena.copy(path);
        FileInfo info;
        if (cpath == nullptr) {
            info.err = ENOMEM;
            return info;
        }
        if (test_only) {
            return stat_only(cpath, policy_for(path));
        }
        info = open_and_stat(cpath, policy_for(path));
        if (info.fd >= 0 &&
            !arena.add_cleanup(close_cleanup,
                               reinterpret_cast<void*>(static_cast<std::intptr_t>(info.fd)))) {
            ::close(info.fd);
            return failed(ENOMEM);
        }
        return info;
    }

    // Keys have no "//" (a root with a trailing slash gives one), so that they
    // match the paths the watches report.
    std::string normalized;
    if (path.find("//") != std::string_view::npos) {
        normalized.reserve(path.size());
        for (char ch : path) {
            if (ch != '/' || normalized.empty() || normalized.back() != '/') {
                normalized += ch;
            }
        }
        path = normalized;
    }
    if (path.size() > 1 && path.back() == '/') {
        path.remove_suffix(1);  // "dir/" is the directory "dir"
    }

    OpenFileOptions options;
    options.valid = loc.open_file_cache_valid;
    options.min_uses = loc.open_file_cache_min_uses;
    options.errors = loc.open_file_cache_errors;
    options.events = loc.open_file_cache_events;
    options.body_max = loc.open_file_cache_body;
    options.symlinks = policy_for(path);
    // A root with variables is watched from its fixed part ("/srv/" of "/srv/$host").
    std::string_view root =
        loc.root_text.has_variables() ? loc.root_text.literal_prefix() : loc.root;
    while (root.size() > 1 && root.back() == '/') {
        root.remove_suffix(1);
    }
    const std::size_t slash = root.rfind('/');
    options.watch_from = slash == std::string_view::npos ? std::string_view{}
                         : slash == 0                    ? std::string_view("/")
                                                         : root.substr(0, slash);

    OpenFileCache::Entry* entry = nullptr;
    bool owned = false;
    FileInfo info = cache_for(loop, loc)->lookup(path, options, &entry, &owned);
    if (entry != nullptr && !arena.add_cleanup(release_cleanup, entry)) {
        OpenFileCache::release(entry);
        return failed(ENOMEM);
    }
    if (owned && !arena.add_cleanup(close_cleanup,
                                    reinterpret_cast<void*>(static_cast<std::intptr_t>(info.fd)))) {
        ::close(info.fd);
        return failed(ENOMEM);
    }
    return info;
}

void release_open_file_caches() {
    g_registry.caches.clear();
    g_registry.watcher.close();
}

OpenFileCache* open_file_cache_of(const LocationConfig& loc) {
    for (auto& [c, cache] : g_registry.caches) {
        if (c == loc.open_file_cache.get()) {
            return cache.get();
        }
    }
    return nullptr;
}

bool open_file_cache_watching() {
    return g_registry.watcher.watching();
}

// --- the directive --------------------------------------------------------------

namespace conf = core::conf;

// open_file_cache max=N [inactive=time] | off;
std::optional<core::conf::Error> set_open_file_cache(core::conf::Applier&,
                                                     const core::conf::Node& node,
                                                     const core::conf::Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    if (node.arg_count() == 1 && node.args[1] == "off") {
        loc->open_file_cache = nullptr;
        return std::nullopt;
    }
    auto config = std::make_shared<OpenFileCacheConfig>();
    bool have_max = false;
    for (std::size_t i = 1; i < node.args.size(); ++i) {
        const std::string& a = node.args[i];
        if (a.starts_with("max=")) {
            const auto n = conf::parse_number(a.substr(4));
            if (!n || *n == 0 || *n > 100000000) {
                return node.error("invalid \"open_file_cache\" parameter \"" + a + "\"");
            }
            config->max = static_cast<std::size_t>(*n);
            have_max = true;
        } else if (a.starts_with("inactive=")) {
            const auto t = conf::parse_msec(a.substr(9));
            if (!t) {
                return node.error("invalid \"open_file_cache\" parameter \"" + a + "\"");
            }
            config->inactive = *t;
        } else {
            return node.error("invalid \"open_file_cache\" parameter \"" + a + "\"");
        }
    }
    if (!have_max) {
        return node.error("\"open_file_cache\" must have the \"max\" parameter");
    }
    loc->open_file_cache = std::move(config);
    return std::nullopt;
}

}  // namespace evs::http
