#include "core/conf_markdown.hpp"

namespace evs::core::conf {

namespace {

void append_directive(std::string& out, const Directive& directive) {
    const bool block = (directive.args & k_block) != 0;
    const std::string syntax = syntax_of(directive);

    out += "### ";
    out += directive.name;
    out += "\n\n";
    if (!directive.summary.empty()) {
        out += directive.summary;
        out += "\n\n";
    }
    out += "- Syntax: `";
    out += directive.name;
    if (!syntax.empty()) {
        out += ' ';
        out += syntax;
    }
    out += block ? " { ... }`\n" : ";`\n";
    out += "- Default: ";
    if (directive.default_value.empty()) {
        out += "none\n";
    } else {
        out += '`';
        out += directive.name;
        out += ' ';
        out += directive.default_value;
        out += ";`\n";
    }
    out += "- Context: ";
    out += context_names(directive.contexts);
    out += "\n- Arguments: ";
    out += describe_args(directive.args);
    if ((directive.args & k_repeatable) != 0) {
        out += "; may be repeated";
    }
    out += "\n\n";
}

}  // namespace

std::string render_markdown(std::span<const Table* const> tables) {
    std::string out =
        "# Directive reference\n\n"
        "Generated from the directive tables in the source; do not edit by hand.\n"
        "Sizes take k, m or g; times take ms, s, m, h, d, w, M (30 days) and y (365 days),\n"
        "combined from the largest unit down (\"1h 30m\"); a bare time is seconds.\n\n";
    for (const Table* table : tables) {
        out += "## ";
        out += table->module;
        out += "\n\n";
        for (const Directive& directive : table->directives) {
            append_directive(out, directive);
        }
    }
    if (!out.empty() && out.ends_with("\n\n")) {
        out.pop_back();
    }
    return out;
}

}  // namespace evs::core::conf
