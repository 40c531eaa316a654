#include "server/command_line.hpp"

namespace evs::server {

bool parse_command_line(int argc, char** argv, Options* o, std::string* error) {
    for (int i = 1; i < argc; ++i) {
        const char* p = argv[i];
        if (*p++ != '-') {
            *error = std::string("invalid option: \"") + argv[i] + "\"";
            return false;
        }
        while (*p != '\0') {
            const char flag = *p++;
            std::string* value = nullptr;
            switch (flag) {
                case '?':
                case 'h':
                    o->help = o->version = true;
                    continue;
                case 'v':
                    o->version = true;
                    continue;
                case 'V':
                    o->version = o->configure = true;
                    continue;
                case 't':
                    o->test = true;
                    continue;
                case 'T':
                    o->test = o->dump = true;
                    continue;
                case 'q':
                    o->quiet = true;
                    continue;
                case 's':
                    value = &o->signal;
                    break;
                case 'p':
                    value = &o->prefix;
                    break;
                case 'c':
                    value = &o->conf_file;
                    break;
                case 'e':
                    value = &o->error_log;
                    break;
                case 'g':
                    value = &o->directives;
                    break;
                default:
                    *error = std::string("invalid option: \"") + (p - 1) + "\"";
                    return false;
            }
            // The value is the rest of this word, or the next word.
            if (*p != '\0') {
                *value = p;
            } else if (i + 1 < argc) {
                *value = argv[++i];
            } else {
                *error = std::string("option \"-") + flag + "\" requires " +
                         (flag == 's'   ? "signal name"
                          : flag == 'p' ? "directory name"
                          : flag == 'g' ? "parameter"
                                        : "file name");
                return false;
            }
            if (flag == 's' && *value != "stop" && *value != "quit" && *value != "reopen" &&
                *value != "reload") {
                *error = "invalid option: \"-s " + *value + "\"";
                return false;
            }
            break;
        }
    }
    return true;
}

std::string usage_text() {
    return "Usage: evserve [-?hvVtTq] [-s signal] [-p prefix]\n"
           "               [-e filename] [-c filename] [-g directives]\n"
           "\n"
           "Options:\n"
           "  -?,-h         : this help\n"
           "  -v            : show version and exit\n"
           "  -V            : show version and configure options then exit\n"
           "  -t            : test configuration and exit\n"
           "  -T            : test configuration, dump it and exit\n"
           "  -q            : suppress non-error messages during configuration testing\n"
           "  -s signal     : send signal to a master process: stop, quit, reopen, reload\n"
           "  -p prefix     : set prefix path (default: the current directory)\n"
           "  -e filename   : set error log file (default: logs/error.log)\n"
           "  -c filename   : set configuration file (default: conf/evserve.conf)\n"
           "  -g directives : set global directives out of configuration file\n";
}

}  // namespace evs::server
