#pragma once

// The command line, as nginx's: -? -h -v -V -t -T -q -s signal -p prefix
// -e file -c file -g directives. Flags may be grouped ("-tq") and an option's value
// may follow directly ("-cfile") or as the next word, as nginx accepts them.

#include <string>

namespace evs::server {

struct Options {
    bool help = false;
    bool version = false;
    bool configure = false;  // -V
    bool test = false;       // -t
    bool dump = false;       // -T
    bool quiet = false;      // -q
    std::string signal;      // -s: stop, quit, reopen, reload
    std::string prefix;      // -p, with a trailing slash once resolved
    std::string conf_file;   // -c
    std::string error_log;   // -e: a path or "stderr"
    std::string directives;  // -g
};

// The default prefix: the directory above the binary's bin/ when the binary runs
// from a build tree, else the current directory (so `make run` finds conf/).
inline constexpr const char* k_default_conf = "conf/evserve.conf";

// Parses argv; on a bad option returns false with nginx's message in *error.
bool parse_command_line(int argc, char** argv, Options* options, std::string* error);

// The text printed by -h.
std::string usage_text();

}  // namespace evs::server
