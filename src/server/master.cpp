#include "server/master.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "os/process.hpp"
#include "os/socket.hpp"
#include "server/cycle_loader.hpp"
#include "server/worker.hpp"

extern char** environ;

namespace evs::server {

using core::LogLevel;

namespace {

volatile sig_atomic_t g_reap = 0;
volatile sig_atomic_t g_terminate = 0;
volatile sig_atomic_t g_quit = 0;
volatile sig_atomic_t g_reconfigure = 0;
volatile sig_atomic_t g_reopen = 0;
volatile sig_atomic_t g_change_binary = 0;
volatile sig_atomic_t g_noaccept = 0;
volatile sig_atomic_t g_alarm = 0;

void on_master_signal(int signo) {
    switch (signo) {
        case SIGCHLD:
            g_reap = 1;
            break;
        case SIGTERM:
        case SIGINT:
            g_terminate = 1;
            break;
        case SIGQUIT:
            g_quit = 1;
            break;
        case SIGHUP:
            g_reconfigure = 1;
            break;
        case SIGUSR1:
            g_reopen = 1;
            break;
        case SIGUSR2:
            g_change_binary = 1;
            break;
        case SIGWINCH:
            g_noaccept = 1;
            break;
        case SIGALRM:
            g_alarm = 1;
            break;
        default:
            break;
    }
}

constexpr int k_master_signals[] = {SIGCHLD, SIGTERM, SIGINT,   SIGQUIT, SIGHUP,
                                    SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM};

struct WorkerProcess {
    pid_t pid = -1;
    int channel = -1;  // the master's end
    int slot = 0;
    int number = 0;
    Cycle* cycle = nullptr;
    bool exiting = false;  // asked to quit: do not respawn
};

class Master {
public:
    Master(std::unique_ptr<Cycle> cycle, SharedZone& zone, const CycleLoader& loader,
           const ProcessArgs& args)
        : zone_(zone), loader_(loader), args_(args) {
        cycles_.push_back(std::move(cycle));
    }

    int run();

private:
    Cycle& current() { return *cycles_.back(); }
    core::Log& log() { return current().log; }

    void start_workers(Cycle& cycle);
    bool spawn(Cycle& cycle, int number);
    bool reap();
    void signal_workers(int signo, char command, const Cycle* only_not = nullptr);
    void reload();
    void exec_new_binary();
    void close_listening(Cycle& cycle);
    void drop_finished_cycles();
    [[noreturn]] void exit_master();

    SharedZone& zone_;
    const CycleLoader& loader_;
    ProcessArgs args_;
    std::vector<std::unique_ptr<Cycle>> cycles_;  // the last one is current
    std::vector<WorkerProcess> workers_;
    pid_t new_binary_ = 0;
    bool noaccepting_ = false;
};

int free_slot(const std::vector<WorkerProcess>& workers) {
    for (int slot = 0; slot < static_cast<int>(k_max_workers); ++slot) {
        bool used = false;
        for (const WorkerProcess& w : workers) {
            used |= w.slot == slot;
        }
        if (!used) {
            return slot;
        }
    }
    return -1;
}

bool Master::spawn(Cycle& cycle, int number) {
    const int slot = free_slot(workers_);
    if (slot < 0) {
        log().write(LogLevel::alert, 0, "no more than %zu worker processes can be spawned",
                    k_max_workers);
        return false;
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        log().write(LogLevel::alert, errno,
                    "socketpair() failed while spawning \"worker process\"");
        return false;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        log().write(LogLevel::alert, errno, "fork() failed while spawning \"worker process\"");
        ::close(pair[0]);
        ::close(pair[1]);
        return false;
    }
    if (pid == 0) {
        ::close(pair[0]);
        for (const WorkerProcess& w : workers_) {
            os::close_fd(w.channel);  // other workers' channels are not ours
        }
        if (!os::set_nonblocking(pair[1])) {
            std::_Exit(2);
        }
        // Signals stay blocked; the worker takes them from a signalfd.
        for (int s : k_master_signals) {
            std::signal(s, SIG_DFL);
        }
        // Listening sockets of older cycles belong to the master only.
        for (auto& c : cycles_) {
            if (c.get() != &cycle) {
                for (Cycle::Listen& l : c->listening) {
                    if (l.listening && l.listening->fd >= 0) {
                        bool shared = false;
                        for (Cycle::Listen& mine : cycle.listening) {
                            shared |= mine.listening->fd == l.listening->fd;
                        }
                        if (!shared) {
                            ::close(l.listening->fd);
                        }
                    }
                }
            }
        }
        WorkerIdentity id;
        id.slot = slot;
        id.number = number;
        id.channel = pair[1];
        std::_Exit(run_worker(cycle, zone_.get(), id));
    }
    ::close(pair[1]);
    if (auto r = os::set_nonblocking(pair[0]); !r) {
        log().write(LogLevel::alert, r.error(), "fcntl(O_NONBLOCK) on a channel failed");
    }
    WorkerProcess w;
    w.pid = pid;
    w.channel = pair[0];
    w.slot = slot;
    w.number = number;
    w.cycle = &cycle;
    workers_.push_back(w);
    log().write(LogLevel::notice, 0, "start worker process %d", static_cast<int>(pid));
    return true;
}

void Master::start_workers(Cycle& cycle) {
    for (unsigned i = 0; i < cycle.main.worker_processes; ++i) {
        spawn(cycle, static_cast<int>(i));
    }
}

void Master::signal_workers(int signo, char command, const Cycle* only_not) {
    for (WorkerProcess& w : workers_) {
        if (only_not != nullptr && w.cycle == only_not) {
            continue;
        }
        if (signo == SIGQUIT || signo == SIGTERM) {
            w.exiting = true;
        }
        // The channel first: it cannot interrupt a system call in the worker. The
        // signal is the fallback when the channel is gone or full.
        if (command != 0 && w.channel >= 0 && ::write(w.channel, &command, 1) == 1) {
            continue;
        }
        if (::kill(w.pid, signo) < 0 && errno != ESRCH) {
            log().write(LogLevel::alert, errno, "kill(%d, %d) failed", static_cast<int>(w.pid),
                        signo);
        }
    }
}

// Returns whether any worker is still alive.
bool Master::reap() {
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            break;
        }
        if (pid == new_binary_) {
            // The new binary failed (or was stopped): take the pid file back.
            log().write(LogLevel::notice, 0, "new binary process %d exited", static_cast<int>(pid));
            const std::string pid_path = current().resolve(current().main.pid);
            ::rename((pid_path + ".oldbin").c_str(), pid_path.c_str());
            new_binary_ = 0;
            continue;
        }
        auto it = std::find_if(workers_.begin(), workers_.end(),
                               [pid](const WorkerProcess& w) { return w.pid == pid; });
        if (it == workers_.end()) {
            continue;
        }
        if (WIFSIGNALED(status)) {
            log().write(LogLevel::alert, 0, "worker process %d exited on signal %d%s",
                        static_cast<int>(pid), WTERMSIG(status),
                        WCOREDUMP(status) ? " (core dumped)" : "");
        } else if (WEXITSTATUS(status) != 0) {
            log().write(LogLevel::alert, 0, "worker process %d exited with code %d",
                        static_cast<int>(pid), WEXITSTATUS(status));
        } else {
            log().write(LogLevel::notice, 0, "worker process %d exited with code 0",
                        static_cast<int>(pid));
        }
        // A worker that died holding the accept mutex would stop everyone.
        if (SharedAcceptMutex::force_unlock(&zone_.get()->accept_mutex, pid)) {
            log().write(LogLevel::alert, 0, "the accept mutex of %d was released",
                        static_cast<int>(pid));
        }
        retire_worker_gauges(zone_.get(), it->slot);
        zone_.get()->workers[it->slot].pid.store(0, std::memory_order_relaxed);
        os::close_fd(it->channel);
        WorkerProcess dead = *it;
        workers_.erase(it);

        const bool fatal = WIFEXITED(status) && WEXITSTATUS(status) == 2;
        if (fatal) {
            log().write(LogLevel::alert, 0,
                        "worker process %d exited with fatal code 2 and cannot be respawned",
                        static_cast<int>(pid));
        }
        if (!dead.exiting && !fatal && !g_terminate && !g_quit && !noaccepting_ &&
            dead.cycle == &current()) {
            spawn(current(), dead.number);
        }
    }
    drop_finished_cycles();
    return !workers_.empty();
}

// Old cycles whose workers have all exited are released.
void Master::drop_finished_cycles() {
    for (std::size_t i = 0; i + 1 < cycles_.size();) {
        Cycle* c = cycles_[i].get();
        const bool busy = std::any_of(workers_.begin(), workers_.end(),
                                      [c](const WorkerProcess& w) { return w.cycle == c; });
        if (busy) {
            ++i;
            continue;
        }
        cycles_.erase(cycles_.begin() + static_cast<std::ptrdiff_t>(i));
    }
}

void Master::close_listening(Cycle& cycle) {
    for (Cycle::Listen& l : cycle.listening) {
        if (l.listening && l.listening->fd >= 0) {
            event::close_listening(l.listening.get());
        }
    }
}

void Master::reload() {
    log().write(LogLevel::notice, 0, "reconfiguring");
    Cycle& old = current();
    std::unique_ptr<Cycle> fresh = loader_(old, old.log);
    if (!fresh) {
        // The old configuration keeps serving; the loader logged why.
        return;
    }
    fresh->generation = old.generation + 1;
    cycles_.push_back(std::move(fresh));
    start_workers(current());
    // Give the new workers a moment to start accepting before the old ones stop,
    // so that the listen queue is never without a reader.
    ::usleep(100 * 1000);
    signal_workers(SIGQUIT, k_cmd_quit, &current());
    // Sockets the new configuration did not keep: the old workers have their own
    // copies until they exit; the master's go now.
    close_listening(old);
}

void Master::exec_new_binary() {
    const std::string pid_path = current().resolve(current().main.pid);
    std::string env_value;
    for (const Cycle::Listen& l : current().listening) {
        if (l.listening->fd >= 0) {
            env_value += std::to_string(l.listening->fd) + ";";
        }
    }
    if (::rename(pid_path.c_str(), (pid_path + ".oldbin").c_str()) < 0) {
        log().write(LogLevel::alert, errno,
                    "rename %s to %s.oldbin failed, the new binary is not started",
                    pid_path.c_str(), pid_path.c_str());
        return;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        log().write(LogLevel::alert, errno, "fork() failed while executing new binary");
        ::rename((pid_path + ".oldbin").c_str(), pid_path.c_str());
        return;
    }
    if (pid == 0) {
        for (const Cycle::Listen& l : current().listening) {
            if (l.listening->fd >= 0) {
                ::fcntl(l.listening->fd, F_SETFD, 0);  // survive the exec
            }
        }
        ::setenv(k_inherited_env, env_value.c_str(), 1);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv(args_.argv[0], args_.argv);
        std::fprintf(stderr, "evserve: [alert] execv() \"%s\" failed (%d: %s)\n", args_.argv[0],
                     errno, std::strerror(errno));
        std::_Exit(2);
    }
    new_binary_ = pid;
    log().write(LogLevel::notice, 0, "start new binary process %d", static_cast<int>(pid));
}

void Master::exit_master() {
    const std::string pid_path = current().resolve(current().main.pid);
    // An old master (after USR2) owns the .oldbin file, not the live one.
    if (new_binary_ == 0) {
        const auto owner = os::read_pid_file(pid_path);
        if (owner && *owner == ::getpid()) {
            ::unlink(pid_path.c_str());
        }
    }
    const auto old_owner = os::read_pid_file(pid_path + ".oldbin");
    if (old_owner && *old_owner == ::getpid()) {
        ::unlink((pid_path + ".oldbin").c_str());
    }
    log().write(LogLevel::notice, 0, "exit");
    for (auto& c : cycles_) {
        close_listening(*c);
    }
    std::_Exit(0);
}

int Master::run() {
    sigset_t blocked;
    sigemptyset(&blocked);
    struct sigaction sa {};
    sa.sa_handler = on_master_signal;
    sigemptyset(&sa.sa_mask);
    for (int s : k_master_signals) {
        sigaddset(&blocked, s);
        ::sigaction(s, &sa, nullptr);
    }
    std::signal(SIGPIPE, SIG_IGN);
    ::sigprocmask(SIG_BLOCK, &blocked, nullptr);

    start_workers(current());

    bool live = true;
    core::Msec delay = 0;
    int kill_rounds = 0;
    sigset_t none;
    sigemptyset(&none);
    for (;;) {
        if (delay > 0) {
            if (g_alarm) {
                g_alarm = 0;
                delay *= 2;
            }
            itimerval itv{};
            itv.it_value.tv_sec = static_cast<time_t>(delay / 1000);
            itv.it_value.tv_usec = static_cast<suseconds_t>((delay % 1000) * 1000);
            ::setitimer(ITIMER_REAL, &itv, nullptr);
        }
        ::sigsuspend(&none);
        core::clock().update();

        if (g_reap) {
            g_reap = 0;
            live = reap();
        }
        if (!live && (g_terminate || g_quit)) {
            exit_master();
        }
        if (g_terminate) {
            if (delay == 0) {
                delay = 50;
            }
            // Workers that do not exit within about a second are killed.
            if (delay > 1000 || ++kill_rounds > 20) {
                signal_workers(SIGKILL, 0);
            } else {
                signal_workers(SIGTERM, k_cmd_terminate);
            }
            continue;
        }
        if (g_quit) {
            signal_workers(SIGQUIT, k_cmd_quit);
            for (auto& c : cycles_) {
                close_listening(*c);
            }
            continue;
        }
        if (g_reconfigure) {
            g_reconfigure = 0;
            if (noaccepting_) {
                // After WINCH: HUP brings the workers back with the same cycle.
                noaccepting_ = false;
                start_workers(current());
                live = true;
                continue;
            }
            reload();
            live = true;
        }
        if (g_reopen) {
            g_reopen = 0;
            log().write(LogLevel::notice, 0, "reopening logs");
            // Workers run unprivileged and reopen the files themselves: give the
            // new files to their user first.
            const uid_t owner = ::geteuid() == 0 ? current().main.user_id : static_cast<uid_t>(-1);
            reopen_error_logs(current(), current().log, owner);
            reopen_access_logs(current(), current().log, owner);
            signal_workers(SIGUSR1, k_cmd_reopen);
        }
        if (g_change_binary) {
            g_change_binary = 0;
            if (new_binary_ == 0) {
                exec_new_binary();
            }
        }
        if (g_noaccept) {
            g_noaccept = 0;
            noaccepting_ = true;
            signal_workers(SIGQUIT, k_cmd_quit);
        }
    }
}

}  // namespace

int run_master(std::unique_ptr<Cycle> cycle, SharedZone& zone, const CycleLoader& loader,
               const ProcessArgs& args) {
    Master master(std::move(cycle), zone, loader, args);
    return master.run();
}

int run_single(std::unique_ptr<Cycle> cycle, SharedZone& zone) {
    WorkerIdentity id;
    id.single = true;
    const int status = run_worker(*cycle, zone.get(), id);
    const std::string pid_path = cycle->resolve(cycle->main.pid);
    const auto owner = os::read_pid_file(pid_path);
    if (owner && *owner == ::getpid()) {
        ::unlink(pid_path.c_str());
    }
    return status;
}

}  // namespace evs::server
