#include "os/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace evs::os {

Result<void*> map_shared(std::size_t size) {
    void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) {
        return Result<void*>::from_errno();
    }
    return addr;
}

void unmap_shared(void* addr, std::size_t size) {
    if (addr != nullptr) {
        ::munmap(addr, size);
    }
}

Result<int> signal_fd(const sigset_t& signals) {
    if (::sigprocmask(SIG_BLOCK, &signals, nullptr) < 0) {
        return Result<int>::from_errno();
    }
    const int fd = ::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        return Result<int>::from_errno();
    }
    return fd;
}

Result<void> daemonize() {
    const pid_t pid = ::fork();
    if (pid < 0) {
        return Result<void>::from_errno();
    }
    if (pid > 0) {
        std::_Exit(0);
    }
    if (::setsid() < 0) {
        return Result<void>::from_errno();
    }
    ::umask(0);
    const int null = ::open("/dev/null", O_RDWR);
    if (null < 0) {
        return Result<void>::from_errno();
    }
    // stderr stays open until the error log is known to work; the caller
    // redirects it after opening the logs, as nginx does.
    if (::dup2(null, STDIN_FILENO) < 0 || ::dup2(null, STDOUT_FILENO) < 0) {
        const int err = errno;
        ::close(null);
        return Result<void>::failure(err);
    }
    if (null > STDERR_FILENO) {
        ::close(null);
    }
    return {};
}

Result<void> set_nofile_limit(rlim_t limit) {
    rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        return Result<void>::from_errno();
    }
    return {};
}

rlim_t nofile_limit() {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

Result<void> switch_user(const std::string& user, uid_t uid, gid_t gid, const char** failed_call) {
    if (::setgid(gid) < 0) {
        *failed_call = "setgid()";
        return Result<void>::from_errno();
    }
    if (::initgroups(user.c_str(), gid) < 0) {
        *failed_call = "initgroups()";
        return Result<void>::from_errno();
    }
    if (::setuid(uid) < 0) {
        *failed_call = "setuid()";
        return Result<void>::from_errno();
    }
    return {};
}

Result<void> set_cpu_affinity(const cpu_set_t& cpus) {
    if (::sched_setaffinity(0, sizeof(cpus), &cpus) < 0) {
        return Result<void>::from_errno();
    }
    return {};
}

Result<void> write_pid_file(const std::string& path, pid_t pid) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return Result<void>::from_errno();
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf) - 1, pid);
    *end++ = '\n';
    const auto len = static_cast<std::size_t>(end - buf);
    const ssize_t n = ::write(fd, buf, len);
    const int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(len)) {
        return Result<void>::failure(n < 0 ? err : EIO);
    }
    return {};
}

Result<pid_t> read_pid_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return Result<pid_t>::from_errno();
    }
    char buf[32] = {};
    const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    if (n <= 0) {
        return Result<pid_t>::failure(EINVAL);
    }
    pid_t pid = 0;
    const auto [end, ec] = std::from_chars(buf, buf + n, pid);
    if (ec != std::errc() || pid <= 0 || (end != buf + n && *end != '\n')) {
        return Result<pid_t>::failure(EINVAL);
    }
    return pid;
}

}  // namespace evs::os
