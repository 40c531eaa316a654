#include "core/conf_values.hpp"

#include <limits>

namespace evs::core::conf {

namespace {

constexpr std::int64_t k_int64_max = std::numeric_limits<std::int64_t>::max();

// Decimal digits only (no sign, no spaces), at most `max`.
std::optional<std::int64_t> parse_digits(std::string_view text, std::int64_t max) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    for (const char ch : text) {
        if (ch < '0' || ch > '9') {
            return std::nullopt;
        }
        const int digit = ch - '0';
        if (value > (max - digit) / 10) {
            return std::nullopt;
        }
        value = value * 10 + digit;
    }
    return value;
}

// A number with an optional k, m or g suffix (powers of 1024), at most `max` in total.
std::optional<std::int64_t> parse_scaled(std::string_view text, std::int64_t max) {
    if (text.empty()) {
        return std::nullopt;
    }
    std::int64_t scale = 1;
    switch (text.back()) {
        case 'k':
        case 'K':
            scale = 1024;
            break;
        case 'm':
        case 'M':
            scale = 1024 * 1024;
            break;
        case 'g':
        case 'G':
            scale = 1024 * 1024 * 1024;
            break;
        default:
            break;
    }
    if (scale != 1) {
        text.remove_suffix(1);
    }
    const std::optional<std::int64_t> value = parse_digits(text, max / scale);
    if (!value) {
        return std::nullopt;
    }
    return *value * scale;
}

// The units of a time, from the most to the least significant. A value must use them in
// this order, each at most once, which is how nginx tells "m" (minutes) after "h" from
// a mistake.
enum class Unit { none, year, month, week, day, hour, minute, second, millisecond };

struct UnitInfo {
    Unit unit;
    std::int64_t msec;  // the unit's length in milliseconds
};

// Reads the unit at text[*pos], if any, and advances past it.
std::optional<UnitInfo> read_unit(std::string_view text, std::size_t* pos) {
    if (*pos >= text.size()) {
        return std::nullopt;
    }
    constexpr std::int64_t second = 1000;
    constexpr std::int64_t day = 24 * 60 * 60 * second;
    const char ch = text[(*pos)++];
    switch (ch) {
        case 'y':
            return UnitInfo{Unit::year, 365 * day};
        case 'M':
            return UnitInfo{Unit::month, 30 * day};
        case 'w':
            return UnitInfo{Unit::week, 7 * day};
        case 'd':
            return UnitInfo{Unit::day, day};
        case 'h':
            return UnitInfo{Unit::hour, 60 * 60 * second};
        case 'm':
            if (*pos < text.size() && text[*pos] == 's') {
                ++*pos;
                return UnitInfo{Unit::millisecond, 1};
            }
            return UnitInfo{Unit::minute, 60 * second};
        case 's':
            return UnitInfo{Unit::second, second};
        default:
            --*pos;
            return std::nullopt;
    }
}

// Parses a time into milliseconds, or into seconds when `in_seconds`. Seconds refuse
// "ms"; milliseconds refuse months and years, as nginx does.
std::optional<std::int64_t> parse_time(std::string_view text, bool in_seconds) {
    std::int64_t total = 0;
    Unit last = Unit::none;
    bool any = false;
    std::size_t pos = 0;
    auto skip_spaces = [&] {
        while (pos < text.size() && text[pos] == ' ') {
            ++pos;
        }
    };
    skip_spaces();
    while (pos < text.size()) {
        const std::size_t digits_start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            ++pos;
        }
        const std::optional<std::int64_t> count =
            parse_digits(text.substr(digits_start, pos - digits_start), k_int64_max);
        if (!count) {
            return std::nullopt;  // a unit without a number, a stray character, overflow
        }
        std::optional<UnitInfo> unit = read_unit(text, &pos);
        if (!unit) {
            // A bare number means seconds, and only the last part may be bare.
            skip_spaces();
            if (pos != text.size()) {
                return std::nullopt;
            }
            unit = UnitInfo{Unit::second, 1000};
        }
        if (unit->unit <= last) {
            return std::nullopt;
        }
        if (in_seconds ? unit->unit == Unit::millisecond
                       : (unit->unit == Unit::year || unit->unit == Unit::month)) {
            return std::nullopt;
        }
        last = unit->unit;
        // Seconds are counted as seconds, not as milliseconds divided later, so that a
        // seconds value has the whole 64-bit range, as in nginx.
        const std::int64_t scale = in_seconds ? unit->msec / 1000 : unit->msec;
        if (*count > k_int64_max / scale) {
            return std::nullopt;
        }
        const std::int64_t part = *count * scale;
        if (total > k_int64_max - part) {
            return std::nullopt;
        }
        total += part;
        any = true;
        skip_spaces();
    }
    if (!any) {
        return std::nullopt;
    }
    return total;
}

}  // namespace

std::optional<std::uint64_t> parse_number(std::string_view text) {
    const std::optional<std::int64_t> value = parse_digits(text, k_int64_max);
    if (!value) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(*value);
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    // nginx keeps sizes in a ssize_t, so the largest size is the largest ssize_t.
    const std::optional<std::int64_t> value = parse_scaled(text, k_int64_max);
    if (!value) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(*value);
}

std::optional<std::int64_t> parse_offset(std::string_view text) {
    return parse_scaled(text, k_int64_max);
}

std::optional<std::uint64_t> parse_msec(std::string_view text) {
    const std::optional<std::int64_t> value = parse_time(text, false);
    if (!value) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(*value);
}

std::optional<std::int64_t> parse_sec(std::string_view text) {
    return parse_time(text, true);
}

std::optional<bool> parse_flag(std::string_view text) {
    if (equals_ignore_case(text, "on")) {
        return true;
    }
    if (equals_ignore_case(text, "off")) {
        return false;
    }
    return std::nullopt;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char ch) {
            return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
        };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace evs::core::conf
