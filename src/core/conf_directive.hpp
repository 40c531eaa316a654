#pragma once

// Directive tables: how a module declares the directives it understands.
//
// A module lists its directives in a static table, as nginx's ngx_command_t arrays do:
// the name, the contexts where it may appear, how many arguments it takes, the setter
// that stores it, and the default applied when a block does not mention it.
//
//   struct EventsConf {
//       std::uint32_t worker_connections = 0;
//       bool multi_accept = false;
//       Msec accept_mutex_delay = 0;
//   };
//   constexpr conf::Directive k_events_directives[] = {
//       {"worker_connections", conf::k_events, conf::k_take1,
//        conf::number_slot<&EventsConf::worker_connections>, "512"},
//       {"multi_accept", conf::k_events, conf::k_flag,
//        conf::flag_slot<&EventsConf::multi_accept>, "off"},
//       {"accept_mutex_delay", conf::k_events, conf::k_take1,
//        conf::msec_slot<&EventsConf::accept_mutex_delay>, "500ms"},
//   };
//   constexpr conf::Table k_events_table{"events", k_events_directives};
//
// The generic setters (flag, number, size, offset, msec, sec, string, enum; block in
// conf_applier.hpp) are function templates over a pointer to member, so the field's type
// is checked at compile time and no offsets or casts appear in module code. A directive
// that needs more (`listen`, `worker_processes auto`) names its own function with the
// SetFn signature. Everything here is constant data and pure functions; any thread.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/conf_error.hpp"
#include "core/conf_node.hpp"
#include "core/conf_values.hpp"

namespace evs::core::conf {

// Where a directive may appear. A module that adds a context adds a bit here and its
// name to context_names().
using ContextMask = std::uint32_t;
inline constexpr ContextMask k_main = 1u << 0;
inline constexpr ContextMask k_events = 1u << 1;
inline constexpr ContextMask k_http = 1u << 2;
inline constexpr ContextMask k_server = 1u << 3;
inline constexpr ContextMask k_location = 1u << 4;
inline constexpr ContextMask k_upstream = 1u << 5;
inline constexpr ContextMask k_if_in_server = 1u << 6;
inline constexpr ContextMask k_if_in_location = 1u << 7;
inline constexpr ContextMask k_limit_except = 1u << 8;
inline constexpr ContextMask k_any_context = (1u << 9) - 1;

// How many arguments a directive takes (after its name), whether it opens a block, and
// whether it may be repeated in one block. Combine with |, as nginx's NGX_CONF_* bits.
using ArgSpec = std::uint32_t;
inline constexpr ArgSpec k_noargs = 1u << 0;
inline constexpr ArgSpec k_take1 = 1u << 1;
inline constexpr ArgSpec k_take2 = 1u << 2;
inline constexpr ArgSpec k_take3 = 1u << 3;
inline constexpr ArgSpec k_take4 = 1u << 4;
inline constexpr ArgSpec k_take5 = 1u << 5;
inline constexpr ArgSpec k_take6 = 1u << 6;
inline constexpr ArgSpec k_take7 = 1u << 7;
inline constexpr ArgSpec k_take12 = k_take1 | k_take2;
inline constexpr ArgSpec k_take13 = k_take1 | k_take3;
inline constexpr ArgSpec k_take23 = k_take2 | k_take3;
inline constexpr ArgSpec k_take123 = k_take1 | k_take2 | k_take3;
inline constexpr ArgSpec k_take1234 = k_take1 | k_take2 | k_take3 | k_take4;
inline constexpr ArgSpec k_flag = 1u << 8;  // exactly one argument, "on" or "off"
inline constexpr ArgSpec k_1more = 1u << 9;
inline constexpr ArgSpec k_2more = 1u << 10;
inline constexpr ArgSpec k_any_args = 1u << 11;
inline constexpr ArgSpec k_block = 1u << 12;  // followed by "{ ... }"
// May appear more than once in one block (listen, error_log, include). Any other
// directive given twice in a block is "duplicate".
inline constexpr ArgSpec k_repeatable = 1u << 13;

// The largest count nginx accepts for the fixed counts (NGX_CONF_MAX_ARGS less the name).
inline constexpr std::size_t k_max_args = 7;

struct Directive;
class Applier;

// Stores one directive into `conf`, the configuration struct its table is bound to.
// Returns the error to report, usually node.error(...) so that it names the directive's
// file and line. The argument count has been checked against the directive's ArgSpec.
// A block directive's setter applies the block's body with applier.apply().
using SetFn = std::optional<Error> (*)(Applier& applier, const Node& node,
                                       const Directive& directive, void* conf);
// Copies the directive's field from the conf of an enclosing block (see inherit()).
using CopyFn = void (*)(void* child, const void* parent);

struct EnumValue {
    std::string_view name;
    int value;
};

struct Setter {
    SetFn set = nullptr;
    // Set by the generic setters, null for custom ones (a module merges those itself).
    CopyFn copy = nullptr;
    // The arguments as the reference shows them: "size", "on | off", "number | auto".
    std::string_view syntax = {};
    // The accepted words of an enum setter; the reference lists them.
    std::span<const EnumValue> values = {};
};

struct Directive {
    std::string_view name;
    ContextMask contexts;
    ArgSpec args;
    Setter setter;
    // Given to the setter, split at spaces, when a block of a context the directive is
    // allowed in does not mention it. Empty: no default. Shown in the reference.
    std::string_view default_value = {};
    // Replaces setter.syntax in the reference ("[address:]port [default_server]").
    std::string_view syntax = {};
    // One sentence for the reference.
    std::string_view summary = {};
};

// One module's directives.
struct Table {
    std::string_view module;
    std::span<const Directive> directives;
};

// True when `count` arguments (after the name) satisfy `spec`.
bool args_match(ArgSpec spec, std::size_t count);
// "none", "1", "1 or 2", "1 to 4", "1 or more", "any" - for the reference.
std::string describe_args(ArgSpec spec);
// "main, http, server" - for the reference.
std::string context_names(ContextMask contexts);
// The directive's argument syntax: its own, the setter's, or the enum's words.
std::string syntax_of(const Directive& directive);

// nginx's messages, located at `node`.
Error duplicate_error(const Node& node);       // "x" directive is duplicate
Error invalid_value_error(const Node& node);   // "x" directive invalid value
Error invalid_number_error(const Node& node);  // "x" directive invalid number
Error invalid_flag_error(const Node& node);    // invalid value "y" in "x" directive, ...
Error invalid_enum_error(const Node& node, std::span<const EnumValue> values);

namespace detail {

template <typename Member>
struct MemberTraits;

template <typename Conf, typename Field>
struct MemberTraits<Field Conf::*> {
    using conf_type = Conf;
    using field_type = Field;
};

template <auto Member>
using ConfOf = typename MemberTraits<decltype(Member)>::conf_type;
template <auto Member>
using FieldOf = typename MemberTraits<decltype(Member)>::field_type;

template <auto Member>
FieldOf<Member>& field(void* conf) {
    return static_cast<ConfOf<Member>*>(conf)->*Member;
}

template <auto Member>
void copy_field(void* child, const void* parent) {
    field<Member>(child) = static_cast<const ConfOf<Member>*>(parent)->*Member;
}

// Stores a value if it is not negative and the field's type can hold it.
template <auto Member, typename Value>
bool store_in_range(void* conf, Value value) {
    using Field = FieldOf<Member>;
    static_assert(std::is_integral_v<Field> && !std::is_same_v<Field, bool>,
                  "the field must be an integer");
    if constexpr (std::is_signed_v<Value>) {
        if (value < 0) {
            return false;
        }
    }
    if (static_cast<std::uint64_t>(value) >
        static_cast<std::uint64_t>(std::numeric_limits<Field>::max())) {
        return false;
    }
    field<Member>(conf) = static_cast<Field>(value);
    return true;
}

template <auto Member>
std::optional<Error> set_flag(Applier&, const Node& node, const Directive&, void* conf) {
    static_assert(std::is_same_v<FieldOf<Member>, bool>, "a flag is stored in a bool");
    const std::optional<bool> value = parse_flag(node.args[1]);
    if (!value) {
        return invalid_flag_error(node);
    }
    field<Member>(conf) = *value;
    return std::nullopt;
}

template <auto Member>
std::optional<Error> set_number(Applier&, const Node& node, const Directive&, void* conf) {
    const std::optional<std::uint64_t> value = parse_number(node.args[1]);
    if (!value || !store_in_range<Member>(conf, *value)) {
        return invalid_number_error(node);
    }
    return std::nullopt;
}

template <auto Member>
std::optional<Error> set_size(Applier&, const Node& node, const Directive&, void* conf) {
    const std::optional<std::uint64_t> value = parse_size(node.args[1]);
    if (!value || !store_in_range<Member>(conf, *value)) {
        return invalid_value_error(node);
    }
    return std::nullopt;
}

template <auto Member>
std::optional<Error> set_offset(Applier&, const Node& node, const Directive&, void* conf) {
    const std::optional<std::int64_t> value = parse_offset(node.args[1]);
    if (!value || !store_in_range<Member>(conf, *value)) {
        return invalid_value_error(node);
    }
    return std::nullopt;
}

template <auto Member>
std::optional<Error> set_msec(Applier&, const Node& node, const Directive&, void* conf) {
    const std::optional<std::uint64_t> value = parse_msec(node.args[1]);
    if (!value || !store_in_range<Member>(conf, *value)) {
        return invalid_value_error(node);
    }
    return std::nullopt;
}

template <auto Member>
std::optional<Error> set_sec(Applier&, const Node& node, const Directive&, void* conf) {
    const std::optional<std::int64_t> value = parse_sec(node.args[1]);
    if (!value || !store_in_range<Member>(conf, *value)) {
        return invalid_value_error(node);
    }
    return std::nullopt;
}

template <auto Member>
std::optional<Error> set_string(Applier&, const Node& node, const Directive&, void* conf) {
    static_assert(std::is_same_v<FieldOf<Member>, std::string>, "a string is a std::string");
    field<Member>(conf) = node.args[1];
    return std::nullopt;
}

template <auto Member>
std::optional<Error> set_enum(Applier&, const Node& node, const Directive& directive, void* conf) {
    for (const EnumValue& value : directive.setter.values) {
        if (equals_ignore_case(node.args[1], value.name)) {
            field<Member>(conf) = static_cast<FieldOf<Member>>(value.value);
            return std::nullopt;
        }
    }
    return invalid_enum_error(node, directive.setter.values);
}

}  // namespace detail

// Generic setters, one per kind of value; each takes the directive's first argument.
// bool: "on" or "off", any case.
template <auto Member>
inline constexpr Setter flag_slot{&detail::set_flag<Member>, &detail::copy_field<Member>,
                                  "on | off"};
// Any integer type: digits only; a value the field cannot hold is an invalid number.
template <auto Member>
inline constexpr Setter number_slot{&detail::set_number<Member>, &detail::copy_field<Member>,
                                    "number"};
// Bytes, with k, m or g.
template <auto Member>
inline constexpr Setter size_slot{&detail::set_size<Member>, &detail::copy_field<Member>, "size"};
// Like a size, into a signed field (an off_t).
template <auto Member>
inline constexpr Setter offset_slot{&detail::set_offset<Member>, &detail::copy_field<Member>,
                                    "size"};
// Milliseconds (Msec): "500ms", "30s", "1m 30s"; a bare number is seconds.
template <auto Member>
inline constexpr Setter msec_slot{&detail::set_msec<Member>, &detail::copy_field<Member>, "time"};
// Seconds: "30s", "1h", "1y".
template <auto Member>
inline constexpr Setter sec_slot{&detail::set_sec<Member>, &detail::copy_field<Member>, "time"};
// std::string: the argument as written, quotes removed.
template <auto Member>
inline constexpr Setter string_slot{&detail::set_string<Member>, &detail::copy_field<Member>,
                                    "string"};
// An enum or integer field: one of `Values`, any case.
//   constexpr conf::EnumValue k_methods[] = {{"select", 0}, {"poll", 1}, {"epoll", 2}};
//   conf::enum_slot<&EventsConf::use, k_methods>
template <auto Member, const auto& Values>
inline constexpr Setter enum_slot{
    &detail::set_enum<Member>, &detail::copy_field<Member>, {}, std::span<const EnumValue>(Values)};

}  // namespace evs::core::conf
