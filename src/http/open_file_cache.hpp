#pragma once

// OpenFileCache: nginx's open_file_cache, per worker: descriptors and metadata of the
// files requests open, keyed by path, so that a hit costs no system call at all.
//
//   open_file_cache max=N [inactive=time] | off;    the cache of one directive
//   open_file_cache_valid time;                      re-stat an entry after `time`
//   open_file_cache_min_uses n;                      keep the fd after n uses in inactive
//   open_file_cache_errors on | off;                 cache "not found" and friends
//   open_file_cache_events on | off;                 (evserve) inotify invalidation
//   open_file_cache_body size;                       (evserve) keep small files' bytes
//
// Entries sit in an LRU list bounded by `max`; those not used for `inactive` are
// dropped by later lookups (two at a time, as nginx does). An entry may keep the
// file's descriptor (once used min_uses times), its stat data and, for a regular
// file no larger than open_file_cache_body, the file's bytes: a small file is then
// served with its head in one writev() and no file system call.
//
// Beyond nginx, which only notices a change when it re-stats an entry after
// open_file_cache_valid, every directory from the parent of the location's root
// down to the file is watched with inotify (one inotify descriptor per worker,
// registered in the loop, shared by all caches): a file written, truncated,
// replaced by rename (`mv new old`, how deploys update files), deleted, or a
// directory or symlink above it swapped, drops the entries at or below that name
// before the next request is served. The watches are added before the file is
// opened, so no change can slip in between. Where inotify is unavailable (limits,
// file systems that do not report changes) an entry falls back to nginx's `valid`;
// the `valid` re-stat is kept for watched entries too, as a safety net.
//
// An entry dropped while a response still sends from its descriptor or bytes stays
// alive until that response releases it: a descriptor is never closed under a
// response.
//
// Ownership: the per-worker registry (a thread_local) owns the caches and the
// watcher; a cache owns its entries, their descriptors and bodies. Thread: the
// worker's loop thread.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/arena.hpp"
#include "core/conf_applier.hpp"
#include "core/time_cache.hpp"
#include "http/open_file.hpp"

namespace evs::event {
class Loop;
}

namespace evs::http {

struct LocationConfig;
struct Request;

// The arguments of one `open_file_cache` directive; each directive is its own cache.
struct OpenFileCacheConfig {
    std::size_t max = 0;
    core::Msec inactive = 60000;
};

// What a lookup needs from the location.
struct OpenFileOptions {
    core::Msec valid = 60000;
    std::uint32_t min_uses = 1;
    bool errors = false;
    bool events = true;
    std::size_t body_max = 0;
    // Directories from this one down to the file's are watched (the root's parent).
    std::string_view watch_from;
    // disable_symlinks: an entry found under another policy is looked up again.
    SymlinkPolicy symlinks;
};

// The result of opening a path: an errno, or a directory, or a regular file (or
// another kind of file) with its descriptor and metadata.
struct FileInfo {
    int err = 0;                    // errno of open() or fstat(); 0 when found
    const char* failed = "open()";  // the call that failed, for the error log
    int fd = -1;                    // -1 for a directory, an error, or a test_only lookup
    bool is_dir = false;
    bool is_file = false;
    std::int64_t size = 0;
    std::time_t mtime = 0;
    ino_t inode = 0;
    dev_t dev = 0;
    // The whole file in memory (size bytes), from the cache; nullptr otherwise.
    const char* body = nullptr;
    // Rendered once per cache entry ("\"5f0d-d\"", "Thu, 02 Jan 2020 03:04:05 GMT");
    // empty when not from the cache. Valid while the entry is referenced.
    std::string_view etag;
    std::string_view last_modified;
};

class OpenFileCache {
public:
    struct Entry;

    OpenFileCache(event::Loop& loop, const OpenFileCacheConfig& config);
    ~OpenFileCache();
    OpenFileCache(const OpenFileCache&) = delete;
    OpenFileCache& operator=(const OpenFileCache&) = delete;

    // The info of `path` (normalised: no "//"). On success with an fd, exactly one
    // of *entry (a referenced entry: release() it when the response ends) and
    // *owned_fd (the caller closes it: not kept in the cache yet) is set.
    FileInfo lookup(std::string_view path, const OpenFileOptions& options, Entry** entry,
                    bool* owned_fd);
    static void release(Entry* entry);

    // Drops the entry for `path` and every entry below `path` + "/".
    void invalidate(std::string_view path);
    void invalidate_all();

    std::size_t size() const { return entries_.size(); }
    // Entries whose fd is kept open (for tests: descriptors held by the cache).
    std::size_t open_fds() const;

private:
    void remove(Entry* e);
    void expire(core::Msec now, std::size_t count);
    void touch(Entry* e);
    bool still_valid(Entry* e, core::Msec now, core::Msec valid);

    event::Loop& loop_;
    OpenFileCacheConfig config_;
    std::map<std::string, Entry*, std::less<>> entries_;
    Entry* lru_head_ = nullptr;  // most recently used
    Entry* lru_tail_ = nullptr;
};

// Opens (or finds in the location's cache) `path` for a request; whatever must be
// closed or released at the end of the request is registered as a cleanup of
// `arena`. `test_only`: the index module's probe, which needs no descriptor (with
// the cache off, a stat()). `root` is the location's root (or alias) for the watches.
// `r`: the request, for a disable_symlinks from= with variables (without it the whole
// path is checked).
FileInfo open_file_for_request(event::Loop& loop, const LocationConfig& loc, std::string_view path,
                               core::Arena& arena, bool test_only, Request* r = nullptr);

// Frees the worker's caches, closes their descriptors and the inotify descriptor.
void release_open_file_caches();

// For tests: the worker's cache of a location (nullptr when off or not created yet),
// and whether inotify is in use.
OpenFileCache* open_file_cache_of(const LocationConfig& loc);
bool open_file_cache_watching();

// The setter of `open_file_cache` (into a LocationConfig).
std::optional<core::conf::Error> set_open_file_cache(core::conf::Applier& applier,
                                                     const core::conf::Node& node,
                                                     const core::conf::Directive& directive,
                                                     void* conf);

}  // namespace evs::http
