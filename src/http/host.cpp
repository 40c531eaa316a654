#include "http/host.hpp"

#include <cstddef>

namespace evs::http {

HostCheck validate_host(std::string_view value) {
    // Where the name part ends: at the first ':' outside a "[...]" literal, or just after
    // the literal's ']'. A '[' counts only as the first byte, as in nginx.
    enum class Part { name, literal, rest };
    Part part = Part::name;
    std::size_t name_length = value.size();
    std::size_t last_dot = std::string_view::npos;
    bool upper = false;

    for (std::size_t i = 0; i < value.size(); ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        switch (c) {
            case '.':
                // Two dots in a row anywhere (name or port) refuse the value: "a..b" could
                // otherwise name a directory above a per-host root.
                if (last_dot != std::string_view::npos && last_dot + 1 == i) {
                    return {};
                }
                last_dot = i;
                break;
            case ':':
                if (part == Part::name) {
                    name_length = i;
                    part = Part::rest;
                }
                break;
            case '[':
                if (i == 0) {
                    part = Part::literal;
                }
                break;
            case ']':
                if (part == Part::literal) {
                    name_length = i + 1;
                    part = Part::rest;
                }
                break;
            default:
                if (c == '/' || c <= 0x20 || c == 0x7f) {
                    return {};
                }
                if (c >= 'A' && c <= 'Z' && part != Part::rest) {
                    upper = true;
                }
                break;
        }
    }

    if (name_length > 0 && last_dot == name_length - 1) {
        --name_length;
    }
    if (name_length == 0) {
        return {};
    }
    HostCheck result;
    result.valid = true;
    result.has_uppercase = upper;
    result.name = value.substr(0, name_length);
    return result;
}

}  // namespace evs::http
