#pragma once

// Process-level system calls the master and workers need: shared memory, signals
// as file descriptors, daemonising, limits, privileges, CPU affinity, pid files.
// Each returns a Result carrying errno; none logs.

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstddef>
#include <string>

#include "core/status.hpp"

namespace evs::os {

using core::Result;

// Anonymous shared memory, inherited by children across fork().
Result<void*> map_shared(std::size_t size);
void unmap_shared(void* addr, std::size_t size);

// Blocks `signals` for this thread and returns a non-blocking signalfd for them.
Result<int> signal_fd(const sigset_t& signals);

// Detaches from the terminal: fork (the parent exits), setsid, stdin and stdout to
// /dev/null (stderr is left to the caller, who points it at the error log).
Result<void> daemonize();

Result<void> set_nofile_limit(rlim_t limit);
// The current soft RLIMIT_NOFILE.
rlim_t nofile_limit();

// setgid, initgroups and setuid to `uid`/`gid` (looked up while reading the
// configuration); `user` names the user for initgroups. *failed_call names what
// failed, for the log line.
Result<void> switch_user(const std::string& user, uid_t uid, gid_t gid, const char** failed_call);

Result<void> set_cpu_affinity(const cpu_set_t& cpus);

// Writes "<pid>\n" to `path` (created or truncated, mode 0644).
Result<void> write_pid_file(const std::string& path, pid_t pid);
// The pid in `path`, or an errno (EINVAL for a file that holds no number).
Result<pid_t> read_pid_file(const std::string& path);

}  // namespace evs::os
