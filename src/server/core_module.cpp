#include "server/core_module.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/conf_applier.hpp"
#include "core/conf_parser.hpp"
#include "core/conf_values.hpp"
#include "server/cycle.hpp"

namespace evs::server {

namespace conf = core::conf;
using conf::Applier;
using conf::Directive;
using conf::Error;
using conf::Node;
using std::optional;

namespace {

optional<Error> set_worker_processes(Applier&, const Node& node, const Directive&, void* p) {
    auto* main = static_cast<MainConfig*>(p);
    if (node.args[1] == "auto") {
        const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
        main->worker_processes = n > 0 ? static_cast<unsigned>(n) : 1;
        return std::nullopt;
    }
    const auto n = conf::parse_number(node.args[1]);
    if (!n || *n == 0 || *n > 1024) {
        return conf::invalid_value_error(node);
    }
    main->worker_processes = static_cast<unsigned>(*n);
    return std::nullopt;
}

optional<Error> set_error_log(Applier&, const Node& node, const Directive&, void* p) {
    auto* main = static_cast<MainConfig*>(p);
    ErrorLogConfig log;
    log.path = node.args[1];
    if (node.arg_count() >= 2 && !core::parse_log_level(node.args[2], &log.level)) {
        return node.error("invalid log level \"" + node.args[2] + "\"");
    }
    if (node.arg_count() > 2) {
        return node.error("invalid number of arguments in \"error_log\" directive");
    }
    main->error_logs.push_back(std::move(log));
    return std::nullopt;
}

optional<Error> set_user(Applier&, const Node& node, const Directive&, void* p) {
    auto* main = static_cast<MainConfig*>(p);
    if (::geteuid() != 0) {
        // As nginx: a warning, and the directive is ignored.
        std::fprintf(stderr,
                     "evserve: [warn] the \"user\" directive makes sense only if the master "
                     "process runs with super-user privileges, ignored in %.*s:%u\n",
                     static_cast<int>(node.file.size()), node.file.data(), node.line);
        return std::nullopt;
    }
    main->user = node.args[1];
    main->group = node.arg_count() == 2 ? node.args[2] : "";
    if (auto failed = resolve_user(*main)) {
        return node.error(*failed);
    }
    return std::nullopt;
}

// worker_cpu_affinity auto [mask] | mask ...; a mask is a string of 0 and 1, the
// rightmost character being CPU 0. With auto, the one mask (default: every CPU the
// master may use) is the pool the workers take their CPU from in turn.
optional<Error> set_cpu_affinity(Applier&, const Node& node, const Directive&, void* p) {
    auto* main = static_cast<MainConfig*>(p);
    std::size_t first = 1;
    if (node.args[1] == "auto") {
        if (node.arg_count() > 2) {
            return node.error("invalid number of arguments in \"worker_cpu_affinity\" directive");
        }
        main->cpu_affinity_auto = true;
        first = 2;
    }
    for (std::size_t i = first; i < node.args.size(); ++i) {
        const std::string& mask = node.args[i];
        if (mask.empty() || mask.size() > CPU_SETSIZE) {
            return node.error("invalid character \"" + mask + "\" in \"worker_cpu_affinity\"");
        }
        cpu_set_t set;
        CPU_ZERO(&set);
        for (std::size_t bit = 0; bit < mask.size(); ++bit) {
            const char ch = mask[mask.size() - 1 - bit];
            if (ch == '1') {
                CPU_SET(static_cast<int>(bit), &set);
            } else if (ch != '0') {
                return node.error(std::string("invalid character \"") + ch +
                                  "\" in \"worker_cpu_affinity\"");
            }
        }
        main->cpu_affinity.push_back(set);
    }
    return std::nullopt;
}

// thread_pool name threads=number [max_queue=number];
optional<Error> set_thread_pool(Applier&, const Node& node, const Directive&, void* p) {
    auto* main = static_cast<MainConfig*>(p);
    ThreadPoolConfig pool;
    pool.name = node.args[1];
    pool.threads = 0;
    for (std::size_t i = 2; i < node.args.size(); ++i) {
        const std::string& arg = node.args[i];
        const auto eq = arg.find('=');
        const std::string key = arg.substr(0, eq);
        // UINT64_MAX stands for "not a number": no valid value comes near it.
        const std::uint64_t value =
            eq == std::string::npos ? UINT64_MAX
                                    : conf::parse_number(arg.substr(eq + 1)).value_or(UINT64_MAX);
        if (key == "threads" && value > 0 && value < 65536) {
            pool.threads = static_cast<unsigned>(value);
        } else if (key == "max_queue" && value < (1u << 30)) {
            pool.max_queue = static_cast<std::size_t>(value);
        } else {
            return node.error("invalid parameter \"" + arg + "\"");
        }
    }
    if (pool.threads == 0) {
        return node.error("\"" + pool.name + "\" must have \"threads\" parameter");
    }
    for (const ThreadPoolConfig& other : main->thread_pools) {
        if (other.name == pool.name) {
            return node.error("duplicate thread pool \"" + pool.name + "\"");
        }
    }
    main->thread_pools.push_back(std::move(pool));
    return std::nullopt;
}

optional<Error> set_events(Applier& applier, const Node& node, const Directive&, void* p) {
    auto* main = static_cast<MainConfig*>(p);
    main->events_block_seen = true;
    const conf::Binding binding{&k_events_table, &main->events};
    return applier.apply(node, std::span<const conf::Binding>(&binding, 1), conf::k_events);
}

optional<Error> set_http(Applier& applier, const Node& node, const Directive&, void* p) {
    auto* main = static_cast<MainConfig*>(p);
    main->http = std::make_shared<http::HttpConfig>();
    return http::apply_http_block(applier, node, *main->http);
}

optional<Error> set_worker_connections(Applier&, const Node& node, const Directive&, void* p) {
    auto* events = static_cast<EventsConfig*>(p);
    const auto n = conf::parse_number(node.args[1]);
    if (!n || *n < 2 || *n > (1u << 24)) {
        return conf::invalid_number_error(node);
    }
    events->worker_connections = static_cast<std::uint32_t>(*n);
    return std::nullopt;
}

constexpr conf::EnumValue k_event_methods[] = {{"epoll", 0}, {"poll", 1}};

optional<Error> set_use(Applier&, const Node& node, const Directive& d, void* p) {
    auto* events = static_cast<EventsConfig*>(p);
    for (const conf::EnumValue& v : k_event_methods) {
        if (node.args[1] == v.name) {
            events->use = std::string(v.name);
            return std::nullopt;
        }
    }
    (void)d;
    return node.error("invalid event type \"" + node.args[1] + "\"");
}

constexpr Directive k_core_directives[] = {
    {"daemon",
     conf::k_main,
     conf::k_flag,
     conf::flag_slot<&MainConfig::daemon>,
     "on",
     {},
     "Whether the master detaches from the terminal."},
    {"master_process",
     conf::k_main,
     conf::k_flag,
     conf::flag_slot<&MainConfig::master_process>,
     "on",
     {},
     "Off runs the event loop in a single process (for development)."},
    {"worker_processes",
     conf::k_main,
     conf::k_take1,
     {set_worker_processes},
     "1",
     "number | auto",
     "How many worker processes serve; auto is one per CPU."},
    {"pid", conf::k_main, conf::k_take1, conf::string_slot<&MainConfig::pid>, "logs/evserve.pid",
     "file", "Where the master writes its pid, once the sockets listen."},
    {"error_log",
     conf::k_main,
     conf::k_take12 | conf::k_repeatable,
     {set_error_log},
     {},
     "file | stderr [level]",
     "Where errors are logged, and from which level (debug, info, notice, warn, error, "
     "crit, alert, emerg). May be given several times. Default: logs/error.log error."},
    {"worker_rlimit_nofile",
     conf::k_main,
     conf::k_take1,
     conf::number_slot<&MainConfig::worker_rlimit_nofile>,
     {},
     {},
     "The open-file limit each worker sets for itself."},
    {"worker_shutdown_timeout",
     conf::k_main,
     conf::k_take1,
     conf::msec_slot<&MainConfig::worker_shutdown_timeout>,
     {},
     {},
     "How long a gracefully stopping worker waits before closing what is left."},
    {"timer_resolution",
     conf::k_main,
     conf::k_take1,
     conf::msec_slot<&MainConfig::timer_resolution>,
     {},
     {},
     "Refresh the clock on this period instead of after every wait."},
    {"worker_cpu_affinity",
     conf::k_main,
     conf::k_1more,
     {set_cpu_affinity},
     {},
     "auto [mask] | mask ...",
     "Binds workers to CPUs."},
    {"user",
     conf::k_main,
     conf::k_take12,
     {set_user},
     {},
     "user [group]",
     "The user workers run as when the master starts as root (default nobody nogroup)."},
    {"thread_pool",
     conf::k_main,
     conf::k_take23 | conf::k_repeatable,
     {set_thread_pool},
     {},
     "name threads=number [max_queue=number]",
     "A named pool of threads for blocking file operations."},
    {"events",
     conf::k_main,
     conf::k_block | conf::k_noargs,
     {set_events},
     {},
     "{ ... }",
     "The event loop's settings; required."},
    {"http",
     conf::k_main,
     conf::k_block | conf::k_noargs,
     {set_http},
     {},
     "{ ... }",
     "The HTTP server's settings, servers and locations."},
};

constexpr Directive k_events_directives[] = {
    {"worker_connections",
     conf::k_events,
     conf::k_take1,
     {set_worker_connections},
     "512",
     "number",
     "Connection slots per worker, including listening sockets."},
    {"use",
     conf::k_events,
     conf::k_take1,
     {set_use},
     {},
     "epoll | poll",
     "The event method (default epoll)."},
    {"multi_accept",
     conf::k_events,
     conf::k_flag,
     conf::flag_slot<&EventsConfig::multi_accept>,
     "off",
     {},
     "Accept every pending connection at each readiness notification."},
    {"accept_mutex",
     conf::k_events,
     conf::k_flag,
     conf::flag_slot<&EventsConfig::accept_mutex>,
     "off",
     {},
     "Workers take turns accepting, through a lock in shared memory."},
    {"accept_mutex_delay",
     conf::k_events,
     conf::k_take1,
     conf::msec_slot<&EventsConfig::accept_mutex_delay>,
     "500ms",
     {},
     "How long a worker that lost the accept mutex waits before trying again."},
    {"epoll_events",
     conf::k_events,
     conf::k_take1,
     conf::number_slot<&EventsConfig::epoll_events>,
     "512",
     {},
     "The most events one epoll_wait() returns."},
    {"worker_aio_requests",
     conf::k_events,
     conf::k_take1,
     conf::number_slot<&EventsConfig::worker_aio_requests>,
     "32",
     {},
     "Outstanding native AIO operations per worker."},
};

}  // namespace

std::optional<std::string> resolve_user(MainConfig& main) {
    // getpwnam() and getgrnam() leave errno alone when the name simply is not there;
    // nginx then prints no error text either.
    const auto failure = [](const char* call, const std::string& name) {
        std::string text = std::string(call) + "(\"" + name + "\") failed";
        if (errno != 0 && errno != ENOENT && errno != ESRCH) {
            text += " (" + std::to_string(errno) + ": " + std::strerror(errno) + ")";
        }
        return text;
    };
    errno = 0;
    const passwd* pw = ::getpwnam(main.user.c_str());
    if (pw == nullptr) {
        return failure("getpwnam", main.user);
    }
    main.user_id = pw->pw_uid;
    main.group_id = pw->pw_gid;
    if (!main.group.empty()) {
        errno = 0;
        const struct group* gr = ::getgrnam(main.group.c_str());
        if (gr == nullptr) {
            return failure("getgrnam", main.group);
        }
        main.group_id = gr->gr_gid;
    }
    return std::nullopt;
}

const conf::Table k_core_table{"core", k_core_directives};
const conf::Table k_events_table{"events", k_events_directives};

std::span<const conf::Table* const> all_tables() {
    static const std::vector<const conf::Table*> tables = [] {
        std::vector<const conf::Table*> all = {&k_core_table, &k_events_table,
                                               &conf::k_include_table};
        for (const conf::Table* t : http::http_tables()) {
            all.push_back(t);
        }
        return all;
    }();
    return tables;
}

}  // namespace evs::server
