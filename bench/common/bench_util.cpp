#include "common/bench_util.hpp"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace evs::bench {

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {

std::int64_t to_ns(const timeval& tv) {
    return static_cast<std::int64_t>(tv.tv_sec) * 1000000000 +
           static_cast<std::int64_t>(tv.tv_usec) * 1000;
}

// The id of a tracepoint, from tracefs (mounted at either of its usual places).
long tracepoint_id(const char* event) {
    for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
        char path[256];
        std::snprintf(path, sizeof(path), "%s/events/%s/id", root, event);
        if (FILE* f = std::fopen(path, "r")) {
            long id = -1;
            if (std::fscanf(f, "%ld", &id) != 1) {
                id = -1;
            }
            std::fclose(f);
            if (id >= 0) {
                return id;
            }
        }
    }
    return -1;
}

}  // namespace

CpuUsage cpu_usage() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return {to_ns(ru.ru_utime), to_ns(ru.ru_stime), ru.ru_maxrss};
}

SyscallCounter::SyscallCounter() {
    const long id = tracepoint_id("raw_syscalls/sys_enter");
    if (id < 0) {
        error_ = "tracefs has no raw_syscalls/sys_enter";
        return;
    }
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.config = static_cast<std::uint64_t>(id);
    attr.disabled = 1;
    // This thread only, on whichever CPU it runs.
    const long fd = ::syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        error_ = std::string("perf_event_open: ") + std::strerror(errno);
        return;
    }
    fd_ = static_cast<int>(fd);
}

SyscallCounter::~SyscallCounter() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void SyscallCounter::start() {
    if (fd_ >= 0) {
        ::ioctl(fd_, PERF_EVENT_IOC_RESET, 0);
        ::ioctl(fd_, PERF_EVENT_IOC_ENABLE, 0);
    }
}

std::int64_t SyscallCounter::stop() {
    if (fd_ < 0) {
        return -1;
    }
    ::ioctl(fd_, PERF_EVENT_IOC_DISABLE, 0);
    std::uint64_t count = 0;
    if (::read(fd_, &count, sizeof(count)) != static_cast<ssize_t>(sizeof(count))) {
        return -1;
    }
    // The ENABLE ioctl entered the kernel before counting began; the DISABLE ioctl
    // entered while it was on, and is not the benchmark's.
    return static_cast<std::int64_t>(count) - 1;
}

long raise_open_files_limit(long wanted) {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur != RLIM_INFINITY && static_cast<long>(lim.rlim_cur) < wanted) {
        rlim_t target = static_cast<rlim_t>(wanted);
        if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < target) {
            // Raising the hard limit needs CAP_SYS_RESOURCE; try, then settle for it.
            rlimit raised{target, target};
            if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
                return wanted;
            }
            target = lim.rlim_max;
        }
        lim.rlim_cur = target;
        setrlimit(RLIMIT_NOFILE, &lim);
        getrlimit(RLIMIT_NOFILE, &lim);
    }
    return lim.rlim_cur == RLIM_INFINITY ? wanted : static_cast<long>(lim.rlim_cur);
}

Options::Options(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg.substr(0, 2) != "--") {
            die("unexpected argument '%s'", argv[i]);
        }
        std::string name(arg.substr(2));
        std::string value;
        if (i + 1 < argc && std::string_view(argv[i + 1]).substr(0, 2) != "--") {
            value = argv[++i];
        }
        values_.emplace_back(std::move(name), std::move(value));
    }
}

long Options::get_long(std::string_view name, long fallback) const {
    for (const auto& [key, value] : values_) {
        if (key == name) {
            char* end = nullptr;
            const long n = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0') {
                die("--%s needs a number", key.c_str());
            }
            return n;
        }
    }
    return fallback;
}

std::string Options::get_string(std::string_view name, std::string_view fallback) const {
    for (const auto& [key, value] : values_) {
        if (key == name) {
            return value;
        }
    }
    return std::string(fallback);
}

bool Options::has(std::string_view name) const {
    for (const auto& entry : values_) {
        if (entry.first == name) {
            return true;
        }
    }
    return false;
}

void die(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    std::vfprintf(stderr, fmt, args);
    va_end(args);
    std::fputc('\n', stderr);
    std::exit(1);
}

}  // namespace evs::bench
