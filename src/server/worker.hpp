#pragma once

// The worker process cycle (nginx's ngx_worker_process_cycle): set up the process
// (limits, CPU affinity, privileges), create the event loop, register the listening
// sockets this worker serves, and turn the loop until told to stop.
//
// Stop requests arrive as signals through a signalfd registered with the loop, or
// as commands from the master over the channel, so no work happens in a signal
// handler and no signal is lost between two waits:
//
//   QUIT  graceful: stop accepting, close idle connections, finish requests in
//         flight, exit when only cancelable timers remain or when
//         worker_shutdown_timeout fires (then the rest are closed);
//   TERM  fast: exit now;
//   USR1  reopen log files.
//
// A channel that closes (the master is gone) is treated as QUIT, so an orphaned
// worker never holds the ports forever. Thread: the worker's only thread.

#include "server/cycle.hpp"
#include "server/shared_zone.hpp"

namespace evs::server {

struct WorkerIdentity {
    int slot = 0;         // index into the shared zone's per-worker stats
    int number = 0;       // 0..worker_processes-1 within its cycle (reuseport, affinity)
    int channel = -1;     // commands from the master; -1 without a master
    bool single = false;  // master_process off: this is the only process
};

// Channel commands, one byte each.
inline constexpr char k_cmd_quit = 'Q';
inline constexpr char k_cmd_terminate = 'T';
inline constexpr char k_cmd_reopen = 'R';

// Runs the worker; returns the process exit status (2: fatal, do not respawn).
int run_worker(Cycle& cycle, SharedZoneLayout* zone, const WorkerIdentity& identity);

// Once detached, stderr leads to a terminal nobody watches (or a pipe nobody reads):
// as nginx's ngx_log_redirect_stderr(), point it at the first error log file, so that
// whatever a library or a sanitizer writes there is kept. An "error_log stderr"
// means stderr is wanted as it is. Remembered, so that reopening the logs (USR1)
// moves stderr to the new file too.
void redirect_stderr(core::Log& log);

// Reopens every file error log of `log` by path (USR1), and stderr with them when it
// was redirected. Returns false on failure.
bool reopen_error_logs(const Cycle& cycle, core::Log& log, uid_t owner);

// Opens the cycle's error logs into cycle.log; false (printed to stderr) on failure.
bool open_error_logs(Cycle& cycle);

}  // namespace evs::server
