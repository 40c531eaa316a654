#pragma once

// Variables and texts with variables (nginx's ngx_http_variables and complex values).
//
// A directive value such as `root /srv/$host;` or a log_format is compiled once, when
// the configuration is read, into a Text: literal pieces and references to variables,
// each reference already bound to the function that reads it. Evaluating a Text for a
// request walks that list; no variable name is looked up per request.
//
// A variable is "not found" when the request has no such value ($http_referer without
// a Referer header, $1 when no regex matched); it then evaluates to "" (the access log
// writes "-" instead, as nginx's does).
//
// Names: the fixed variables below, the prefixes http_, arg_ and cookie_, the regex
// captures $1..$9, and the named captures of any regex in the configuration (known only
// once the whole http block is read; see check_capture_names()).
//
// Thread: compile while reading the configuration; evaluate on the worker's loop thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace evs::http {

struct Request;

// How evaluated values are written into the output.
enum class Escape : std::uint8_t {
    none,         // as they are (paths, conditions)
    log_default,  // access log: \xHH for '"', '\' and bytes outside 0x20..0x7e; "-" if empty
    log_json,     // access log escape=json: JSON string escapes; nothing if empty
};

class Text {
public:
    Text() = default;

    // Compiles `text`; nullopt with nginx's message in *error for an unknown variable
    // (`unknown "foo" variable`) or a bad reference (`${name` without its brace).
    // Names that may be named captures are accepted here and must be confirmed with
    // check_capture_names() once every regex is compiled.
    static std::optional<Text> compile(std::string_view text, std::string* error);

    bool has_variables() const { return variables_ != 0; }
    const std::string& source() const { return source_; }
    // The text up to its first variable.
    std::string_view literal_prefix() const;

    // Appends the value for `r`.
    void evaluate(Request* r, std::string& out, Escape escape = Escape::none) const;

    // A `$name` that names no fixed variable is a named capture; it must belong to
    // some regex of the configuration. `names`: every group name of every regex.
    // The first name that is none of them, or nullopt.
    std::optional<std::string> unknown_capture(const std::vector<std::string>& names) const;

    struct Part;

private:
    std::string source_;
    std::vector<Part> parts_;
    std::uint32_t variables_ = 0;
};

struct Text::Part {
    using Getter = bool (*)(Request* r, const Part& part, char* scratch, std::string_view* value);
    std::string literal;      // a literal piece when get is null
    Getter get = nullptr;     // a variable
    std::string arg;          // the name after a prefix ("referer" for $http_referer), or
                              // the capture's name
    std::uint32_t index = 0;  // $1..$9
};

// The file a URI names in the request's location: root + uri, or for an alias the
// alias + what follows the location's prefix (the alias alone in a regex location).
// Variables in root/alias are evaluated for `r`.
std::string map_uri_to_path(Request* r, std::string_view uri);

// The reference of the variables, in Markdown (a section of docs/DIRECTIVES.md).
std::string variables_markdown();

// Whether `name` is a variable evserve knows without any regex ($uri, $http_host...).
bool is_known_variable(std::string_view name);

}  // namespace evs::http
