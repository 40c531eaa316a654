#pragma once

// Cycle: one generation of the server's runtime state, built from one reading of
// the configuration (nginx's ngx_cycle_t). A reload builds a new Cycle next to the
// running one, and only when that succeeded do new workers start with it; the old
// Cycle lives until its workers have gone.
//
// Ownership: the Cycle owns its configuration, its listening sockets (unless a
// newer cycle inherited them) and its error log. Thread: the master builds it;
// each worker reads its copy after fork().

#include <sched.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "core/time_cache.hpp"
#include "event/listening.hpp"
#include "event/loop.hpp"
#include "http/config.hpp"
#include "http/virtual_servers.hpp"

namespace evs::server {

struct ErrorLogConfig {
    std::string path;  // absolute, or "stderr"
    core::LogLevel level = core::LogLevel::error;
};

struct ThreadPoolConfig {
    std::string name;
    unsigned threads = 32;
    std::size_t max_queue = 65536;
    // The implicit "default" pool that only `aio io_uring` locations use, as their
    // fallback: a worker whose ring works does not start it.
    bool only_uring_fallback = false;
};

// The events block.
struct EventsConfig {
    std::uint32_t worker_connections = 512;
    std::string use = "epoll";
    bool multi_accept = false;
    bool accept_mutex = false;  // nginx's default since 1.11.3
    core::Msec accept_mutex_delay = 500;
    std::uint32_t epoll_events = 512;
    std::uint32_t worker_aio_requests = 32;
};

// The main context, as nginx's core module.
struct MainConfig {
    bool daemon = true;
    bool master_process = true;
    unsigned worker_processes = 1;  // "auto" resolves to the CPUs available
    std::string pid = "logs/evserve.pid";
    std::vector<ErrorLogConfig> error_logs;
    rlim_t worker_rlimit_nofile = 0;         // 0: leave it
    core::Msec worker_shutdown_timeout = 0;  // 0: wait for requests in flight
    core::Msec timer_resolution = 0;
    bool cpu_affinity_auto = false;
    std::vector<cpu_set_t> cpu_affinity;  // one mask per worker (the last repeats)
    // Whom workers run as when the master runs as root: `user` (default nobody) and
    // `group` (default: the user's own group; nogroup for nobody), looked up while
    // reading the configuration. Not root: nothing to switch, the ids stay -1.
    std::string user;
    std::string group;
    uid_t user_id = static_cast<uid_t>(-1);
    gid_t group_id = static_cast<gid_t>(-1);
    std::vector<ThreadPoolConfig> thread_pools;
    EventsConfig events;
    bool events_block_seen = false;          // nginx requires the events block
    std::shared_ptr<http::HttpConfig> http;  // null without an http block
};

struct Cycle {
    std::string prefix;     // with a trailing slash
    std::string conf_file;  // absolute
    MainConfig main;

    // Every listening socket of this cycle. With reuseport, one per worker: the
    // worker index says whose it is (-1: shared by all workers).
    struct Listen {
        std::unique_ptr<event::Listening> listening;
        int worker = -1;
    };
    std::vector<Listen> listening;
    // What each HTTP socket serves (Listening::data points at one).
    std::vector<std::unique_ptr<http::ListenGroup>> http_groups;
    // Access log files, opened once per path by the master.
    std::vector<std::pair<std::string, int>> access_log_files;

    core::Log log{2, core::LogLevel::error};

    Cycle() = default;
    Cycle(const Cycle&) = delete;
    Cycle& operator=(const Cycle&) = delete;
    ~Cycle();
    std::uint64_t generation = 0;

    // Every file the configuration read, with its text, for -T.
    std::vector<std::pair<std::string, std::string>> files;

    std::string resolve(const std::string& path) const {
        return path.empty() || path[0] == '/' ? path : prefix + path;
    }
    event::LoopConfig loop_config() const {
        event::LoopConfig c;
        c.connections = main.events.worker_connections;
        c.backend = main.events.use;
        c.epoll_events = static_cast<int>(main.events.epoll_events);
        c.timer_resolution = main.timer_resolution;
        c.multi_accept = main.events.multi_accept;
        c.accept_mutex_delay = main.events.accept_mutex_delay;
        return c;
    }
};

}  // namespace evs::server
