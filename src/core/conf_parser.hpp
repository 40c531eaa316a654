#pragma once

// Parser: reads nginx's configuration syntax into a tree of Nodes.
//
//   conf::Parser parser(conf::ParseOptions{conf::directory_of(path)});
//   if (auto err = parser.parse_param(dash_g_text)) { ... }   // -g comes first, as in nginx
//   if (auto err = parser.parse_file(path)) { ... }           // evserve: [emerg] err->to_string()
//   conf::apply(parser.root(), bindings, conf::k_main);       // see conf_apply.hpp
//
// The syntax: words separated by spaces, tabs and newlines; "double" and 'single'
// quoted words with the escapes \" \' \\ \t \r \n (any other backslash stays as it is);
// `#` starts a comment when it starts a word; a directive ends with ";" or opens a block
// with "{" that "}" closes. Variables ($name, ${name}) stay as text. `include` is
// resolved here, while parsing: its argument is a path or a glob(3) pattern, relative
// to `conf_dir`; the files are parsed in sorted order and their directives take the
// place of the include. A glob that matches nothing is not an error, a missing file is.
//
// The parser keeps every file it read, with its text, for -T. It owns the tree and the
// file names the nodes point at. Start-up only, one thread.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/conf_directive.hpp"
#include "core/conf_error.hpp"
#include "core/conf_node.hpp"

namespace evs::core::conf {

struct SourceFile {
    std::string path;  // as opened: conf_dir joined with a relative include
    std::string text;
};

struct ParseOptions {
    // Relative include paths resolve against this directory (nginx: the prefix's conf
    // directory; here the directory of the main configuration file). Empty: the
    // current directory.
    std::string conf_dir;
    // false keeps `include` as an ordinary directive instead of reading files (for the
    // fuzzer, which must not read whatever a random input names).
    bool follow_includes = true;
};

class Parser {
public:
    // An include that includes itself would recurse forever; nginx has no limit and
    // runs out of descriptors, we stop here.
    static constexpr int k_max_include_depth = 32;
    // Bounds the recursion of the parser and of the tree's destructor.
    static constexpr int k_max_block_depth = 100;

    explicit Parser(ParseOptions options);
    Parser(const Parser&) = delete;
    Parser& operator=(const Parser&) = delete;

    // Parses -g text as main-context directives named "command line". Blocks are not
    // allowed there. Call it before parse_file, so that a directive repeated in the
    // file is the one reported as duplicate, as nginx does.
    std::optional<Error> parse_param(std::string_view text);
    // Reads and parses a file; its directives are appended to the root.
    std::optional<Error> parse_file(const std::string& path);
    // Parses `text` as if it were the content of the file `path` (tests, the fuzzer).
    // files() records the text under `path` unless that path is already there.
    std::optional<Error> parse_text(std::string_view text, const std::string& path);

    // The main context: its children are the top-level directives.
    const Node& root() const { return root_; }
    // Every file read, once each, in the order first read (for -T).
    const std::deque<SourceFile>& files() const { return files_; }

private:
    class Reader;
    enum class Mode { file, block, param };

    std::optional<Error> parse_block(Reader& reader, Node& parent, Mode mode, int block_depth,
                                     int include_depth);
    std::optional<Error> include(const Reader& reader, const std::string& argument, Node& parent,
                                 int block_depth, int include_depth);
    std::optional<Error> include_file(const Reader& reader, const std::string& path, Node& parent,
                                      int block_depth, int include_depth);
    // Reads `path` once; later calls return the text already read. On failure, returns
    // nginx's message ("open() \"x\" failed (2: ...)") without a place.
    const SourceFile* load(const std::string& path, std::string* error);
    const SourceFile& add_file(std::string path, std::string text);

    ParseOptions options_;
    Node root_;
    // A deque, so that the file names nodes point at never move.
    std::deque<SourceFile> files_;
    std::map<std::string, std::size_t, std::less<>> file_index_;
};

// The `include` directive, for the reference: the parser resolves it, so its setter
// is never reached unless ParseOptions::follow_includes is false (then it does nothing).
extern const Table k_include_table;

// The directory part of a path: "conf/evserve.conf" -> "conf", "evserve.conf" -> "".
std::string directory_of(std::string_view path);

}  // namespace evs::core::conf
