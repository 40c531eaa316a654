#include "core/conf_markdown.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/conf_applier.hpp"
#include "core/conf_parser.hpp"

namespace evs::core::conf {
namespace {

struct Inner {
    std::uint64_t keepalive_timeout = 0;
};

struct Outer {
    bool sendfile = false;
    std::size_t buffer = 0;
    std::string listen;
    Inner inner;
};

constexpr Directive k_inner_directives[] = {
    {"keepalive_timeout",
     k_http | k_server | k_location,
     k_take1,
     msec_slot<&Inner::keepalive_timeout>,
     "75s",
     {},
     "How long an idle connection stays open."},
};
constexpr Table k_inner_table{"inner", k_inner_directives};

constexpr Directive k_outer_directives[] = {
    {"sendfile", k_http | k_server | k_location | k_if_in_location, k_flag,
     flag_slot<&Outer::sendfile>, "off"},
    {"client_body_buffer_size", k_http | k_server | k_location, k_take1, size_slot<&Outer::buffer>,
     "16k"},
    {"inner", k_main, k_block | k_noargs, block_slot<&Outer::inner, k_inner_table, k_http>},
    {"listen",
     k_server,
     k_1more | k_repeatable,
     string_slot<&Outer::listen>,
     {},
     "address[:port] [default_server]"},
};

TEST(ConfMarkdown, ListsEveryDirectiveWithSyntaxDefaultAndContext) {
    constexpr Table outer{"outer", k_outer_directives};
    const Table* const tables[] = {&outer, &k_inner_table, &k_include_table};
    const std::string md = render_markdown(tables);

    EXPECT_EQ(md.rfind("# Directive reference\n", 0), 0u);
    EXPECT_NE(md.find("## outer\n"), std::string::npos);
    EXPECT_NE(md.find("## inner\n"), std::string::npos);
    EXPECT_NE(md.find("## include\n"), std::string::npos);
    EXPECT_LT(md.find("## outer\n"), md.find("## inner\n"));

    EXPECT_NE(md.find("### sendfile\n\n"
                      "- Syntax: `sendfile on | off;`\n"
                      "- Default: `sendfile off;`\n"
                      "- Context: http, server, location, if in location\n"
                      "- Arguments: 1\n"),
              std::string::npos);
    EXPECT_NE(md.find("### client_body_buffer_size\n\n"
                      "- Syntax: `client_body_buffer_size size;`\n"
                      "- Default: `client_body_buffer_size 16k;`\n"),
              std::string::npos);
    EXPECT_NE(md.find("### inner\n\n"
                      "- Syntax: `inner { ... }`\n"
                      "- Default: none\n"
                      "- Context: main\n"
                      "- Arguments: none\n"),
              std::string::npos);
    EXPECT_NE(md.find("### listen\n\n"
                      "- Syntax: `listen address[:port] [default_server];`\n"
                      "- Default: none\n"
                      "- Context: server\n"
                      "- Arguments: 1 or more; may be repeated\n"),
              std::string::npos);
    EXPECT_NE(md.find("### keepalive_timeout\n\n"
                      "How long an idle connection stays open.\n\n"
                      "- Syntax: `keepalive_timeout time;`\n"
                      "- Default: `keepalive_timeout 75s;`\n"),
              std::string::npos);
    EXPECT_NE(md.find("### include\n\n"), std::string::npos);
    EXPECT_NE(md.find("- Syntax: `include file | mask;`\n"), std::string::npos);
    EXPECT_NE(md.find("- Context: any\n"), std::string::npos);

    // Every directive of every table has its heading.
    for (const Table* table : tables) {
        for (const Directive& directive : table->directives) {
            EXPECT_NE(md.find("### " + std::string(directive.name) + "\n"), std::string::npos)
                << directive.name;
        }
    }
    EXPECT_TRUE(md.ends_with("\n"));
    EXPECT_FALSE(md.ends_with("\n\n"));
}

}  // namespace
}  // namespace evs::core::conf
