#pragma once

// Error: one configuration error, with the place that nginx would name for it.
//
//   unknown directive "foo" in /etc/evserve/evserve.conf:12
//   "daemon" directive is duplicate in command line
//
// The process layer prints it as `evserve: [emerg] <to_string()>` and exits with status
// 1. A plain value, copied freely; safe on any thread.

#include <cstdint>
#include <string>
#include <string_view>

namespace evs::core::conf {

// The place nginx names for directives given with -g.
inline constexpr std::string_view k_command_line = "command line";

struct Error {
    std::string message;
    // Empty when there is no place: the main file itself could not be opened.
    std::string file;
    // 0 with a file name: the -g command line, which nginx reports without a line.
    std::uint32_t line = 0;

    // "message in file:line", "message in command line", or just "message".
    std::string to_string() const;
};

// An errno as nginx appends it to a message: " (2: No such file or directory)".
std::string errno_suffix(int err);

// `text` in the double quotes nginx puts around names and values in its messages.
std::string quoted(std::string_view text);

}  // namespace evs::core::conf
