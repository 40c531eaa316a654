// The driver of the timers benchmark (see timers_bench.hpp).
//
//   bench_timers_<impl> [--timers COUNT]
//
// Prints one line of key=value pairs; exits 1 if a timer did not fire exactly once.

#include "timers/timers_bench.hpp"

#include <cstdio>
#include <cstdlib>

#include "common/bench_util.hpp"

namespace evs::bench {
std::size_t g_timers_fired = 0;
}  // namespace evs::bench

int main(int argc, char** argv) {
    using namespace evs::bench;
    const Options options(argc, argv);
    const long count = options.get_long("timers", 10 * 1000 * 1000);
    if (count <= 0) {
        die("--timers must be positive");
    }
    std::unique_ptr<TimerEngine> engine = make_timer_engine();

    const std::int64_t start = now_ns();
    if (!engine->start_all(static_cast<std::size_t>(count))) {
        die("%s: could not start the timers", engine->name());
    }
    const std::int64_t started = now_ns();
    const CpuUsage start_cpu = cpu_usage();
    engine->run();
    const std::int64_t end = now_ns();
    // Read before the engine is destroyed: tearing down is not part of the work.
    const CpuUsage cpu = cpu_usage();

    std::printf(
        "impl=%s timers=%ld init_s=%.3f run_s=%.3f init_cpu_s=%.3f run_cpu_s=%.3f cpu_s=%.3f "
        "user_s=%.3f sys_s=%.3f maxrss_mib=%.1f fired=%zu\n",
        engine->name(), count, static_cast<double>(started - start) / 1e9,
        static_cast<double>(end - started) / 1e9,
        static_cast<double>(start_cpu.user_ns + start_cpu.sys_ns) / 1e9,
        static_cast<double>(cpu.user_ns + cpu.sys_ns - start_cpu.user_ns - start_cpu.sys_ns) / 1e9,
        static_cast<double>(cpu.user_ns + cpu.sys_ns) / 1e9, static_cast<double>(cpu.user_ns) / 1e9,
        static_cast<double>(cpu.sys_ns) / 1e9, static_cast<double>(cpu.max_rss_kb) / 1024.0,
        g_timers_fired);
    std::fflush(stdout);
    // Exit without freeing: the kernel reclaims the memory faster than any
    // destructor, and that time is no library's.
    std::_Exit(g_timers_fired == static_cast<std::size_t>(count) ? 0 : 1);
}
