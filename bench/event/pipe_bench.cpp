// The driver of the pipes benchmark: sockets, iterations, timing, output. See
// pipe_bench.hpp for what is measured.
//
//   bench_event_<impl> [--pipes N] [--active A] [--writes W] [--iterations K]
//                      [--variants rearm,rearm+timeout,once,once+timeout]
//                      [--count-syscalls] [--callgrind] [--layout pairs|shared] [--trace]
//
// Runs the variants one after the other on the same sockets and loop (each starts
// from every watcher unregistered, then runs one unmeasured iteration), and prints
// one line of key=value pairs per variant. Times are per iteration; CPU times and
// system calls are per event, an event being one callback taking one byte (A + W
// per iteration, the same in every implementation).
//
// --count-syscalls counts system calls instead of timing (the counter slows every
// call). --callgrind, under valgrind --tool=callgrind --collect-atstart=no,
// collects only the measured iterations and dumps one profile per variant, in order.

#include "event/pipe_bench.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/bench_util.hpp"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define EVS_CALLGRIND_TOGGLE() CALLGRIND_TOGGLE_COLLECT
#define EVS_CALLGRIND_ZERO() CALLGRIND_ZERO_STATS
#define EVS_CALLGRIND_DUMP(name) CALLGRIND_DUMP_STATS_AT(name)
#else
#define EVS_CALLGRIND_TOGGLE()
#define EVS_CALLGRIND_ZERO()
#define EVS_CALLGRIND_DUMP(name)
#endif

namespace evs::bench {

PipeBench g_bench;

namespace {

struct Config {
    long pipes = 1000;
    long active = 100;
    long writes = 10000;
    bool rearm = true;
    long iterations = 10;
    bool count_syscalls = false;
    bool callgrind = false;
    bool trace = false;  // one line per iteration on stderr, to see where noise lands
    std::string layout;  // "pairs" or "shared"
};

void set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        die("fcntl(O_NONBLOCK): %s", std::strerror(errno));
    }
}

// bench.c gives every pipe its own socket pair (2N descriptors). Where the hard
// open-files limit forbids that (N = 10000 needs 20000 and a few), both ends of
// each pair are watched, by consecutive pipes: the kernel work per byte is the
// same (one unix stream socket receives it), only half the descriptors exist.
void create_pipes(Config& config) {
    const long wanted = 2 * config.pipes + 64;
    const long limit = raise_open_files_limit(wanted);
    if (config.layout.empty()) {
        config.layout = limit >= wanted ? "pairs" : "shared";
    }
    const bool shared = config.layout == "shared";
    if (shared && config.pipes % 2 != 0) {
        die("the shared layout needs an even number of pipes");
    }
    g_bench.pipes.resize(static_cast<std::size_t>(config.pipes));
    for (std::size_t i = 0; i < g_bench.pipes.size(); i += shared ? 2 : 1) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
            die("socketpair (pipe %zu of %ld, open-files limit %ld): %s", i, config.pipes, limit,
                std::strerror(errno));
        }
        set_nonblocking(sv[0]);
        set_nonblocking(sv[1]);
        g_bench.pipes[i] = {sv[0], sv[1]};
        if (shared) {
            g_bench.pipes[i + 1] = {sv[1], sv[0]};
        }
    }

    // Different timeouts, so that the timers do not all share one deadline (libev's
    // benchmark does the same); fixed per pipe, so each refresh sets the same delay.
    std::uint32_t seed = 12345;
    g_bench.timeout_ms.resize(g_bench.pipes.size());
    for (std::uint32_t& ms : g_bench.timeout_ms) {
        seed = seed * 1103515245 + 12345;
        ms = 10000 + (seed >> 16) % 1000;
    }
}

struct IterationTimes {
    std::int64_t total_ns;  // re-arm (rearm variant) + priming + dispatch
    std::int64_t loop_ns;   // dispatch only
};

IterationTimes run_iteration(Engine& engine, const Config& config, bool* armed) {
    const std::int64_t start = now_ns();
    if (config.rearm || !*armed) {
        if (*armed) {
            engine.disarm();
        }
        engine.arm();
        *armed = true;
    }

    g_bench.fired = 0;
    const std::size_t space = static_cast<std::size_t>(config.pipes / config.active);
    for (std::size_t i = 0; i < static_cast<std::size_t>(config.active); ++i) {
        if (::send(g_bench.pipes[i * space].write_fd, "e", 1, 0) != 1) {
            ++g_bench.failures;
        }
        ++g_bench.fired;
    }
    g_bench.count = 0;
    g_bench.writes = config.writes;

    const std::int64_t loop_start = now_ns();
    do {
        engine.run_once();
    } while (g_bench.count != g_bench.fired);
    const std::int64_t end = now_ns();
    return {end - start, end - loop_start};
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Runs one variant: from nothing registered, one unmeasured iteration (page
// faults, lazily grown arrays, caches), then the measured ones; prints its line.
// Times are medians over the iterations: on a shared machine an iteration now and
// then runs next to someone else's burst, and the median leaves those out. The
// user/system split is summed over all iterations instead, since the kernel
// samples it per tick and one iteration holds too few ticks.
void measure(Engine& engine, const Config& config, const std::string& variant,
             SyscallCounter* syscalls) {
    g_bench.failures = 0;
    g_bench.timeouts_fired = 0;
    bool armed = false;
    run_iteration(engine, config, &armed);

    std::vector<double> total_ms;
    std::vector<double> loop_ms;
    std::vector<double> cpu_ms;
    std::int64_t events = 0;
    std::int64_t calls = 0;
    g_bench.callbacks = 0;
    if (config.callgrind) {
        EVS_CALLGRIND_ZERO();
    }
    const CpuUsage first = cpu_usage();
    CpuUsage before = first;
    for (long i = 0; i < config.iterations; ++i) {
        if (config.count_syscalls) {
            syscalls->start();
        }
        if (config.callgrind) {
            EVS_CALLGRIND_TOGGLE();
        }
        const IterationTimes t = run_iteration(engine, config, &armed);
        if (config.callgrind) {
            EVS_CALLGRIND_TOGGLE();
        }
        if (config.count_syscalls) {
            calls += syscalls->stop();
        }
        const CpuUsage after = cpu_usage();
        const double cpu =
            static_cast<double>(after.user_ns + after.sys_ns - before.user_ns - before.sys_ns) /
            1e6;
        before = after;
        total_ms.push_back(static_cast<double>(t.total_ns) / 1e6);
        loop_ms.push_back(static_cast<double>(t.loop_ns) / 1e6);
        cpu_ms.push_back(cpu);
        events += g_bench.count;
        if (config.trace) {
            std::fprintf(stderr, "%s %s iteration %ld: total %.2f ms, cpu %.2f ms\n", engine.name(),
                         variant.c_str(), i, total_ms.back(), cpu);
        }
    }
    if (config.callgrind) {
        EVS_CALLGRIND_DUMP(variant.c_str());
    }
    engine.disarm();

    const double ev = static_cast<double>(events);
    std::printf(
        "impl=%s pipes=%ld active=%ld writes=%ld variant=%s timeout=%d layout=%s "
        "iterations=%ld events=%lld total_us=%.1f loop_us=%.1f cpu_us=%.1f user_ns_per_event=%.1f "
        "sys_ns_per_event=%.1f syscalls_per_event=%s callbacks_per_event=%.3f failures=%ld "
        "timeouts_fired=%ld\n",
        engine.name(), config.pipes, config.active, config.writes, config.rearm ? "rearm" : "once",
        g_bench.timeouts ? 1 : 0, config.layout.c_str(), config.iterations,
        static_cast<long long>(events), median(total_ms) * 1e3, median(loop_ms) * 1e3,
        median(cpu_ms) * 1e3, static_cast<double>(before.user_ns - first.user_ns) / ev,
        static_cast<double>(before.sys_ns - first.sys_ns) / ev,
        config.count_syscalls ? std::to_string(static_cast<double>(calls) / ev).c_str() : "-",
        static_cast<double>(g_bench.callbacks) / ev, g_bench.failures, g_bench.timeouts_fired);
    std::fflush(stdout);
}

}  // namespace

}  // namespace evs::bench

int main(int argc, char** argv) {
    using namespace evs::bench;
    const Options options(argc, argv);
    Config config;
    config.pipes = options.get_long("pipes", config.pipes);
    config.active = options.get_long("active", config.active);
    config.writes = options.get_long("writes", config.writes);
    config.iterations = options.get_long("iterations", config.iterations);
    config.count_syscalls = options.has("count-syscalls");
    config.callgrind = options.has("callgrind");
    config.trace = options.has("trace");
    config.layout = options.get_string("layout", "");
    if (config.active <= 0 || config.active > config.pipes || config.iterations <= 0) {
        die("need 0 < active <= pipes and iterations > 0");
    }
    std::vector<std::string> variants;
    const std::string list =
        options.get_string("variants", "rearm,rearm+timeout,once,once+timeout");
    for (std::size_t pos = 0; pos <= list.size();) {
        const std::size_t comma = std::min(list.find(',', pos), list.size());
        variants.push_back(list.substr(pos, comma - pos));
        pos = comma + 1;
    }
    for (const std::string& v : variants) {
        if (v != "rearm" && v != "rearm+timeout" && v != "once" && v != "once+timeout") {
            die("unknown variant '%s'", v.c_str());
        }
    }

    create_pipes(config);
    std::unique_ptr<Engine> engine = make_engine();
    if (!engine->init()) {
        die("%s: init failed", engine->name());
    }
    // Only when asked: while a raw_syscalls perf event exists, even disabled, every
    // system call of every process takes the kernel's slower traced path.
    std::optional<SyscallCounter> syscalls;
    if (config.count_syscalls) {
        syscalls.emplace();
        if (!syscalls->available()) {
            die("cannot count system calls: %s", syscalls->error().c_str());
        }
    }

    bool ok = true;
    for (const std::string& v : variants) {
        config.rearm = v.starts_with("rearm");
        g_bench.timeouts = v.ends_with("+timeout");
        measure(*engine, config, v, syscalls ? &*syscalls : nullptr);
        ok = ok && g_bench.failures == 0 && g_bench.timeouts_fired == 0;
    }
    return ok ? 0 : 1;
}
