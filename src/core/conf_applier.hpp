#pragma once

// Applier: applies a parsed tree to the configuration structs of the modules, through
// their directive tables, with nginx's checks and messages.
//
//   const conf::Table* const k_all_tables[] = {&k_core_table, &k_events_table, ...};
//   conf::Applier applier(k_all_tables);
//   CoreConf core;
//   const conf::Binding main_bindings[] = {{&k_core_table, &core}};
//   if (auto err = applier.apply(parser.root(), main_bindings, conf::k_main)) { ... }
//
// For each directive of a block, in order: find it among the bound tables for the
// block's context ("unknown directive", or "not allowed here" when another known table
// has it), check ";" against "{", the argument count and duplicates, then call its
// setter. A block directive's setter recurses with the block's own bindings and context:
// block_slot<> below does it for a block that fills one struct; `http` or `server`,
// which fill several modules' structs or a list, write a setter that builds the bindings
// and calls applier.apply(). After the block's own directives, the defaults of the
// directives it did not mention are applied.
//
// Inheritance (a location takes the server's `sendfile` unless it sets its own) is
// nginx's merge step: after the enclosing block is complete, inherit() copies every
// field its child did not set, using the Seen that apply() filled for the child.
//
// The Applier holds only the list of known tables, which it does not own. Start-up
// only, one thread.

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/conf_directive.hpp"
#include "core/conf_error.hpp"
#include "core/conf_node.hpp"

namespace evs::core::conf {

// A table and the struct its setters write into for the block being applied.
struct Binding {
    const Table* table;
    void* conf;
};

// The directives a block set itself, for duplicates and for inherit(). A module keeps
// one per block whose values its children inherit; it points into the static tables.
// Start-up only, one thread.
class Seen {
public:
    void add(const Directive* directive) { directives_.push_back(directive); }
    bool contains(const Directive* directive) const;
    bool contains(std::string_view name) const;
    bool empty() const { return directives_.empty(); }

private:
    // A block holds a handful of directives, so a linear search wins over a set.
    std::vector<const Directive*> directives_;
};

class Applier {
public:
    // `known`: every table of the program, so that a directive that exists but is
    // bound elsewhere is "not allowed here" rather than "unknown". Empty: only the
    // bound tables are known.
    explicit Applier(std::span<const Table* const> known = {}) : known_(known) {}

    // Applies block.children in `context` to the bound structs, then the defaults of the
    // bound directives that `context` allows and the block did not set. `seen`, when
    // given, receives the directives the block set itself.
    std::optional<Error> apply(const Node& block, std::span<const Binding> bindings,
                               ContextMask context, Seen* seen = nullptr);

    // Only the defaults: for a context whose block is absent from the file (no
    // `events {}`), so that its struct still gets every default.
    std::optional<Error> apply_defaults(std::span<const Binding> bindings, ContextMask context) {
        return apply(Node{}, bindings, context);
    }

private:
    bool is_known(std::string_view name) const;

    std::span<const Table* const> known_;
};

// Copies from `parent` to `child` (two structs of the table's type, for an enclosing and
// an enclosed block) the field of every generic directive that the child did not set
// and that may appear in `parent_context`. Directives with custom setters are left to
// their module.
void inherit(const Table& table, void* child, const void* parent, const Seen& child_seen,
             ContextMask parent_context);

namespace detail {

template <auto Member, const Table& Inner, ContextMask Context>
std::optional<Error> set_block(Applier& applier, const Node& node, const Directive&, void* conf) {
    const Binding binding{&Inner, &field<Member>(conf)};
    return applier.apply(node, std::span<const Binding>(&binding, 1), Context);
}

}  // namespace detail

// A block that fills one struct, a member of the enclosing one, with one table:
//   {"events", conf::k_main, conf::k_block | conf::k_noargs,
//    conf::block_slot<&MainConf::events, k_events_table, conf::k_events>}
template <auto Member, const Table& Inner, ContextMask Context>
inline constexpr Setter block_slot{&detail::set_block<Member, Inner, Context>, nullptr, {}};

}  // namespace evs::core::conf
