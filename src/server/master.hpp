#pragma once

// The master process (nginx's ngx_master_process_cycle). It reads the
// configuration, holds the listening sockets and the shared zone, forks the
// workers, and then sleeps in sigsuspend() until a signal says what to do:
//
//   HUP    reload: build a new Cycle from the configuration; if that fails, log it
//          and keep the old one; otherwise start new workers, then ask the old
//          ones to quit gracefully. Listening sockets whose address is unchanged
//          are carried over, so no connection is refused during a reload.
//   QUIT   graceful stop: workers finish their requests, then the master exits.
//   TERM, INT  fast stop: workers exit at once; after a second, SIGKILL.
//   USR1   reopen the log files (the workers too).
//   USR2   binary upgrade: rename the pid file to .oldbin and start the new binary
//          with the listening sockets in the EVSERVE environment variable.
//   WINCH  stop the workers gracefully but keep the master (after USR2).
//   CHLD   reap workers; respawn those that died unexpectedly, except a worker
//          that exited with status 2 (a fatal error that would only repeat).
//
// Signal handlers only set flags; sigsuspend() with every other signal blocked
// makes the check-then-sleep race-free. Thread: the master's only thread.

#include <functional>
#include <memory>

#include "server/cycle.hpp"
#include "server/shared_zone.hpp"

namespace evs::server {

// Builds a new cycle from the configuration for a reload, inheriting listening
// sockets from `old`; nullptr (errors logged to `log`) when the configuration is bad.
using CycleLoader = std::function<std::unique_ptr<Cycle>(Cycle& old, core::Log& log)>;

struct ProcessArgs {
    int argc = 0;
    char** argv = nullptr;
};

// Runs the master until it is told to stop; returns the exit status.
int run_master(std::unique_ptr<Cycle> cycle, SharedZone& zone, const CycleLoader& loader,
               const ProcessArgs& args);

// master_process off: one process runs the event loop itself.
int run_single(std::unique_ptr<Cycle> cycle, SharedZone& zone);

// The environment variable that hands listening sockets to a new binary.
inline constexpr const char* k_inherited_env = "EVSERVE";

}  // namespace evs::server
