// Prints the directive reference (docs/DIRECTIVES.md) from the directive tables and
// the variable table themselves, so the documentation cannot drift from the code:
//   build/tools/evs_directives > docs/DIRECTIVES.md      (or: ninja -C build directives)

#include <cstdio>

#include "core/conf_markdown.hpp"
#include "http/variables.hpp"
#include "server/core_module.hpp"

int main() {
    const std::string text = evs::core::conf::render_markdown(evs::server::all_tables()) +
                             evs::http::variables_markdown();
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
}
