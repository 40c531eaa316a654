// evserve's command line, as nginx's: parse the options, read the configuration,
// then test it (-t, -T), signal a running master (-s), or start serving.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "os/process.hpp"
#include "server/command_line.hpp"
#include "server/cycle_loader.hpp"
#include "server/master.hpp"
#include "server/shared_zone.hpp"
#include "server/worker.hpp"
#include "version.hpp"

namespace {

using evs::server::Cycle;
using evs::server::Options;

void print_version(const Options& o) {
    std::fprintf(stderr, "evserve version: evserve/%.*s\n", static_cast<int>(evs::version().size()),
                 evs::version().data());
    if (o.help) {
        std::fputs(evs::server::usage_text().c_str(), stderr);
    }
    if (o.configure) {
        std::fprintf(stderr, "%.*s\n", static_cast<int>(evs::build_summary().size()),
                     evs::build_summary().data());
    }
}

std::string with_slash(std::string dir) {
    if (dir.empty() || dir.back() != '/') {
        dir += '/';
    }
    return dir;
}

// Paths as nginx resolves them: -p defaults to the current directory here (there
// is no compiled-in prefix), -c is relative to the prefix.
void resolve_paths(Options& o) {
    char resolved[PATH_MAX];
    if (::realpath(o.prefix.empty() ? "." : o.prefix.c_str(), resolved) != nullptr) {
        o.prefix = resolved;
    }
    o.prefix = with_slash(o.prefix);
    if (o.conf_file.empty()) {
        o.conf_file = evs::server::k_default_conf;
    }
    if (o.conf_file[0] != '/') {
        o.conf_file = o.prefix + o.conf_file;
    }
}

int send_signal(const Cycle& cycle, const std::string& name) {
    const int signo = name == "stop"     ? SIGTERM
                      : name == "quit"   ? SIGQUIT
                      : name == "reopen" ? SIGUSR1
                                         : SIGHUP;
    const auto pid = evs::os::read_pid_file(cycle.main.pid);
    if (!pid) {
        if (pid.error() == EINVAL) {
            std::fprintf(stderr, "evserve: [error] invalid PID number in \"%s\"\n",
                         cycle.main.pid.c_str());
        } else {
            std::fprintf(stderr, "evserve: [error] open() \"%s\" failed (%d: %s)\n",
                         cycle.main.pid.c_str(), pid.error(), std::strerror(pid.error()));
        }
        return 1;
    }
    if (::kill(*pid, signo) < 0) {
        std::fprintf(stderr, "evserve: [alert] kill(%d, %d) failed (%d: %s)\n", *pid, signo, errno,
                     std::strerror(errno));
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    std::string error;
    if (!evs::server::parse_command_line(argc, argv, &options, &error)) {
        std::fprintf(stderr, "evserve: %s\n", error.c_str());
        return 1;
    }
    if (options.version) {
        print_version(options);
        return 0;
    }
    resolve_paths(options);

    std::unique_ptr<Cycle> cycle = evs::server::load_cycle(options, &error);
    if (!cycle) {
        std::fprintf(stderr, "evserve: [emerg] %s\n", error.c_str());
        if (options.test) {
            std::fprintf(stderr, "evserve: configuration file %s test failed\n",
                         options.conf_file.c_str());
        }
        return 1;
    }
    if (options.test) {
        if (!options.quiet) {
            std::fprintf(stderr, "evserve: the configuration file %s syntax is ok\n",
                         options.conf_file.c_str());
            std::fprintf(stderr, "evserve: configuration file %s test is successful\n",
                         options.conf_file.c_str());
        }
        if (options.dump) {
            for (const auto& [path, text] : cycle->files) {
                std::printf("# configuration file %s:\n%s", path.c_str(), text.c_str());
                if (text.empty() || text.back() != '\n') {
                    std::printf("\n");
                }
                std::printf("\n");
            }
        }
        return 0;
    }
    if (!options.signal.empty()) {
        return send_signal(*cycle, options.signal);
    }

    if (!evs::server::open_listening_sockets(*cycle, nullptr, cycle->log, &error)) {
        std::fprintf(stderr, "evserve: [emerg] %s\n", error.c_str());
        return 1;
    }
    if (!evs::server::open_error_logs(*cycle) || !evs::server::open_access_logs(*cycle)) {
        return 1;
    }
    if (cycle->main.daemon) {
        if (auto r = evs::os::daemonize(); !r) {
            cycle->log.write(evs::core::LogLevel::emerg, r.error(), "daemon() failed");
            return 1;
        }
        evs::server::redirect_stderr(cycle->log);
    }
    // The pid file is written after the sockets listen, so that a script that waits
    // for it can connect at once.
    if (auto r = evs::os::write_pid_file(cycle->main.pid, ::getpid()); !r) {
        cycle->log.write(evs::core::LogLevel::emerg, r.error(), "open() \"%s\" failed",
                         cycle->main.pid.c_str());
        return 1;
    }
    evs::server::SharedZone zone;
    if (const int err = zone.create(); err != 0) {
        cycle->log.write(evs::core::LogLevel::emerg, err, "mmap() of the shared zone failed");
        return 1;
    }
    ::signal(SIGPIPE, SIG_IGN);
    if (!cycle->main.master_process) {
        return evs::server::run_single(std::move(cycle), zone);
    }
    const Options saved = options;
    evs::server::CycleLoader loader = [saved](Cycle& old,
                                              evs::core::Log& log) -> std::unique_ptr<Cycle> {
        std::string err;
        std::unique_ptr<Cycle> fresh = evs::server::load_cycle(saved, &err);
        if (fresh && !evs::server::open_listening_sockets(*fresh, &old, log, &err)) {
            fresh.reset();
        }
        if (fresh &&
            (!evs::server::open_error_logs(*fresh) || !evs::server::open_access_logs(*fresh))) {
            err = "cannot open the log files";
            fresh.reset();
        }
        if (!fresh) {
            log.write(evs::core::LogLevel::emerg, 0, "%s", err.c_str());
        }
        return fresh;
    };
    return evs::server::run_master(std::move(cycle), zone, loader, {argc, argv});
}
