#pragma once

// Parsers for the values of nginx's configuration language: numbers, sizes, offsets,
// times and flags. Each returns nothing for text it does not accept, including values
// that would overflow, so a setter never stores a wrapped-around number.
//
//   parse_number("1024")   -> 1024            digits only, at most INT64_MAX
//   parse_size("8k")       -> 8192            k/K, m/M, g/G; at most SSIZE_MAX bytes
//   parse_offset("10g")    -> 10737418240     the same units, an off_t
//   parse_msec("1h 30m")   -> 5400000         ms, s, m, h, d, w; a bare number is seconds
//   parse_sec("1y")        -> 31536000        s, m, h, d, w, M (30 d), y (365 d); no ms
//   parse_flag("on")       -> true            "on" or "off", any case
//
// Times follow nginx: units combine from the most to the least significant ("1h30m",
// "1h 30m"), each unit at most once, a bare number at the end counts as seconds, and
// millisecond times refuse the month and year units. Pure functions; any thread.

#include <cstdint>
#include <optional>
#include <string_view>

namespace evs::core::conf {

std::optional<std::uint64_t> parse_number(std::string_view text);
std::optional<std::uint64_t> parse_size(std::string_view text);
std::optional<std::int64_t> parse_offset(std::string_view text);
// Milliseconds (the unit of Msec and of every timer).
std::optional<std::uint64_t> parse_msec(std::string_view text);
// Seconds.
std::optional<std::int64_t> parse_sec(std::string_view text);
std::optional<bool> parse_flag(std::string_view text);

// ASCII case-insensitive equality, as nginx compares "on", "off" and enum words.
bool equals_ignore_case(std::string_view a, std::string_view b);

}  // namespace evs::core::conf
