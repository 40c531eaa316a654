#pragma once

// Checks of the shape of small pieces of text the server writes (a version, an HTTP
// date, an access log time), for the integration tests. Dates are checked by parsing
// them with strptime() and printing them back with strftime(): the text must come
// back byte for byte, which is as strict as a pattern and also rejects impossible
// dates. (These replace std::regex, whose libstdc++ implementation trips
// -Wmaybe-uninitialized in the sanitizer builds.)
// Pure functions; any thread (the C locale's month and day names are used: the tests
// never call setlocale).

#include <time.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <string>
#include <string_view>

namespace evs::test {

// One or more ASCII digits and nothing else.
inline bool is_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

// A version: numbers joined by dots ("1", "0.4.2"), `min_parts` numbers at least.
inline bool is_version(std::string_view text, std::size_t min_parts = 1) {
    std::size_t parts = 0;
    for (;;) {
        const std::size_t dot = text.find('.');
        if (!is_digits(text.substr(0, dot))) {
            return false;
        }
        ++parts;
        if (dot == std::string_view::npos) {
            return parts >= min_parts;
        }
        text.remove_prefix(dot + 1);
    }
}

// Whether strptime(`format`) reads all of `text` and `print` (strftime with the same
// format, written out so that -Wformat-nonliteral can check it) prints it back.
inline bool round_trips_as_time(std::string_view text, const char* format,
                                std::size_t (*print)(char* out, std::size_t size, const tm& t)) {
    const std::string copy(text);
    tm t{};
    const char* end = ::strptime(copy.c_str(), format, &t);
    if (end == nullptr || *end != '\0') {
        return false;
    }
    char back[128];
    return std::string_view(back, print(back, sizeof(back), t)) == text;
}

// An HTTP date in the preferred format of RFC 9110: "Sun, 06 Nov 1994 08:49:37 GMT".
inline bool is_http_date(std::string_view text) {
    return round_trips_as_time(text, "%a, %d %b %Y %H:%M:%S GMT",
                               [](char* out, std::size_t size, const tm& t) {
                                   return std::strftime(out, size, "%a, %d %b %Y %H:%M:%S GMT", &t);
                               });
}

// The time of nginx's access log ($time_local): "[10/Oct/2000:13:55:36 -0700]".
inline bool is_log_time(std::string_view text) {
    return text.size() > 2 && text.front() == '[' && text.back() == ']' &&
           round_trips_as_time(text.substr(1, text.size() - 2), "%d/%b/%Y:%H:%M:%S %z",
                               [](char* out, std::size_t size, const tm& t) {
                                   return std::strftime(out, size, "%d/%b/%Y:%H:%M:%S %z", &t);
                               });
}

}  // namespace evs::test
