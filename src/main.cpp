// evserve: the command line. The configuration parser and the master/worker
// processes arrive with the next milestone; until then the binary reports its
// version and the event core it was built with.

#include <cstdio>
#include <cstring>

#include "version.hpp"

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "-v") == 0 || std::strcmp(argv[i], "-V") == 0) {
            std::fprintf(stderr, "evserve version: evserve/%.*s\n",
                         static_cast<int>(evs::version().size()), evs::version().data());
            if (argv[i][1] == 'V') {
                std::fprintf(stderr, "%.*s\n", static_cast<int>(evs::build_summary().size()),
                             evs::build_summary().data());
            }
            return 0;
        }
    }
    std::fprintf(stderr, "usage: evserve -v | -V\n");
    return 1;
}
