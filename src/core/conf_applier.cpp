#include "core/conf_applier.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace evs::core::conf {

namespace {

// Splits a default ("75s", "logs/error.log error") into a directive node.
Node default_node(const Directive& directive) {
    Node node;
    node.args.emplace_back(directive.name);
    std::string_view rest = directive.default_value;
    while (!rest.empty()) {
        const std::size_t space = rest.find(' ');
        if (space != 0) {
            node.args.emplace_back(rest.substr(0, space));
        }
        if (space == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(space + 1);
    }
    return node;
}

}  // namespace

bool Seen::contains(const Directive* directive) const {
    return std::find(directives_.begin(), directives_.end(), directive) != directives_.end();
}

bool Seen::contains(std::string_view name) const {
    return std::any_of(directives_.begin(), directives_.end(),
                       [name](const Directive* directive) { return directive->name == name; });
}

bool Applier::is_known(std::string_view name) const {
    for (const Table* table : known_) {
        for (const Directive& directive : table->directives) {
            if (directive.name == name) {
                return true;
            }
        }
    }
    return false;
}

std::optional<Error> Applier::apply(const Node& block, std::span<const Binding> bindings,
                                    ContextMask context, Seen* seen) {
    Seen local_seen;
    Seen& set = seen != nullptr ? *seen : local_seen;

    for (const Node& node : block.children) {
        const Directive* match = nullptr;
        void* conf = nullptr;
        bool known = false;
        for (const Binding& binding : bindings) {
            for (const Directive& directive : binding.table->directives) {
                if (directive.name != node.name()) {
                    continue;
                }
                known = true;
                if ((directive.contexts & context) != 0) {
                    match = &directive;
                    conf = binding.conf;
                    break;
                }
            }
            if (match != nullptr) {
                break;
            }
        }

        if (match == nullptr) {
            if (known || is_known(node.name())) {
                return node.error(quoted(node.name()) + " directive is not allowed here");
            }
            return node.error("unknown directive " + quoted(node.name()));
        }
        const bool is_block = (match->args & k_block) != 0;
        if (!is_block && node.block) {
            return node.error("directive " + quoted(node.name()) + " is not terminated by \";\"");
        }
        if (is_block && !node.block) {
            return node.error("directive " + quoted(node.name()) + " has no opening \"{\"");
        }
        if (!args_match(match->args, node.arg_count())) {
            return node.error("invalid number of arguments in " + quoted(node.name()) +
                              " directive");
        }
        if ((match->args & k_repeatable) == 0 && set.contains(match)) {
            return duplicate_error(node);
        }
        set.add(match);
        if (std::optional<Error> err = match->setter.set(*this, node, *match, conf)) {
            return err;
        }
    }

    for (const Binding& binding : bindings) {
        for (const Directive& directive : binding.table->directives) {
            if (directive.default_value.empty() || (directive.contexts & context) == 0 ||
                set.contains(&directive)) {
                continue;
            }
            const Node node = default_node(directive);
            if (std::optional<Error> err =
                    directive.setter.set(*this, node, directive, binding.conf)) {
                // A table bug, not a user's: name the table rather than a file.
                return Error{"invalid default " + quoted(directive.default_value) + " of " +
                                 quoted(directive.name) + " directive in the " +
                                 std::string(binding.table->module) + " table: " + err->message,
                             {},
                             0};
            }
        }
    }
    return std::nullopt;
}

void inherit(const Table& table, void* child, const void* parent, const Seen& child_seen,
             ContextMask parent_context) {
    for (const Directive& directive : table.directives) {
        if (directive.setter.copy == nullptr || (directive.contexts & parent_context) == 0 ||
            child_seen.contains(&directive)) {
            continue;
        }
        directive.setter.copy(child, parent);
    }
}

}  // namespace evs::core::conf
