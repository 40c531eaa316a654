#pragma once

// Builds a Cycle from the configuration: parse the file (and -g directives),
// apply the directive tables, resolve paths against the prefix. Listening sockets
// are opened separately (open_listening_sockets), so that -t and -s never bind.

#include <memory>
#include <string>

#include "server/command_line.hpp"
#include "server/cycle.hpp"

namespace evs::server {

// The cycle, or nullptr with nginx's message ("unknown directive \"x\" in f:3") in
// *error.
std::unique_ptr<Cycle> load_cycle(const Options& options, std::string* error);

// Opens the cycle's listening sockets. Sockets of `old` (a reload) or inherited
// from an old binary (the EVSERVE variable) whose address is unchanged are reused,
// with the new configuration's options set on them (a failure there is an [alert] in
// `log` and the socket is kept, as nginx). False with the message in *error
// ("bind() to 0.0.0.0:80 failed (98: ...)").
bool open_listening_sockets(Cycle& cycle, Cycle* old, core::Log& log, std::string* error);

// Opens the access log files of the cycle's locations (once per path); false
// (printed to stderr) on failure.
bool open_access_logs(Cycle& cycle);

// USR1: opens every access log file again by path and puts the new file on the old
// descriptor (so the configuration's descriptors stay valid). `owner`, when not
// -1, becomes the files' owner (the master does this for unprivileged workers).
void reopen_access_logs(Cycle& cycle, core::Log& log, uid_t owner);

}  // namespace evs::server
