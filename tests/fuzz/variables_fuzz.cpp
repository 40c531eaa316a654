// libFuzzer target for the variable syntax of directive values (Text::compile: `$name`,
// `${name}`, `$1`, prefixes such as $http_ and $arg_).
//
// Besides memory errors it traps when the compiled text does not keep its source, when
// the literal prefix is not the source up to its first '$', when a text without '$' is
// said to have variables (or one with a variable is not), and when a name reported as
// an unknown capture is a variable evserve knows.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/variables.hpp"

namespace {

void check(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string error;
    const auto text = evs::http::Text::compile(input, &error);
    if (!text) {
        check(!error.empty());
        check(input.find('$') != std::string_view::npos);
        return 0;
    }
    check(text->source() == input);
    const std::size_t dollar = input.find('$');
    check(text->has_variables() == (dollar != std::string_view::npos));
    check(text->literal_prefix() ==
          input.substr(0, dollar == std::string_view::npos ? input.size() : dollar));
    if (const auto name = text->unknown_capture({})) {
        check(!name->empty());
        check(!evs::http::is_known_variable(*name));
        check(input.find(*name) != std::string_view::npos);
    }
    return 0;
}
