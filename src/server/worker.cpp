#include "server/worker.hpp"

#include "server/cycle_loader.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "event/connection.hpp"
#include "event/file_aio.hpp"
#include "event/file_thread_read.hpp"
#include "event/file_thread_send.hpp"
#include "event/file_uring.hpp"
#include "event/io.hpp"
#include "event/thread_pool.hpp"
#include "http/access_log.hpp"
#include "http/file_read.hpp"
#include "http/http_connection.hpp"
#include "http/status_page.hpp"
#include "http/thread_sendfile.hpp"
#include "os/process.hpp"
#include "os/socket.hpp"

namespace evs::server {

using core::LogLevel;

namespace {

// What the signal and channel handlers ask the worker loop to do.
struct WorkerState {
    Cycle* cycle = nullptr;
    event::Loop* loop = nullptr;
    bool quit = false;
    bool terminate = false;
    bool reopen = false;
    bool exiting = false;
    event::Event shutdown_timer;
};

WorkerState* g_worker = nullptr;

void on_signal(event::Event* ev) {
    event::Connection* c = event::connection_of(ev);
    signalfd_siginfo info{};
    while (::read(c->fd, &info, sizeof(info)) == sizeof(info)) {
        switch (info.ssi_signo) {
            case SIGQUIT:
                g_worker->quit = true;
                break;
            case SIGTERM:
            case SIGINT:
                g_worker->terminate = true;
                break;
            case SIGUSR1:
                g_worker->reopen = true;
                break;
            default:
                break;  // HUP, USR2, WINCH are for the master
        }
    }
    ev->ready = 0;
}

void on_channel(event::Event* ev) {
    event::Connection* c = event::connection_of(ev);
    char commands[16];
    for (;;) {
        const ssize_t n = event::recv(c, commands, sizeof(commands));
        if (n == event::k_io_again) {
            c->loop->handle_read_event(ev);
            return;
        }
        if (n <= 0) {
            // The master is gone: finish what we have and leave.
            g_worker->quit = true;
            c->loop->close_connection(c);
            return;
        }
        for (ssize_t i = 0; i < n; ++i) {
            switch (commands[i]) {
                case k_cmd_quit:
                    g_worker->quit = true;
                    break;
                case k_cmd_terminate:
                    g_worker->terminate = true;
                    break;
                case k_cmd_reopen:
                    g_worker->reopen = true;
                    break;
                default:
                    c->loop->log().write(LogLevel::alert, 0, "unknown channel command %d",
                                         commands[i]);
            }
        }
    }
}

// worker_shutdown_timeout: whatever is still open is closed now.
void on_shutdown_timeout(event::Event*) {
    event::Loop& loop = *g_worker->loop;
    loop.log().write(LogLevel::notice, 0, "shutdown timeout");
    event::ConnectionPool& pool = loop.pool();
    for (std::size_t i = 0; i < pool.capacity(); ++i) {
        event::Connection* c = pool.slot(static_cast<std::uint32_t>(i));
        if (c->fd == -1 || c->read.accept || c->read.handler == on_channel ||
            c->read.handler == on_signal) {
            continue;
        }
        c->close = 1;
        c->error = 1;
        c->read.handler(&c->read);
    }
}

void close_listening_sockets(Cycle& cycle, event::Loop& loop) {
    for (Cycle::Listen& l : cycle.listening) {
        event::Listening* ls = l.listening.get();
        if (ls->connection == nullptr) {
            continue;
        }
        // The master and the other workers share this socket's open file
        // description, so closing our descriptor would not take it out of our
        // epoll set: remove it explicitly first.
        if (ls->connection->read.active) {
            loop.backend().del(&ls->connection->read, 0);
        }
        loop.close_connection(ls->connection);  // shared: the slot, not the fd
        ls->connection = nullptr;
        event::close_listening(ls);
    }
}

// The CPUs worker `number` is bound to: its mask (the last one for the workers
// beyond the list), or with auto a single CPU, the number-th (in turn) of the auto
// mask or of the CPUs the master may run on. Nothing for an empty auto mask.
std::optional<cpu_set_t> worker_cpus(const MainConfig& main, int number) {
    if (!main.cpu_affinity_auto) {
        const auto at =
            std::min<std::size_t>(static_cast<std::size_t>(number), main.cpu_affinity.size() - 1);
        return main.cpu_affinity[at];
    }
    cpu_set_t pool;
    if (!main.cpu_affinity.empty()) {
        pool = main.cpu_affinity.back();
    } else if (::sched_getaffinity(0, sizeof(pool), &pool) < 0) {
        return std::nullopt;
    }
    const int count = CPU_COUNT(&pool);
    if (count == 0) {
        return std::nullopt;
    }
    int skip = number % count;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &pool) && skip-- == 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            return one;
        }
    }
    return std::nullopt;
}

bool location_uses_aio(const http::LocationConfig& loc, http::AioMode mode) {
    if (loc.aio == mode) {
        return true;
    }
    for (const auto& nested : loc.locations) {
        if (location_uses_aio(*nested, mode)) {
            return true;
        }
    }
    return false;
}

// Whether a location says `aio on` (native) or `aio io_uring`.
bool uses_aio(const Cycle& cycle, http::AioMode mode) {
    if (cycle.main.http == nullptr) {
        return false;
    }
    if (cycle.main.http->defaults.location.aio == mode) {
        return true;
    }
    for (const auto& srv : cycle.main.http->servers) {
        if (location_uses_aio(srv->location, mode)) {
            return true;
        }
    }
    return false;
}

bool set_up_process(Cycle& cycle, const WorkerIdentity& id) {
    core::Log& log = cycle.log;
    const MainConfig& main = cycle.main;
    if (main.worker_rlimit_nofile > 0) {
        if (auto r = os::set_nofile_limit(main.worker_rlimit_nofile); !r) {
            log.write(LogLevel::alert, r.error(), "setrlimit(RLIMIT_NOFILE, %llu) failed",
                      static_cast<unsigned long long>(main.worker_rlimit_nofile));
        }
    }
    if (main.cpu_affinity_auto || !main.cpu_affinity.empty()) {
        if (const auto cpus = worker_cpus(main, id.number)) {
            // As nginx, one line per CPU: it also tells which worker got which.
            for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
                if (CPU_ISSET(cpu, &*cpus)) {
                    log.write(LogLevel::notice, 0, "sched_setaffinity(): using cpu #%d", cpu);
                }
            }
            if (auto r = os::set_cpu_affinity(*cpus); !r) {
                log.write(LogLevel::alert, r.error(), "sched_setaffinity() failed");
            }
        }
    }
    // The ids were looked up while reading the configuration, by a master running as
    // root (they stay -1 otherwise).
    if (::geteuid() == 0 && main.user_id != static_cast<uid_t>(-1)) {
        const char* call = "";
        if (auto r = os::switch_user(main.user, main.user_id, main.group_id, &call); !r) {
            log.write(LogLevel::emerg, r.error(), "%s for \"%s\" failed", call, main.user.c_str());
            return false;
        }
    }
    return true;
}

}  // namespace

bool open_error_logs(Cycle& cycle) {
    cycle.log.clear_sinks();
    if (cycle.main.error_logs.empty()) {
        cycle.main.error_logs.push_back(
            ErrorLogConfig{cycle.resolve("logs/error.log"), LogLevel::error});
    }
    for (const ErrorLogConfig& e : cycle.main.error_logs) {
        if (e.path == "stderr") {
            cycle.log.add_sink(STDERR_FILENO, e.level, false);
            continue;
        }
        const int fd = ::open(e.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            std::fprintf(stderr, "evserve: [emerg] open() \"%s\" failed (%d: %s)\n", e.path.c_str(),
                         errno, std::strerror(errno));
            return false;
        }
        cycle.log.add_sink(fd, e.level, true);
    }
    return true;
}

namespace {
bool g_stderr_redirected = false;  // inherited by the workers through fork()
}  // namespace

void redirect_stderr(core::Log& log) {
    const auto& sinks = log.sinks();
    const bool wants_stderr = std::any_of(
        sinks.begin(), sinks.end(), [](const auto& sink) { return sink.fd == STDERR_FILENO; });
    if (wants_stderr || sinks.empty()) {
        return;
    }
    if (::dup2(sinks.front().fd, STDERR_FILENO) < 0) {
        log.write(LogLevel::alert, errno, "dup2(STDERR) failed");
        return;
    }
    g_stderr_redirected = true;
}

bool reopen_error_logs(const Cycle& cycle, core::Log& log, uid_t owner) {
    bool ok = true;
    core::Log fresh(STDERR_FILENO, LogLevel::stderr_only);
    fresh.clear_sinks();
    for (const ErrorLogConfig& e : cycle.main.error_logs) {
        if (e.path == "stderr") {
            fresh.add_sink(STDERR_FILENO, e.level, false);
            continue;
        }
        const int fd = ::open(e.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            log.write(LogLevel::alert, errno, "reopen: open() \"%s\" failed", e.path.c_str());
            ok = false;
            continue;
        }
        if (owner != static_cast<uid_t>(-1) && ::fchown(fd, owner, static_cast<gid_t>(-1)) < 0) {
            log.write(LogLevel::alert, errno, "reopen: fchown(\"%s\") failed", e.path.c_str());
        }
        fresh.add_sink(fd, e.level, false);
    }
    if (!ok) {
        for (const auto& sink : fresh.sinks()) {
            if (sink.fd != STDERR_FILENO) {
                ::close(sink.fd);
            }
        }
        return false;
    }
    log.clear_sinks();
    for (const auto& sink : fresh.sinks()) {
        log.add_sink(sink.fd, sink.level, sink.fd != STDERR_FILENO);
    }
    if (g_stderr_redirected) {
        redirect_stderr(log);
    }
    return true;
}

int run_worker(Cycle& cycle, SharedZoneLayout* zone, const WorkerIdentity& id) {
    core::Log& log = cycle.log;
    if (!id.single && !set_up_process(cycle, id)) {
        return 2;
    }

    event::Loop loop(cycle.loop_config(), log);
    if (loop.init() != core::Status::ok) {
        return 2;
    }
    WorkerState state;
    state.cycle = &cycle;
    state.loop = &loop;
    g_worker = &state;

    SharedZoneLayout::Worker& me = zone->workers[id.slot];
    me.pid.store(::getpid(), std::memory_order_relaxed);
    loop.set_stats(&zone->server, &me.stats);
    loop.set_server_counters(&zone->responses, &zone->file_io);
    std::vector<http::WorkerSlot> slots;
    for (const SharedZoneLayout::Worker& w : zone->workers) {
        slots.push_back({&w.pid, &w.stats});
    }
    http::set_worker_slots(slots);  // the Prometheus page lists every worker's counters

    const unsigned workers = cycle.main.master_process ? cycle.main.worker_processes : 1;
    SharedAcceptMutex mutex(&zone->accept_mutex, ::getpid());
    bool any_reuseport = false;
    for (const Cycle::Listen& l : cycle.listening) {
        any_reuseport |= l.worker >= 0;
    }
    if (cycle.main.events.accept_mutex && workers > 1 && !any_reuseport) {
        loop.set_accept_mutex(&mutex);
    }
    const bool exclusive = !cycle.main.events.accept_mutex && workers > 1 &&
                           (loop.capabilities() & event::k_use_exclusive);

    for (Cycle::Listen& l : cycle.listening) {
        event::Listening* ls = l.listening.get();
        if (l.worker >= 0 && l.worker != id.number) {
            // Another worker's reuseport socket: not ours to serve.
            event::close_listening(ls);
            continue;
        }
        ls->exclusive = exclusive && l.worker < 0;
        if (loop.add_listening(ls) != core::Status::ok) {
            return 2;
        }
    }

    // Signals arrive through the loop, never in the middle of a handler.
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGUSR2, SIGWINCH}) {
        sigaddset(&signals, s);
    }
    auto sfd = os::signal_fd(signals);
    if (!sfd) {
        log.write(LogLevel::emerg, sfd.error(), "signalfd() failed");
        return 2;
    }
    event::Connection* sc = loop.pool().get_internal(*sfd);
    sc->immediate = 1;
    sc->read.handler = on_signal;
    loop.backend().add(&sc->read, event::k_clear_event);

    if (id.channel >= 0) {
        event::Connection* cc = loop.pool().get(id.channel);
        if (cc == nullptr) {
            return 2;
        }
        cc->read.handler = on_channel;
        loop.handle_read_event(&cc->read);
    }

    // Native AIO (`aio on`), set up only when a location asks for it, as nginx
    // creates its context only with file AIO in use.
    std::unique_ptr<event::FileAio> aio;
    if (uses_aio(cycle, http::AioMode::native)) {
        aio = std::make_unique<event::FileAio>(loop, cycle.main.events.worker_aio_requests);
        const core::Status s = aio->init();
        if (s == core::Status::error) {
            return 2;
        }
        http::set_file_aio(aio.get());
    }

    // aio io_uring: the worker's ring, also created only when a location asks for
    // it. Without io_uring in this kernel those locations read in the pool
    // "default" (it exists whenever a location says `aio io_uring`).
    std::unique_ptr<event::UringFileReader> uring;
    if (uses_aio(cycle, http::AioMode::io_uring)) {
        uring =
            std::make_unique<event::UringFileReader>(loop, cycle.main.events.worker_aio_requests);
        const core::Status s = uring->init();
        if (s == core::Status::error) {
            return 2;
        }
        if (s == core::Status::declined) {
            log.write(LogLevel::warn, 0,
                      "io_uring is not available (io_uring_queue_init(%u) failed: %d: %s), aio "
                      "io_uring falls back to threads",
                      uring->entries(), uring->setup_error(), std::strerror(uring->setup_error()));
        }
        http::set_uring_reader(uring.get());
    }

    // The named thread pools (thread_pool); file operations are handed to them by
    // the modules that use them (aio threads). The implicit "default" that only
    // io_uring's fallback would use is not started when the ring works.
    std::vector<std::unique_ptr<event::ThreadPool>> pools;
    for (const ThreadPoolConfig& p : cycle.main.thread_pools) {
        if (p.only_uring_fallback && uring && uring->enabled()) {
            continue;
        }
        pools.push_back(std::make_unique<event::ThreadPool>(p.name, p.threads, p.max_queue, log));
        if (pools.back()->start() != core::Status::ok) {
            return 2;
        }
    }

    // aio threads: a reader per pool. Declared after the pools, but destroyed
    // explicitly once they are stopped (no thread may still write into a buffer).
    std::vector<std::unique_ptr<event::ThreadFileReader>> thread_readers;
    for (auto& pool : pools) {
        thread_readers.push_back(std::make_unique<event::ThreadFileReader>(loop, *pool));
        http::add_thread_reader(pool->name(), thread_readers.back().get());
    }
    // aio threads with sendfile on: sendfile() in the pool, destroyed the same way.
    std::vector<std::unique_ptr<event::ThreadSendfile>> thread_senders;
    for (auto& pool : pools) {
        thread_senders.push_back(std::make_unique<event::ThreadSendfile>(loop, *pool));
        http::add_thread_sendfile(pool->name(), thread_senders.back().get());
    }

    state.shutdown_timer.handler = on_shutdown_timeout;
    state.shutdown_timer.cancelable = 1;

    for (;;) {
        if (state.exiting && loop.only_cancelable_timers_left()) {
            log.write(LogLevel::notice, 0, "exiting");
            break;
        }
        loop.process_events_and_timers();
        if (state.terminate) {
            log.write(LogLevel::notice, 0, "exiting");
            break;
        }
        if (state.quit) {
            state.quit = false;
            if (!state.exiting) {
                log.write(LogLevel::notice, 0, "gracefully shutting down");
                state.exiting = true;
                if (cycle.main.worker_shutdown_timeout > 0) {
                    loop.add_timer(&state.shutdown_timer, cycle.main.worker_shutdown_timeout);
                }
                close_listening_sockets(cycle, loop);
                http::begin_graceful_shutdown();
                loop.pool().close_idle();
            }
        }
        if (state.reopen) {
            state.reopen = false;
            log.write(LogLevel::notice, 0, "reopening logs");
            reopen_error_logs(cycle, log, static_cast<uid_t>(-1));
            http::flush_access_logs();  // buffered lines belong to the old file
            reopen_access_logs(cycle, log, static_cast<uid_t>(-1));
        }
    }
    for (auto& pool : pools) {
        pool->stop();
    }
    http::release_file_readers();
    thread_readers.clear();
    http::release_thread_sendfiles();
    thread_senders.clear();
    http::flush_access_logs();
    retire_worker_gauges(zone, id.slot);
    me.pid.store(0, std::memory_order_relaxed);
    g_worker = nullptr;
    http::release_worker_caches();
    aio.reset();
    uring.reset();
    os::close_fd(*sfd);
    return 0;
}

}  // namespace evs::server
