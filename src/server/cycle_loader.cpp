#include "server/cycle_loader.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/conf_applier.hpp"
#include "core/conf_parser.hpp"
#include "http/access_log.hpp"
#include "http/http_connection.hpp"
#include "os/socket.hpp"
#include "server/core_module.hpp"
#include "server/master.hpp"

namespace evs::server {

namespace conf = core::conf;

namespace {

void collect_access_logs(http::LocationConfig& loc, std::vector<http::AccessLogConfig*>* out) {
    for (http::AccessLogConfig& log : loc.access_logs) {
        out->push_back(&log);
    }
    for (auto& nested : loc.locations) {
        collect_access_logs(*nested, out);
    }
}

// aio threads[=pool]: the pool must be declared with thread_pool, except "default",
// which exists once something uses it (nginx's implicit "thread_pool default
// threads=32 max_queue=65536"). aio io_uring uses "default" too, where a worker's
// kernel has no io_uring; a pool only that fallback uses starts only in such a worker.
bool check_aio_thread_pools(MainConfig& main, const http::LocationConfig& loc, std::string* error) {
    if (loc.aio == http::AioMode::threads || loc.aio == http::AioMode::io_uring) {
        const bool fallback = loc.aio == http::AioMode::io_uring;
        auto declared =
            std::find_if(main.thread_pools.begin(), main.thread_pools.end(),
                         [&](const ThreadPoolConfig& p) { return p.name == loc.aio_thread_pool; });
        if (declared == main.thread_pools.end()) {
            if (loc.aio_thread_pool != "default") {
                *error = "unknown thread pool \"" + loc.aio_thread_pool + "\" in " + loc.aio_source;
                return false;
            }
            ThreadPoolConfig pool;
            pool.name = "default";
            pool.only_uring_fallback = fallback;
            main.thread_pools.push_back(pool);
        } else if (!fallback) {
            declared->only_uring_fallback = false;
        }
    }
    for (const auto& nested : loc.locations) {
        if (!check_aio_thread_pools(main, *nested, error)) {
            return false;
        }
    }
    return true;
}

// The HTTP servers' sockets: one Listening per listen group, or one per worker
// for a reuseport group (the kernel then spreads connections over the workers).
bool build_http(Cycle& cycle, std::string* error) {
    http::HttpConfig& http = *cycle.main.http;
    if (!check_aio_thread_pools(cycle.main, http.defaults.location, error)) {
        return false;
    }
    for (const auto& srv : http.servers) {
        if (!check_aio_thread_pools(cycle.main, srv->location, error)) {
            return false;
        }
    }
    if (!http::finish_http_config(http, cycle.prefix, error) ||
        !http::build_listen_groups(http, &cycle.http_groups, error)) {
        return false;
    }
    for (auto& group : cycle.http_groups) {
        const bool reuseport = group->spec.options.reuseport;
        const int copies = reuseport ? static_cast<int>(cycle.main.worker_processes) : 1;
        for (int worker = 0; worker < copies; ++worker) {
            Cycle::Listen l;
            l.listening = std::make_unique<event::Listening>();
            l.listening->address = group->spec.address;
            l.listening->options = group->spec.options;
            l.listening->handler = http::init_connection;
            l.listening->data = group.get();
            l.worker = reuseport ? worker : -1;
            cycle.listening.push_back(std::move(l));
        }
    }
    return true;
}

}  // namespace

bool open_access_logs(Cycle& cycle) {
    if (!cycle.main.http) {
        return true;
    }
    std::vector<http::AccessLogConfig*> logs;
    for (auto& srv : cycle.main.http->servers) {
        collect_access_logs(srv->location, &logs);
    }
    for (http::AccessLogConfig* log : logs) {
        auto it = std::find_if(cycle.access_log_files.begin(), cycle.access_log_files.end(),
                               [&](const auto& f) { return f.first == log->path; });
        if (it == cycle.access_log_files.end()) {
            const int fd =
                ::open(log->path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
            if (fd < 0) {
                std::fprintf(stderr, "evserve: [emerg] open() \"%s\" failed (%d: %s)\n",
                             log->path.c_str(), errno, std::strerror(errno));
                return false;
            }
            cycle.access_log_files.emplace_back(log->path, fd);
            it = cycle.access_log_files.end() - 1;
        }
        log->fd = it->second;
    }
    // buffer=: one buffer per file, as large as the largest asked for it, shared by
    // every access_log naming the file (nginx shares the file's buffer the same way).
    for (auto& [path, fd] : cycle.access_log_files) {
        std::size_t size = 0;
        core::Msec flush = 0;
        for (http::AccessLogConfig* log : logs) {
            if (log->path == path && log->buffer_size > size) {
                size = log->buffer_size;
            }
            if (log->path == path && log->flush != 0 && (flush == 0 || log->flush < flush)) {
                flush = log->flush;
            }
        }
        if (size == 0) {
            continue;
        }
        auto buffer = std::make_shared<http::AccessLogBuffer>(path, fd, size, flush);
        for (http::AccessLogConfig* log : logs) {
            if (log->path == path) {
                log->buffer = buffer;
            }
        }
    }
    return true;
}

void reopen_access_logs(Cycle& cycle, core::Log& log, uid_t owner) {
    for (auto& [path, fd] : cycle.access_log_files) {
        const int fresh = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fresh < 0) {
            log.write(core::LogLevel::alert, errno, "reopen: open() \"%s\" failed", path.c_str());
            continue;
        }
        if (owner != static_cast<uid_t>(-1) && ::fchown(fresh, owner, static_cast<gid_t>(-1)) < 0) {
            log.write(core::LogLevel::alert, errno, "reopen: fchown(\"%s\") failed", path.c_str());
        }
        if (::dup3(fresh, fd, O_CLOEXEC) < 0) {
            log.write(core::LogLevel::alert, errno, "reopen: dup3(\"%s\") failed", path.c_str());
        }
        ::close(fresh);
    }
}

Cycle::~Cycle() {
    for (auto& [path, fd] : access_log_files) {
        os::close_fd(fd);
    }
}

std::unique_ptr<Cycle> load_cycle(const Options& options, std::string* error) {
    auto cycle = std::make_unique<Cycle>();
    cycle->prefix = options.prefix;
    cycle->conf_file = options.conf_file;

    conf::ParseOptions parse_options;
    parse_options.conf_dir = conf::directory_of(cycle->conf_file);
    conf::Parser parser(parse_options);
    // -g comes first, as in nginx: a directive given there and again in the file
    // is a duplicate, not an override.
    if (!options.directives.empty()) {
        if (auto err = parser.parse_param(options.directives)) {
            *error = err->to_string();
            return nullptr;
        }
    }
    if (auto err = parser.parse_file(cycle->conf_file)) {
        *error = err->to_string();
        return nullptr;
    }
    for (const conf::SourceFile& file : parser.files()) {
        cycle->files.emplace_back(file.path, file.text);
    }

    conf::Applier applier(all_tables());
    const conf::Binding main_binding{&k_core_table, &cycle->main};
    if (auto err = applier.apply(parser.root(), std::span<const conf::Binding>(&main_binding, 1),
                                 conf::k_main)) {
        *error = err->to_string();
        return nullptr;
    }
    if (!cycle->main.events_block_seen) {
        *error = "no \"events\" section in configuration";
        return nullptr;
    }

    if (::geteuid() == 0 && cycle->main.user.empty()) {
        // nginx's default, nobody:nogroup (or nobody's own group where there is no
        // nogroup), checked now like an explicit user directive.
        cycle->main.user = "nobody";
        cycle->main.group = ::getgrnam("nogroup") != nullptr ? "nogroup" : "";
        if (auto failed = resolve_user(cycle->main)) {
            *error = *failed;
            return nullptr;
        }
    }
    cycle->main.pid = cycle->resolve(cycle->main.pid);
    if (!options.error_log.empty()) {
        // -e replaces the file's error_log, as nginx's -e does for the startup log.
        cycle->main.error_logs.clear();
        cycle->main.error_logs.push_back(ErrorLogConfig{
            options.error_log == "stderr" ? "stderr" : cycle->resolve(options.error_log),
            core::LogLevel::error});
    }
    for (ErrorLogConfig& log : cycle->main.error_logs) {
        if (log.path != "stderr") {
            log.path = cycle->resolve(log.path);
        }
    }
    if (cycle->main.error_logs.empty()) {
        cycle->main.error_logs.push_back(
            ErrorLogConfig{cycle->resolve("logs/error.log"), core::LogLevel::error});
    }
    if (cycle->main.http && !build_http(*cycle, error)) {
        return nullptr;
    }
    return cycle;
}

namespace {

// Sockets handed over by an old binary: EVSERVE="fd;fd;...". Read once.
std::vector<int>& inherited_fds() {
    static std::vector<int> fds = [] {
        std::vector<int> out;
        const char* env = std::getenv(k_inherited_env);
        if (env == nullptr) {
            return out;
        }
        std::stringstream in(env);
        std::string item;
        while (std::getline(in, item, ';')) {
            if (!item.empty()) {
                out.push_back(std::atoi(item.c_str()));
            }
        }
        ::unsetenv(k_inherited_env);
        return out;
    }();
    return fds;
}

bool same_address(int fd, const os::SocketAddress& address) {
    os::SocketAddress bound;
    socklen_t len = sizeof(bound.storage);
    if (::getsockname(fd, bound.get(), &len) < 0) {
        return false;
    }
    bound.length = len;
    return bound == address;
}

}  // namespace

bool open_listening_sockets(Cycle& cycle, Cycle* old, core::Log& log, std::string* error) {
    for (Cycle::Listen& l : cycle.listening) {
        event::Listening* ls = l.listening.get();
        // Reuse the old cycle's socket for the same address (and the same worker,
        // for reuseport), so the kernel's accept queue carries over.
        if (old != nullptr) {
            for (Cycle::Listen& o : old->listening) {
                if (o.listening && o.listening->fd >= 0 && o.worker == l.worker &&
                    o.listening->address == ls->address &&
                    o.listening->options.reuseport == ls->options.reuseport) {
                    ls->fd = o.listening->fd;
                    ls->inherited = true;
                    o.listening->fd = -1;  // now the new cycle's
                    break;
                }
            }
        }
        if (ls->fd < 0 && !ls->options.reuseport) {
            for (int& fd : inherited_fds()) {
                if (fd >= 0 && same_address(fd, ls->address)) {
                    ls->fd = fd;
                    ls->inherited = true;
                    fd = -1;
                    break;
                }
            }
        }
        const char* call = "";
        if (ls->fd >= 0) {
            if (auto r = event::reconfigure_listening(*ls, &call); !r) {
                log.write(core::LogLevel::alert, r.error(), "%s to %s failed, ignored", call,
                          ls->address.to_string().c_str());
            }
            continue;
        }
        if (auto r = event::open_listening(ls, &call); !r) {
            *error = std::string(call) + " to " + ls->address.to_string() + " failed (" +
                     std::to_string(r.error()) + ": " + std::strerror(r.error()) + ")";
            return false;
        }
    }
    // Inherited sockets the new configuration does not listen on any more.
    for (int& fd : inherited_fds()) {
        if (fd >= 0) {
            os::close_fd(fd);
            fd = -1;
        }
    }
    return true;
}

}  // namespace evs::server
