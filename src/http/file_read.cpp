#include "http/file_read.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/conf_values.hpp"
#include "event/file_aio.hpp"
#include "event/file_uring.hpp"
#include "event/io.hpp"
#include "event/loop.hpp"

namespace evs::http {

using core::LogLevel;

// One request's reading state, in its arena.
struct FileReadState {
    Request* r = nullptr;
    event::FileReader* reader = nullptr;
    event::FileRead* op = nullptr;  // the reader's, released with the arena
    std::size_t chunk = 0;          // bytes per read: output_buffers number x size
    std::size_t alignment = 1;      // O_DIRECT: of offsets, sizes and the buffer
    std::size_t skip = 0;           // bytes of the buffer before the part wanted
    bool sync = false;              // the planned read is an unaligned head or tail
};

namespace {

thread_local event::FileAio* g_native = nullptr;
thread_local event::UringFileReader* g_uring = nullptr;
thread_local std::vector<std::pair<std::string, event::FileReader*>> g_threads;
thread_local std::unique_ptr<event::FileReader> g_sync;
thread_local bool g_directio_warned = false;

void log_error(Request* r, LogLevel level, int err, const char* text) {
    core::Log& log = r->c->loop->log();
    if (log.enabled(level)) {
        log.write_conn(level, err, r->c->number, request_log_context, r, "%s", text);
    }
}

void close_fd_cleanup(void* fd) {
    ::close(static_cast<int>(reinterpret_cast<std::intptr_t>(fd)));
}

void release_cleanup(void* data) {
    auto* st = static_cast<FileReadState*>(data);
    if (st->op != nullptr) {
        st->reader->release(st->op);
        st->op = nullptr;
    }
}

// A read that returned k_io_again has finished: the output goes on from where it
// stopped (the writer calls read_file_part again and gets the bytes).
void on_read_complete(event::FileRead* op) {
    auto* st = static_cast<FileReadState*>(op->data);
    send_response(st->r);
}

event::FileReader* reader_for(Request* r, const LocationConfig& loc) {
    if (loc.aio == AioMode::native && g_native != nullptr) {
        return g_native;
    }
    if (loc.aio == AioMode::io_uring && g_uring != nullptr && g_uring->enabled()) {
        return g_uring;
    }
    // aio threads, or aio io_uring in a worker whose kernel has no io_uring: its
    // pool is "default".
    if (loc.aio == AioMode::threads || loc.aio == AioMode::io_uring) {
        for (const auto& [name, reader] : g_threads) {
            if (name == loc.aio_thread_pool) {
                return reader;
            }
        }
    }
    // aio off, or a worker without that reader (a test harness).
    if (!g_sync) {
        g_sync = std::make_unique<event::FileReader>(*r->c->loop);
    }
    return g_sync.get();
}

FileReadState* start(Request* r) {
    const LocationConfig& loc = r->loc != nullptr ? *r->loc : r->server->location;
    auto* st = r->arena->make<FileReadState>();
    if (st == nullptr || !r->arena->add_cleanup(release_cleanup, st)) {
        return nullptr;
    }
    st->r = r;
    st->reader = reader_for(r, loc);
    st->alignment = r->directio ? static_cast<std::size_t>(loc.directio_alignment) : 1;
    std::size_t chunk = static_cast<std::size_t>(loc.output_buffers_number) *
                        static_cast<std::size_t>(loc.output_buffers_size);
    chunk = (chunk + st->alignment - 1) & ~(st->alignment - 1);
    st->chunk = chunk;
    st->op = st->reader->acquire(chunk, r->directio ? st->alignment : 64, r->c);
    if (st->op == nullptr) {
        return nullptr;
    }
    st->op->handler = on_read_complete;
    st->op->data = st;
    r->file_read = st;
    if (r->c->loop->log().enabled(LogLevel::debug)) {
        r->c->loop->log().write_conn(LogLevel::debug, 0, r->c->number, nullptr, nullptr,
                                     "file read: %s, %zu-byte buffer%s", st->reader->name(), chunk,
                                     r->directio ? ", directio" : "");
    }
    return st;
}

// Which bytes the next read covers: [pos, ...) up to a chunk, or with O_DIRECT the
// aligned middle of the range asynchronously, and an unaligned head or tail as one
// aligned block, synchronously (nginx reads those blocking too).
void plan(FileReadState* st, int fd, off_t pos, off_t end) {
    event::FileRead* op = st->op;
    op->fd = fd;
    st->skip = 0;
    st->sync = false;
    const auto left = static_cast<std::size_t>(end - pos);
    if (st->alignment <= 1) {
        op->offset = pos;
        op->size = std::min(st->chunk, left);
        return;
    }
    const auto a = static_cast<off_t>(st->alignment);
    const off_t aligned = pos & ~(a - 1);
    if (aligned != pos || left < st->alignment) {
        op->offset = aligned;
        op->size = st->alignment;
        st->skip = static_cast<std::size_t>(pos - aligned);
        st->sync = true;
        return;
    }
    op->offset = pos;
    op->size = std::min(st->chunk, left & ~(st->alignment - 1));
}

}  // namespace

void prepare_file_read(Request* r, std::string_view path, std::int64_t size) {
    const LocationConfig& loc = *r->loc;
    if (loc.directio < 0 || size < loc.directio || r->fd < 0 || r->file_mem != nullptr) {
        return;
    }
    const char* call;
    int err = 0;
    if (loc.open_file_cache != nullptr) {
        // The cached descriptor is shared with other requests, which may send the
        // same file with sendfile: this one reads through its own, opened anew
        // (the same file, whatever happened to the path since) with O_DIRECT.
        call = "open(O_DIRECT)";
        char proc[48];
        std::snprintf(proc, sizeof(proc), "/proc/self/fd/%d", r->fd);
        const int own = ::open(proc, O_RDONLY | O_DIRECT | O_CLOEXEC);
        if (own >= 0) {
            if (!r->arena->add_cleanup(close_fd_cleanup,
                                       reinterpret_cast<void*>(static_cast<std::intptr_t>(own)))) {
                ::close(own);
                return;
            }
            r->fd = own;
        } else {
            err = errno;
        }
    } else {
        call = "fcntl(O_DIRECT)";
        const int flags = ::fcntl(r->fd, F_GETFL);
        if (flags < 0 || ::fcntl(r->fd, F_SETFL, flags | O_DIRECT) < 0) {
            err = errno;
        }
    }
    if (err != 0) {
        // tmpfs and some other file systems refuse O_DIRECT (EINVAL): the file is
        // read through the page cache, as nginx goes on after "directio ... failed".
        const LogLevel level = g_directio_warned ? LogLevel::debug : LogLevel::warn;
        g_directio_warned = true;
        const std::string text = std::string(call) + " \"" + std::string(path) +
                                 "\" failed, the file is read without directio";
        log_error(r, level, err, text.c_str());
        return;
    }
    r->directio = true;
}

ssize_t read_file_part(Request* r, off_t pos, off_t end, char** data) {
    FileReadState* st = r->file_read;
    if (st == nullptr) {
        st = start(r);
        if (st == nullptr) {
            log_error(r, LogLevel::crit, ENOMEM, "no memory for a file read buffer");
            return event::k_io_error;
        }
    }
    event::FileRead* op = st->op;
    ssize_t n;
    bool submitted = false;
    if (op->event.active || op->event.complete) {
        // The read started by an earlier call: its result, or still in flight.
        n = st->reader->read(op);
    } else {
        plan(st, r->fd, pos, end);
        if (st->sync) {
            do {
                n = ::pread(op->fd, op->buf, op->size, op->offset);
            } while (n < 0 && errno == EINTR);
            if (n < 0) {
                n = event::k_io_error;
            }
        } else {
            n = st->reader->read(op);
            submitted = true;
        }
    }
    if (n == event::k_io_again) {
        return n;
    }
    if (n < 0) {
        if (submitted && event::pool_refused(n, errno)) {
            return event::k_io_error;  // the pool's "queue overflow" line says it
        }
        log_error(r, LogLevel::crit, errno,
                  st->sync || st->reader == g_sync.get() ? "pread() failed" : "file read failed");
        return event::k_io_error;
    }
    if (static_cast<std::size_t>(n) <= st->skip) {
        log_error(r, LogLevel::crit, 0, "the file was truncated while it was being sent");
        return event::k_io_error;
    }
    *data = op->buf + st->skip;
    return static_cast<ssize_t>(std::min<std::size_t>(static_cast<std::size_t>(n) - st->skip,
                                                      static_cast<std::size_t>(end - pos)));
}

void set_file_aio(event::FileAio* aio) {
    g_native = aio;
}

void set_uring_reader(event::UringFileReader* uring) {
    g_uring = uring;
}

void add_thread_reader(std::string_view name, event::FileReader* reader) {
    g_threads.emplace_back(std::string(name), reader);
}

void release_file_readers() {
    g_native = nullptr;
    g_uring = nullptr;
    g_threads.clear();
    g_sync.reset();
}

// --- the directives ---------------------------------------------------------------

namespace conf = core::conf;
using conf::Applier;
using conf::Directive;
using conf::Error;
using conf::Node;
using std::optional;

// aio on | off | threads[=pool] | io_uring;
optional<Error> set_aio(Applier&, const Node& node, const Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    const std::string& value = node.args[1];
    if (value == "off") {
        loc->aio = AioMode::off;
    } else if (value == "on") {
        loc->aio = AioMode::native;
    } else if (value == "io_uring") {
        loc->aio = AioMode::io_uring;
        loc->aio_thread_pool = "default";
    } else if (value == "threads") {
        loc->aio = AioMode::threads;
        loc->aio_thread_pool = "default";
    } else if (value.starts_with("threads=") && value.size() > 8) {
        loc->aio = AioMode::threads;
        loc->aio_thread_pool = value.substr(8);
    } else {
        return node.error("invalid value \"" + value + "\" in \"aio\" directive");
    }
    loc->aio_source = std::string(node.file) + ":" + std::to_string(node.line);
    return std::nullopt;
}

// directio size | off;
optional<Error> set_directio(Applier&, const Node& node, const Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    if (node.args[1] == "off") {
        loc->directio = -1;
        return std::nullopt;
    }
    const auto size = conf::parse_size(node.args[1]);
    if (!size || *size > static_cast<std::uint64_t>(INT64_MAX)) {
        return conf::invalid_value_error(node);
    }
    loc->directio = static_cast<std::int64_t>(*size);
    return std::nullopt;
}

// directio_alignment size; a power of two, as O_DIRECT wants buffers and offsets
// aligned to it (nginx takes any size and fails at the first read).
optional<Error> set_directio_alignment(Applier&, const Node& node, const Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    const auto size = conf::parse_size(node.args[1]);
    if (!size) {
        return conf::invalid_value_error(node);
    }
    if (*size == 0 || (*size & (*size - 1)) != 0 || *size > 1024 * 1024) {
        return node.error("\"directio_alignment\" must be a power of two up to 1m");
    }
    loc->directio_alignment = *size;
    return std::nullopt;
}

// output_buffers number size;
optional<Error> set_output_buffers(Applier&, const Node& node, const Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    const auto number = conf::parse_number(node.args[1]);
    const auto size = conf::parse_size(node.args[2]);
    if (!number || *number == 0 || *number > 1024 || !size || *size == 0 ||
        *number * *size > 1024 * 1024 * 1024) {
        return conf::invalid_value_error(node);
    }
    loc->output_buffers_number = static_cast<std::uint32_t>(*number);
    loc->output_buffers_size = *size;
    return std::nullopt;
}

}  // namespace evs::http
