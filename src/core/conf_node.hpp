#pragma once

// Node: one directive of a parsed configuration, with the file and line it came from.
//
//   location /images/ {        args = {"location", "/images/"}, block = true,
//       root /data;            children = { {"root", "/data"} }
//   }
//
// The parser builds the tree; `include` directives are already replaced by the nodes of
// the files they name, so a node's children may come from several files. A node owns
// its arguments and children; `file` points into the Parser that built it (or at the
// static k_command_line), so the Parser must outlive the tree. Read-only once built; any
// thread may read it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/conf_error.hpp"

namespace evs::core::conf {

struct Node {
    // args[0] is the directive's name; quotes are removed and escapes resolved. Empty
    // only for the root of a tree.
    std::vector<std::string> args;
    std::string_view file;
    // The line of the ";" or "{" that ended the directive, which is the line nginx names.
    std::uint32_t line = 0;
    // True when the directive was followed by "{ ... }" (then `children` holds its body).
    bool block = false;
    std::vector<Node> children;

    std::string_view name() const { return args.empty() ? std::string_view{} : args[0]; }
    // The number of arguments after the name.
    std::size_t arg_count() const { return args.empty() ? 0 : args.size() - 1; }

    // An error located at this directive.
    Error error(std::string message) const {
        return Error{std::move(message), std::string(file), line};
    }
};

}  // namespace evs::core::conf
