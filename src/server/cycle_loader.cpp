#include "server/cycle_loader.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/conf_applier.hpp"
#include "core/conf_parser.hpp"
#include "os/socket.hpp"
#include "server/core_module.hpp"
#include "server/master.hpp"

namespace evs::server {

namespace conf = core::conf;

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

bool open_listening_sockets(Cycle& cycle, Cycle* old, std::string* error) {
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
        if (ls->fd >= 0) {
            continue;
        }
        const char* call = "";
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
