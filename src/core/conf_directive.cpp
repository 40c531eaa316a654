#include "core/conf_directive.hpp"

#include <bit>

namespace evs::core::conf {

namespace {

struct ContextName {
    ContextMask mask;
    std::string_view name;
};

// In the order nginx's reference lists contexts.
constexpr ContextName k_context_names[] = {
    {k_main, "main"},
    {k_events, "events"},
    {k_http, "http"},
    {k_server, "server"},
    {k_location, "location"},
    {k_upstream, "upstream"},
    {k_if_in_server, "if in server"},
    {k_if_in_location, "if in location"},
    {k_limit_except, "limit_except"},
};

}  // namespace

bool args_match(ArgSpec spec, std::size_t count) {
    if ((spec & k_any_args) != 0) {
        return true;
    }
    if ((spec & k_flag) != 0) {
        return count == 1;
    }
    if ((spec & k_1more) != 0) {
        return count >= 1;
    }
    if ((spec & k_2more) != 0) {
        return count >= 2;
    }
    return count <= k_max_args && (spec & (ArgSpec{1} << count)) != 0;
}

std::string describe_args(ArgSpec spec) {
    if ((spec & k_any_args) != 0) {
        return "any";
    }
    if ((spec & k_flag) != 0) {
        return "1";
    }
    if ((spec & k_1more) != 0) {
        return "1 or more";
    }
    if ((spec & k_2more) != 0) {
        return "2 or more";
    }
    const ArgSpec counts = spec & ((ArgSpec{1} << (k_max_args + 1)) - 1);
    if (counts == 0) {
        return "none";
    }
    const int lowest = std::countr_zero(counts);
    const int highest = std::bit_width(counts) - 1;
    if (lowest == highest) {
        return lowest == 0 ? "none" : std::to_string(lowest);
    }
    // A contiguous run reads "1 to 4"; anything else lists the counts ("1 or 3").
    const ArgSpec run = ((ArgSpec{1} << (highest + 1)) - 1) & ~((ArgSpec{1} << lowest) - 1);
    if (counts == run && highest - lowest > 1) {
        return std::to_string(lowest) + " to " + std::to_string(highest);
    }
    std::string text;
    for (int n = lowest; n <= highest; ++n) {
        if ((counts & (ArgSpec{1} << n)) == 0) {
            continue;
        }
        if (!text.empty()) {
            text += n == highest ? " or " : ", ";
        }
        text += std::to_string(n);
    }
    return text;
}

std::string context_names(ContextMask contexts) {
    if (contexts == k_any_context) {
        return "any";
    }
    std::string text;
    for (const ContextName& context : k_context_names) {
        if ((contexts & context.mask) == 0) {
            continue;
        }
        if (!text.empty()) {
            text += ", ";
        }
        text += context.name;
    }
    return text;
}

std::string syntax_of(const Directive& directive) {
    if (!directive.syntax.empty()) {
        return std::string(directive.syntax);
    }
    if (!directive.setter.values.empty()) {
        std::string text;
        for (const EnumValue& value : directive.setter.values) {
            if (!text.empty()) {
                text += " | ";
            }
            text += value.name;
        }
        return text;
    }
    return std::string(directive.setter.syntax);
}

Error duplicate_error(const Node& node) {
    return node.error(quoted(node.name()) + " directive is duplicate");
}

Error invalid_value_error(const Node& node) {
    return node.error(quoted(node.name()) + " directive invalid value");
}

Error invalid_number_error(const Node& node) {
    return node.error(quoted(node.name()) + " directive invalid number");
}

Error invalid_flag_error(const Node& node) {
    return node.error("invalid value " + quoted(node.args[1]) + " in " + quoted(node.name()) +
                      " directive, it must be \"on\" or \"off\"");
}

Error invalid_enum_error(const Node& node, std::span<const EnumValue> values) {
    // nginx says only `invalid value "x"`; naming the directive and the accepted words
    // follows its message for flags.
    std::string message =
        "invalid value " + quoted(node.args[1]) + " in " + quoted(node.name()) + " directive";
    for (std::size_t i = 0; i < values.size(); ++i) {
        message += i == 0 ? ", it must be " : i + 1 == values.size() ? " or " : ", ";
        message += quoted(values[i].name);
    }
    return node.error(std::move(message));
}

}  // namespace evs::core::conf
