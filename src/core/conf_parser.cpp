#include "core/conf_parser.hpp"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

namespace evs::core::conf {

namespace {

bool is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

// Resolves nginx's escapes in a word: \" \' \\ become the character, \t \r \n the
// control character; a backslash before anything else is kept, so regular expressions
// such as "\.php$" survive.
std::string unescape(std::string_view raw) {
    std::string word;
    word.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size()) {
            switch (raw[i + 1]) {
                case '"':
                case '\'':
                case '\\':
                    word += raw[++i];
                    continue;
                case 't':
                    word += '\t';
                    ++i;
                    continue;
                case 'r':
                    word += '\r';
                    ++i;
                    continue;
                case 'n':
                    word += '\n';
                    ++i;
                    continue;
                default:
                    break;
            }
        }
        word += raw[i];
    }
    return word;
}

std::optional<Error> ignore_include(Applier&, const Node&, const Directive&, void*) {
    return std::nullopt;
}

constexpr Directive k_include_directives[] = {
    {"include",
     k_any_context,
     k_take1 | k_repeatable,
     Setter{&ignore_include, nullptr, {}},
     {},
     "file | mask",
     "Includes files, or the files a glob(3) mask matches (in sorted order); relative paths "
     "start from the directory of the main configuration file."},
};

}  // namespace

const Table k_include_table{"include", k_include_directives};

// Reader: splits one text into directives, the way nginx's tokenizer does, character
// by character with the same states (so its corner cases match: a `{` right after `$`
// belongs to the word, a `)` may follow a closing quote, `#` inside a word is text).
class Parser::Reader {
public:
    enum class Token { statement, block_start, block_end, end };

    Reader(std::string_view text, std::string_view file, bool param)
        : text_(text), file_(file), param_(param), line_(param ? 0 : 1) {}

    // Reads the words of the next directive into `args` and what ended it into `token`.
    std::optional<Error> next(std::vector<std::string>& args, Token& token);

    std::string_view file() const { return file_; }
    std::uint32_t line() const { return line_; }
    Error error(std::string message) const {
        return Error{std::move(message), std::string(file_), line_};
    }

private:
    Error unexpected(char ch) const { return error(std::string("unexpected \"") + ch + '"'); }

    std::string_view text_;
    std::string_view file_;
    bool param_;
    std::size_t pos_ = 0;
    // The -g text has no lines (its errors say "in command line"), so it stays 0 there.
    std::uint32_t line_;
};

std::optional<Error> Parser::Reader::next(std::vector<std::string>& args, Token& token) {
    args.clear();
    bool last_space = true;   // between words: the next character may start one
    bool need_space = false;  // just after a closing quote
    bool comment = false;
    bool escaped = false;   // the previous character was a backslash
    bool variable = false;  // the previous character was `$`
    bool double_quoted = false;
    bool single_quoted = false;
    std::size_t start = 0;

    for (;;) {
        if (pos_ >= text_.size()) {
            if (!args.empty() || !last_space) {
                return error(param_ ? "unexpected end of parameter, expecting \";\""
                                    : "unexpected end of file, expecting \";\" or \"}\"");
            }
            token = Token::end;
            return std::nullopt;
        }
        const char ch = text_[pos_++];
        if (ch == '\n') {
            if (!param_) {
                ++line_;
            }
            comment = false;
        }
        if (comment) {
            continue;
        }
        if (escaped) {
            escaped = false;
            continue;
        }
        if (need_space) {
            if (is_space(ch)) {
                last_space = true;
                need_space = false;
                continue;
            }
            if (ch == ';') {
                token = Token::statement;
                return std::nullopt;
            }
            if (ch == '{') {
                token = Token::block_start;
                return std::nullopt;
            }
            if (ch != ')') {
                return unexpected(ch);
            }
            // `if ($a = "b")`: the parenthesis closes the condition and starts a word.
            last_space = true;
            need_space = false;
        }
        if (last_space) {
            if (is_space(ch)) {
                continue;
            }
            start = pos_ - 1;
            switch (ch) {
                case ';':
                case '{':
                    if (args.empty()) {
                        return unexpected(ch);
                    }
                    token = ch == '{' ? Token::block_start : Token::statement;
                    return std::nullopt;
                case '}':
                    if (!args.empty()) {
                        return unexpected(ch);
                    }
                    token = Token::block_end;
                    return std::nullopt;
                case '#':
                    comment = true;
                    continue;
                case '\\':
                    escaped = true;
                    break;
                case '"':
                    ++start;
                    double_quoted = true;
                    break;
                case '\'':
                    ++start;
                    single_quoted = true;
                    break;
                case '$':
                    variable = true;
                    break;
                default:
                    break;
            }
            last_space = false;
            continue;
        }

        if (ch == '{' && variable) {
            continue;  // "${name}"
        }
        variable = false;
        if (ch == '\\') {
            escaped = true;
            continue;
        }
        if (ch == '$') {
            variable = true;
            continue;
        }
        bool found = false;
        if (double_quoted) {
            if (ch == '"') {
                double_quoted = false;
                need_space = true;
                found = true;
            }
        } else if (single_quoted) {
            if (ch == '\'') {
                single_quoted = false;
                need_space = true;
                found = true;
            }
        } else if (is_space(ch) || ch == ';' || ch == '{') {
            last_space = true;
            found = true;
        }
        if (!found) {
            continue;
        }
        args.push_back(unescape(text_.substr(start, pos_ - 1 - start)));
        if (ch == ';') {
            token = Token::statement;
            return std::nullopt;
        }
        if (ch == '{') {
            token = Token::block_start;
            return std::nullopt;
        }
    }
}

Parser::Parser(ParseOptions options) : options_(std::move(options)) {}

std::optional<Error> Parser::parse_param(std::string_view text) {
    Reader reader(text, k_command_line, true);
    return parse_block(reader, root_, Mode::param, 0, 0);
}

std::optional<Error> Parser::parse_file(const std::string& path) {
    std::string message;
    const SourceFile* file = load(path, &message);
    if (file == nullptr) {
        // Nothing is being read yet, so nginx names no place for this one.
        return Error{std::move(message), {}, 0};
    }
    Reader reader(file->text, file->path, false);
    return parse_block(reader, root_, Mode::file, 0, 0);
}

std::optional<Error> Parser::parse_text(std::string_view text, const std::string& path) {
    // The nodes point at the recorded path; the text is read from the caller's buffer,
    // since a path recorded before keeps its first text.
    const SourceFile& file = add_file(path, std::string(text));
    Reader reader(text, file.path, false);
    return parse_block(reader, root_, Mode::file, 0, 0);
}

std::optional<Error> Parser::parse_block(Reader& reader, Node& parent, Mode mode, int block_depth,
                                         int include_depth) {
    std::vector<std::string> args;
    Reader::Token token = Reader::Token::end;
    for (;;) {
        if (std::optional<Error> err = reader.next(args, token)) {
            return err;
        }
        switch (token) {
            case Reader::Token::block_end:
                if (mode != Mode::block) {
                    return reader.error("unexpected \"}\"");
                }
                return std::nullopt;
            case Reader::Token::end:
                if (mode == Mode::block) {
                    return reader.error("unexpected end of file, expecting \"}\"");
                }
                return std::nullopt;
            case Reader::Token::block_start:
                if (mode == Mode::param) {
                    return reader.error("block directives are not supported in -g option");
                }
                break;
            case Reader::Token::statement:
                break;
        }

        const bool block = token == Reader::Token::block_start;
        if (options_.follow_includes && args[0] == "include") {
            // The same checks the directive tables would make, since `include` never
            // reaches them.
            if (block) {
                return reader.error("directive \"include\" is not terminated by \";\"");
            }
            if (args.size() != 2) {
                return reader.error("invalid number of arguments in \"include\" directive");
            }
            if (std::optional<Error> err =
                    include(reader, args[1], parent, block_depth, include_depth)) {
                return err;
            }
            continue;
        }

        Node node;
        node.args = std::move(args);
        args = {};
        node.file = reader.file();
        node.line = reader.line();
        node.block = block;
        if (block) {
            if (block_depth >= k_max_block_depth) {
                return reader.error("blocks are nested too deeply (more than " +
                                    std::to_string(k_max_block_depth) + " levels)");
            }
            if (std::optional<Error> err =
                    parse_block(reader, node, Mode::block, block_depth + 1, include_depth)) {
                return err;
            }
        }
        parent.children.push_back(std::move(node));
    }
}

std::optional<Error> Parser::include(const Reader& reader, const std::string& argument,
                                     Node& parent, int block_depth, int include_depth) {
    std::string pattern = argument;
    if (!pattern.empty() && pattern[0] != '/' && !options_.conf_dir.empty()) {
        pattern = options_.conf_dir;
        if (pattern.back() != '/') {
            pattern += '/';
        }
        pattern += argument;
    }

    if (pattern.find_first_of("*?[") == std::string::npos) {
        return include_file(reader, pattern, parent, block_depth, include_depth);
    }

    glob_t matches{};
    // No flags: glob sorts the names, so files are included in a stable order.
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &matches);
    if (rc == GLOB_NOMATCH) {
        ::globfree(&matches);
        return std::nullopt;
    }
    if (rc != 0) {
        const int err = errno;
        ::globfree(&matches);
        return reader.error("glob() " + quoted(pattern) + " failed" + errno_suffix(err));
    }
    std::vector<std::string> paths(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
    ::globfree(&matches);

    for (const std::string& path : paths) {
        if (std::optional<Error> err =
                include_file(reader, path, parent, block_depth, include_depth)) {
            return err;
        }
    }
    return std::nullopt;
}

std::optional<Error> Parser::include_file(const Reader& reader, const std::string& path,
                                          Node& parent, int block_depth, int include_depth) {
    if (include_depth >= k_max_include_depth) {
        return reader.error("includes are nested too deeply (more than " +
                            std::to_string(k_max_include_depth) + " levels) at " + quoted(path));
    }
    std::string message;
    const SourceFile* file = load(path, &message);
    if (file == nullptr) {
        return reader.error(std::move(message));
    }
    Reader included(file->text, file->path, false);
    return parse_block(included, parent, Mode::file, block_depth, include_depth + 1);
}

const SourceFile* Parser::load(const std::string& path, std::string* error) {
    if (const auto it = file_index_.find(path); it != file_index_.end()) {
        return &files_[it->second];
    }

    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *error = "open() " + quoted(path) + " failed" + errno_suffix(errno);
        return nullptr;
    }
    std::string text;
    struct stat info {};
    if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
        text.reserve(static_cast<std::size_t>(info.st_size));
    }
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n > 0) {
            text.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        *error = "read() " + quoted(path) + " failed" + errno_suffix(errno);
        ::close(fd);
        return nullptr;
    }
    ::close(fd);
    return &add_file(path, std::move(text));
}

const SourceFile& Parser::add_file(std::string path, std::string text) {
    if (const auto it = file_index_.find(path); it != file_index_.end()) {
        return files_[it->second];
    }
    files_.push_back(SourceFile{std::move(path), std::move(text)});
    file_index_.emplace(files_.back().path, files_.size() - 1);
    return files_.back();
}

std::string directory_of(std::string_view path) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) {
        return {};
    }
    if (slash == 0) {
        return "/";
    }
    return std::string(path.substr(0, slash));
}

}  // namespace evs::core::conf
