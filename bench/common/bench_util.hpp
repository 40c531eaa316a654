#pragma once

// Measurement helpers shared by the event-core benchmarks: a monotonic clock,
// process CPU time and peak RSS from getrusage, a counter of system calls made by
// this thread, the open-files limit, and a small command-line parser.
//
// Nothing here is on a measured path except now_ns() and cpu_usage(), read once
// per measured iteration.
// Thread: the benchmark's single thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace evs::bench {

// Nanoseconds of CLOCK_MONOTONIC.
std::int64_t now_ns();

// User and system CPU time of this process so far, in nanoseconds, and its peak
// resident set size in kilobytes (getrusage(RUSAGE_SELF)). Linux splits the CPU time
// into user and system by tick sampling, so the split is statistical: it needs
// regions of a few hundred milliseconds to mean anything.
struct CpuUsage {
    std::int64_t user_ns = 0;
    std::int64_t sys_ns = 0;
    long max_rss_kb = 0;
};
CpuUsage cpu_usage();

// Counts this thread's system calls while enabled, with the kernel's
// raw_syscalls:sys_enter tracepoint (perf_event_open). The counter itself adds a
// little cost to every system call (while the event exists, even disabled, every
// system call on the machine takes the kernel's traced path), so it is only
// created for separate counting runs, never while timing. available() is false
// where perf events are not permitted.
class SyscallCounter {
public:
    SyscallCounter();
    ~SyscallCounter();
    SyscallCounter(const SyscallCounter&) = delete;
    SyscallCounter& operator=(const SyscallCounter&) = delete;

    bool available() const { return fd_ >= 0; }
    const std::string& error() const { return error_; }
    void start();
    // Returns the calls made since start(), not counting the ioctl that stops it.
    std::int64_t stop();

private:
    int fd_ = -1;
    std::string error_;
};

// Raises the soft RLIMIT_NOFILE to at least `wanted` if the hard limit allows;
// returns the soft limit now in force.
long raise_open_files_limit(long wanted);

// "--name value" and "--flag" options; anything else is an error.
class Options {
public:
    Options(int argc, char** argv);
    long get_long(std::string_view name, long fallback) const;
    std::string get_string(std::string_view name, std::string_view fallback) const;
    bool has(std::string_view name) const;

private:
    std::vector<std::pair<std::string, std::string>> values_;
};

// Prints "message" to stderr and exits with status 1.
[[noreturn]] void die(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace evs::bench
