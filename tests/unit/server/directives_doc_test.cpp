// docs/DIRECTIVES.md must be what the directive tables say: regenerate it with
// `ninja -C build directives` after changing a table.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/conf_markdown.hpp"
#include "http/variables.hpp"
#include "server/core_module.hpp"

namespace evs::server {
namespace {

TEST(DirectivesDoc, MatchesTheTables) {
    std::ifstream file(EVS_SOURCE_DIR "/docs/DIRECTIVES.md");
    ASSERT_TRUE(file.good()) << "docs/DIRECTIVES.md is missing";
    std::stringstream text;
    text << file.rdbuf();
    const std::string expected =
        core::conf::render_markdown(all_tables()) + http::variables_markdown();
    EXPECT_EQ(text.str(), expected)
        << "docs/DIRECTIVES.md is stale: run `ninja -C build directives`";
    // Every table contributes.
    for (const char* name : {"worker_connections", "listen", "keepalive_timeout", "include",
                             "`$request_filename`", "`$http_NAME`"}) {
        EXPECT_NE(expected.find(name), std::string::npos) << name;
    }
}

}  // namespace
}  // namespace evs::server
