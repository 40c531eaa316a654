#include "core/conf_error.hpp"

#include <cstring>

namespace evs::core::conf {

std::string Error::to_string() const {
    if (file.empty()) {
        return message;
    }
    std::string text = message + " in " + file;
    if (line != 0) {
        text += ':';
        text += std::to_string(line);
    }
    return text;
}

std::string errno_suffix(int err) {
    char buf[128];
    // The GNU strerror_r returns a pointer that may or may not be buf.
    const char* text = strerror_r(err, buf, sizeof(buf));
    return " (" + std::to_string(err) + ": " + text + ")";
}

std::string quoted(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    out += text;
    out += '"';
    return out;
}

}  // namespace evs::core::conf
