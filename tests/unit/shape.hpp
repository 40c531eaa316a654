#pragma once

// matches_shape("2026/11/23", "9999/99/99"): a light check of formatted text
// without std::regex (whose libstdc++ implementation trips -Wmaybe-uninitialized
// under the sanitizers). In `shape`, '9' is any digit, 'a' any lowercase letter,
// 'A' any uppercase letter; every other character must match itself.

#include <cctype>
#include <string_view>

namespace evs::test {

inline bool matches_shape(std::string_view text, std::string_view shape) {
    if (text.size() != shape.size()) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        switch (shape[i]) {
            case '9':
                if (!std::isdigit(c)) {
                    return false;
                }
                break;
            case 'a':
                if (!std::islower(c)) {
                    return false;
                }
                break;
            case 'A':
                if (!std::isupper(c)) {
                    return false;
                }
                break;
            default:
                if (text[i] != shape[i]) {
                    return false;
                }
        }
    }
    return true;
}

}  // namespace evs::test
