#include "core/conf_parser.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace evs::core::conf {
namespace {

constexpr const char* k_file = "/etc/evserve/evserve.conf";

// The error's text, or "no error": gtest then prints the message of an unexpected one.
std::string message_of(const std::optional<Error>& err) {
    return err ? err->to_string() : "no error";
}

// A directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/evs_conf_test.XXXXXX";
        const char* made = ::mkdtemp(pattern);
        EXPECT_NE(made, nullptr);
        path_ = made != nullptr ? made : "/tmp";
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

    // Writes `text` to `name` (creating subdirectories) and returns the full path.
    std::string write(const std::string& name, const std::string& text) const {
        const std::string full = file(name);
        std::filesystem::create_directories(std::filesystem::path(full).parent_path());
        std::ofstream out(full, std::ios::binary);
        out << text;
        return full;
    }

private:
    std::string path_;
};

// Parses `text` as the file k_file and returns the error, if any.
std::optional<Error> parse(Parser& parser, const std::string& text) {
    return parser.parse_text(text, k_file);
}

std::string error_of(const std::string& text) {
    Parser parser(ParseOptions{});
    const std::optional<Error> err = parse(parser, text);
    return err ? err->to_string() : "no error";
}

std::vector<std::string> args(std::initializer_list<const char*> list) {
    return std::vector<std::string>(list.begin(), list.end());
}

TEST(ConfParser, DirectivesBlocksAndLines) {
    Parser parser(ParseOptions{});
    ASSERT_EQ(message_of(parse(parser,
                               "worker_processes  2;\n"
                               "events {\n"
                               "    worker_connections 1024;\n"
                               "}\n"
                               "http {\n"
                               "    server {\n"
                               "        listen 8080 default_server;\n"
                               "        location / { root /data; }\n"
                               "    }\n"
                               "}\n")),
              "no error");
    const Node& root = parser.root();
    ASSERT_EQ(root.children.size(), 3u);
    EXPECT_EQ(root.children[0].args, args({"worker_processes", "2"}));
    EXPECT_EQ(root.children[0].line, 1u);
    EXPECT_EQ(root.children[0].file, k_file);
    EXPECT_FALSE(root.children[0].block);

    const Node& events = root.children[1];
    EXPECT_EQ(events.name(), "events");
    EXPECT_TRUE(events.block);
    EXPECT_EQ(events.arg_count(), 0u);
    EXPECT_EQ(events.line, 2u);
    ASSERT_EQ(events.children.size(), 1u);
    EXPECT_EQ(events.children[0].args, args({"worker_connections", "1024"}));
    EXPECT_EQ(events.children[0].line, 3u);

    const Node& server = root.children[2].children.at(0);
    ASSERT_EQ(server.children.size(), 2u);
    EXPECT_EQ(server.children[0].args, args({"listen", "8080", "default_server"}));
    const Node& location = server.children[1];
    EXPECT_EQ(location.args, args({"location", "/"}));
    EXPECT_EQ(location.line, 8u);
    ASSERT_EQ(location.children.size(), 1u);
    EXPECT_EQ(location.children[0].args, args({"root", "/data"}));
    EXPECT_EQ(location.children[0].line, 8u);
}

TEST(ConfParser, LineIsWhereTheDirectiveEnds) {
    // nginx names the line of the ";" for a directive spread over several lines.
    Parser parser(ParseOptions{});
    ASSERT_EQ(message_of(parse(parser, "log_format main\n  '$remote_addr'\n  '$status';\n")),
              "no error");
    ASSERT_EQ(parser.root().children.size(), 1u);
    EXPECT_EQ(parser.root().children[0].line, 3u);
    EXPECT_EQ(parser.root().children[0].args,
              args({"log_format", "main", "$remote_addr", "$status"}));
}

TEST(ConfParser, Comments) {
    Parser parser(ParseOptions{});
    ASSERT_EQ(message_of(parse(parser,
                               "# a comment; with { braces }\n"
                               "a 1; # trailing \"comment\n"
                               "b x#y;\n"  // a # inside a word is text
                               "c \"#not a comment\";\n"
                               "# at the end, without a newline")),
              "no error");
    const Node& root = parser.root();
    ASSERT_EQ(root.children.size(), 3u);
    EXPECT_EQ(root.children[0].args, args({"a", "1"}));
    EXPECT_EQ(root.children[1].args, args({"b", "x#y"}));
    EXPECT_EQ(root.children[2].args, args({"c", "#not a comment"}));
    EXPECT_EQ(root.children[2].line, 4u);
}

TEST(ConfParser, QuotesAndEscapes) {
    Parser parser(ParseOptions{});
    ASSERT_EQ(message_of(parse(parser,
                               "a \"double quoted\" 'single quoted';\n"
                               "b \"say \\\"hi\\\"\" 'it\\'s' \"back\\\\slash\";\n"
                               "c \"tab\\tcr\\rlf\\n\";\n"
                               "d ~ \\.php$ \"\\d+\";\n"  // other escapes stay as written
                               "e \"\" '';\n"
                               "f \"multi\nline\";\n"
                               "g a\\ b \"x;y{z}\";\n"
                               "\"h\" 'i';\n")),
              "no error");
    const Node& root = parser.root();
    ASSERT_EQ(root.children.size(), 8u);
    EXPECT_EQ(root.children[0].args, args({"a", "double quoted", "single quoted"}));
    EXPECT_EQ(root.children[1].args, args({"b", "say \"hi\"", "it's", "back\\slash"}));
    EXPECT_EQ(root.children[2].args, args({"c", "tab\tcr\rlf\n"}));
    EXPECT_EQ(root.children[3].args, args({"d", "~", "\\.php$", "\\d+"}));
    EXPECT_EQ(root.children[4].args, args({"e", "", ""}));
    EXPECT_EQ(root.children[5].args, args({"f", "multi\nline"}));
    EXPECT_EQ(root.children[5].line, 7u);
    EXPECT_EQ(root.children[6].args, args({"g", "a\\ b", "x;y{z}"}));
    EXPECT_EQ(root.children[7].args, args({"h", "i"}));
}

TEST(ConfParser, VariablesStayText) {
    Parser parser(ParseOptions{});
    ASSERT_EQ(message_of(parse(parser,
                               "set $x ${host}suffix;\n"
                               "return 200 \"$scheme://${host}$request_uri\";\n"
                               "if ($request_method = \"POST\") { return 405; }\n")),
              "no error");
    const Node& root = parser.root();
    ASSERT_EQ(root.children.size(), 3u);
    EXPECT_EQ(root.children[0].args, args({"set", "$x", "${host}suffix"}));
    EXPECT_EQ(root.children[1].args, args({"return", "200", "$scheme://${host}$request_uri"}));
    // A ")" may follow a closing quote; it becomes a word of its own, as in nginx.
    EXPECT_EQ(root.children[2].args, args({"if", "($request_method", "=", "POST", ")"}));
    EXPECT_TRUE(root.children[2].block);
}

TEST(ConfParser, CarriageReturnsAreSpaces) {
    Parser parser(ParseOptions{});
    ASSERT_EQ(message_of(parse(parser, "a 1;\r\nb {\r\n\tc 2;\r\n}\r\n")), "no error");
    ASSERT_EQ(parser.root().children.size(), 2u);
    EXPECT_EQ(parser.root().children[1].children.at(0).args, args({"c", "2"}));
    EXPECT_EQ(parser.root().children[1].children.at(0).line, 3u);
}

TEST(ConfParser, EmptyInputs) {
    Parser parser(ParseOptions{});
    EXPECT_EQ(message_of(parse(parser, "")), "no error");
    EXPECT_EQ(message_of(parse(parser, "\n\n  \t# only a comment\n")), "no error");
    EXPECT_EQ(message_of(parse(parser, "events {}")), "no error");
    ASSERT_EQ(parser.root().children.size(), 1u);
    EXPECT_TRUE(parser.root().children[0].children.empty());
}

TEST(ConfParser, UnexpectedCharacterAfterQuote) {
    EXPECT_EQ(error_of("root \"/data\"x;\n"), "unexpected \"x\" in /etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("a 1;\nroot '/data'\"b\";\n"),
              "unexpected \"\"\" in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("http {\n  a \"b\"}\n"), "unexpected \"}\" in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("a \"b\"#c;\n"), "unexpected \"#\" in /etc/evserve/evserve.conf:1");
}

TEST(ConfParser, UnexpectedClosingBrace) {
    EXPECT_EQ(error_of("a 1;\n}\n"), "unexpected \"}\" in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("http {\n}\n}\n"), "unexpected \"}\" in /etc/evserve/evserve.conf:3");
    // A "}" where a directive still lacks its ";".
    EXPECT_EQ(error_of("http {\n  sendfile on\n}\n"),
              "unexpected \"}\" in /etc/evserve/evserve.conf:3");
}

TEST(ConfParser, UnexpectedOpeningBraceOrSemicolon) {
    EXPECT_EQ(error_of("{\n}\n"), "unexpected \"{\" in /etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("a 1;\n\n;\n"), "unexpected \";\" in /etc/evserve/evserve.conf:3");
    EXPECT_EQ(error_of("a 1;;\n"), "unexpected \";\" in /etc/evserve/evserve.conf:1");
}

TEST(ConfParser, UnexpectedEndOfFile) {
    EXPECT_EQ(error_of("worker_processes 1"),
              "unexpected end of file, expecting \";\" or \"}\" in "
              "/etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("a 1;\nb \"unterminated\n\n"),
              "unexpected end of file, expecting \";\" or \"}\" in "
              "/etc/evserve/evserve.conf:4");
    EXPECT_EQ(error_of("a 1;\nb"),
              "unexpected end of file, expecting \";\" or \"}\" in "
              "/etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("a \\"),
              "unexpected end of file, expecting \";\" or \"}\" in "
              "/etc/evserve/evserve.conf:1");
}

TEST(ConfParser, UnexpectedEndOfFileInBlock) {
    EXPECT_EQ(error_of("http {\n  server {\n  }\n"),
              "unexpected end of file, expecting \"}\" in /etc/evserve/evserve.conf:4");
    EXPECT_EQ(error_of("events {"),
              "unexpected end of file, expecting \"}\" in /etc/evserve/evserve.conf:1");
}

TEST(ConfParser, BlocksNestedTooDeeply) {
    std::string deep;
    for (int i = 0; i <= Parser::k_max_block_depth; ++i) {
        deep += "a {\n";
    }
    EXPECT_EQ(error_of(deep),
              "blocks are nested too deeply (more than 100 levels) in "
              "/etc/evserve/evserve.conf:101");

    std::string fits;
    for (int i = 0; i < Parser::k_max_block_depth; ++i) {
        fits += "a {";
    }
    fits += std::string(Parser::k_max_block_depth, '}');
    EXPECT_EQ(error_of(fits), "no error");
}

TEST(ConfParser, CommandLineDirectives) {
    Parser parser(ParseOptions{});
    ASSERT_EQ(message_of(parser.parse_param("daemon off; worker_processes 2;")), "no error");
    ASSERT_EQ(message_of(parse(parser, "pid /run/evserve.pid;\n")), "no error");
    const Node& root = parser.root();
    ASSERT_EQ(root.children.size(), 3u);
    EXPECT_EQ(root.children[0].args, args({"daemon", "off"}));
    EXPECT_EQ(root.children[0].file, "command line");
    EXPECT_EQ(root.children[0].line, 0u);
    EXPECT_EQ(root.children[0].error("x").to_string(), "x in command line");
    EXPECT_EQ(root.children[1].args, args({"worker_processes", "2"}));
    EXPECT_EQ(root.children[2].file, k_file);
    // The -g text is not a file: -T does not show it.
    ASSERT_EQ(parser.files().size(), 1u);
    EXPECT_EQ(parser.files()[0].path, k_file);
}

TEST(ConfParser, CommandLineErrors) {
    auto param_error = [](std::string_view text) {
        Parser parser(ParseOptions{});
        const std::optional<Error> err = parser.parse_param(text);
        return err ? err->to_string() : "no error";
    };
    EXPECT_EQ(param_error("daemon off"),
              "unexpected end of parameter, expecting \";\" in command line");
    EXPECT_EQ(param_error("events { }"),
              "block directives are not supported in -g option in command line");
    EXPECT_EQ(param_error("daemon off;\n}"), "unexpected \"}\" in command line");
    EXPECT_EQ(param_error("a \"b\"c;"), "unexpected \"c\" in command line");
    EXPECT_EQ(param_error(""), "no error");
}

TEST(ConfParser, DirectoryOf) {
    EXPECT_EQ(directory_of("/etc/evserve/evserve.conf"), "/etc/evserve");
    EXPECT_EQ(directory_of("conf/evserve.conf"), "conf");
    EXPECT_EQ(directory_of("evserve.conf"), "");
    EXPECT_EQ(directory_of("/evserve.conf"), "/");
}

TEST(ConfParser, IncludeRelativeGlobAndAbsolute) {
    TempDir dir;
    const std::string other = dir.write("elsewhere/extra.conf", "extra 1;\n");
    dir.write("mime.types", "types {\n    text/html html;\n}\n");
    dir.write("conf.d/b.conf", "b 2;\n");
    dir.write("conf.d/a.conf", "a 1;\n");
    dir.write("conf.d/c.txt", "ignored;\n");
    const std::string main = dir.write("evserve.conf",
                                       "first;\n"
                                       "http {\n"
                                       "    include mime.types;\n"
                                       "    include conf.d/*.conf;\n"
                                       "    include " +
                                           other +
                                           ";\n"
                                           "    last;\n"
                                           "}\n");

    Parser parser(ParseOptions{directory_of(main)});
    ASSERT_EQ(message_of(parser.parse_file(main)), "no error");

    const Node& http = parser.root().children.at(1);
    ASSERT_EQ(http.children.size(), 5u);
    EXPECT_EQ(http.children[0].name(), "types");
    EXPECT_EQ(http.children[0].file, dir.file("mime.types"));
    EXPECT_EQ(http.children[0].children.at(0).args, args({"text/html", "html"}));
    EXPECT_EQ(http.children[0].children.at(0).line, 2u);
    // The glob's files come in sorted order.
    EXPECT_EQ(http.children[1].args, args({"a", "1"}));
    EXPECT_EQ(http.children[1].file, dir.file("conf.d/a.conf"));
    EXPECT_EQ(http.children[2].args, args({"b", "2"}));
    EXPECT_EQ(http.children[3].args, args({"extra", "1"}));
    EXPECT_EQ(http.children[3].file, other);
    EXPECT_EQ(http.children[4].name(), "last");
    EXPECT_EQ(http.children[4].file, main);
    EXPECT_EQ(http.children[4].line, 6u);

    // Every file read, with its text, in the order first read (for -T).
    const auto& files = parser.files();
    ASSERT_EQ(files.size(), 5u);
    EXPECT_EQ(files[0].path, main);
    EXPECT_EQ(files[1].path, dir.file("mime.types"));
    EXPECT_EQ(files[1].text, "types {\n    text/html html;\n}\n");
    EXPECT_EQ(files[2].path, dir.file("conf.d/a.conf"));
    EXPECT_EQ(files[3].path, dir.file("conf.d/b.conf"));
    EXPECT_EQ(files[4].path, other);
}

TEST(ConfParser, IncludedTwiceIsParsedTwiceButListedOnce) {
    TempDir dir;
    dir.write("common.conf", "common on;\n");
    const std::string main = dir.write("evserve.conf",
                                       "server { include common.conf; }\n"
                                       "server { include common.conf; }\n");
    Parser parser(ParseOptions{dir.path()});
    ASSERT_EQ(message_of(parser.parse_file(main)), "no error");
    ASSERT_EQ(parser.root().children.size(), 2u);
    EXPECT_EQ(parser.root().children[0].children.at(0).args, args({"common", "on"}));
    EXPECT_EQ(parser.root().children[1].children.at(0).args, args({"common", "on"}));
    EXPECT_EQ(parser.files().size(), 2u);
}

TEST(ConfParser, IncludeGlobMatchingNothingIsNotAnError) {
    TempDir dir;
    const std::string main = dir.write("evserve.conf", "include sites-enabled/*;\na 1;\n");
    Parser parser(ParseOptions{dir.path()});
    ASSERT_EQ(message_of(parser.parse_file(main)), "no error");
    ASSERT_EQ(parser.root().children.size(), 1u);
    EXPECT_EQ(parser.root().children[0].name(), "a");
}

TEST(ConfParser, IncludeOfAMissingFile) {
    TempDir dir;
    const std::string main = dir.write("evserve.conf", "a 1;\ninclude missing.conf;\n");
    Parser parser(ParseOptions{dir.path()});
    const std::optional<Error> err = parser.parse_file(main);
    ASSERT_NE(err, std::nullopt);
    EXPECT_EQ(err->to_string(), "open() \"" + dir.file("missing.conf") +
                                    "\" failed (2: No such file or directory) in " + main + ":2");
}

TEST(ConfParser, MissingMainFileNamesNoPlace) {
    TempDir dir;
    Parser parser(ParseOptions{dir.path()});
    const std::optional<Error> err = parser.parse_file(dir.file("nope.conf"));
    ASSERT_NE(err, std::nullopt);
    EXPECT_EQ(err->to_string(),
              "open() \"" + dir.file("nope.conf") + "\" failed (2: No such file or directory)");
}

TEST(ConfParser, IncludeArgumentsAreChecked) {
    EXPECT_EQ(error_of("include;\n"),
              "invalid number of arguments in \"include\" directive in "
              "/etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("\ninclude a b;\n"),
              "invalid number of arguments in \"include\" directive in "
              "/etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("include a {}\n"),
              "directive \"include\" is not terminated by \";\" in /etc/evserve/evserve.conf:1");
}

TEST(ConfParser, ErrorsInIncludedFilesNameThatFile) {
    TempDir dir;
    const std::string bad = dir.write("bad.conf", "a 1;\nb \"x\"y;\n");
    const std::string main = dir.write("evserve.conf", "http {\n    include bad.conf;\n}\n");
    Parser parser(ParseOptions{dir.path()});
    const std::optional<Error> err = parser.parse_file(main);
    ASSERT_NE(err, std::nullopt);
    EXPECT_EQ(err->to_string(), "unexpected \"y\" in " + bad + ":2");
}

TEST(ConfParser, AnIncludedFileCannotCloseTheBlockAroundIt) {
    TempDir dir;
    const std::string closing = dir.write("closing.conf", "a 1;\n}\n");
    const std::string main = dir.write("evserve.conf", "http {\n    include closing.conf;\n");
    Parser parser(ParseOptions{dir.path()});
    const std::optional<Error> err = parser.parse_file(main);
    ASSERT_NE(err, std::nullopt);
    EXPECT_EQ(err->to_string(), "unexpected \"}\" in " + closing + ":2");
}

TEST(ConfParser, RecursiveIncludeStops) {
    TempDir dir;
    const std::string self = dir.write("self.conf", "a 1;\ninclude self.conf;\n");
    Parser parser(ParseOptions{dir.path()});
    const std::optional<Error> err = parser.parse_file(self);
    ASSERT_NE(err, std::nullopt);
    EXPECT_EQ(err->to_string(), "includes are nested too deeply (more than 32 levels) at \"" +
                                    self + "\" in " + self + ":2");
}

TEST(ConfParser, IncludeOfADirectoryFails) {
    TempDir dir;
    std::filesystem::create_directories(dir.file("sub"));
    const std::string main = dir.write("evserve.conf", "include sub;\n");
    Parser parser(ParseOptions{dir.path()});
    const std::optional<Error> err = parser.parse_file(main);
    ASSERT_NE(err, std::nullopt);
    EXPECT_EQ(err->to_string(),
              "read() \"" + dir.file("sub") + "\" failed (21: Is a directory) in " + main + ":1");
}

TEST(ConfParser, IncludesCanBeLeftAlone) {
    Parser parser(ParseOptions{"/nonexistent", false});
    ASSERT_EQ(message_of(parse(parser, "include /etc/passwd;\ninclude *;\n")), "no error");
    ASSERT_EQ(parser.root().children.size(), 2u);
    EXPECT_EQ(parser.root().children[0].args, args({"include", "/etc/passwd"}));
    EXPECT_EQ(parser.files().size(), 1u);
}

TEST(ConfParser, IncludeTableDocumentsInclude) {
    ASSERT_EQ(k_include_table.directives.size(), 1u);
    const Directive& include = k_include_table.directives[0];
    EXPECT_EQ(include.name, "include");
    EXPECT_EQ(include.contexts, k_any_context);
    EXPECT_TRUE(args_match(include.args, 1));
    EXPECT_FALSE(args_match(include.args, 2));
}

}  // namespace
}  // namespace evs::core::conf
