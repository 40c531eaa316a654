#pragma once

// The directives of the main context and of the events block (nginx's core and
// events modules), as tables for the configuration applier, and the table list
// every configuration is checked against.

#include <optional>
#include <span>
#include <string>

#include "core/conf_directive.hpp"

namespace evs::server {

struct MainConfig;

// Looks up main.user and main.group (empty: the user's own group) and sets
// main.user_id and main.group_id, as nginx does while reading the configuration: an
// unknown name is a configuration error, not workers that fail at start. On failure,
// nginx's message: getpwnam("name") failed.
std::optional<std::string> resolve_user(MainConfig& main);

// The main context; bound to a MainConfig.
extern const core::conf::Table k_core_table;
// The events block; bound to an EventsConfig.
extern const core::conf::Table k_events_table;

// Every table of the program, for "not allowed here" versus "unknown directive"
// and for the directive reference (docs/DIRECTIVES.md).
std::span<const core::conf::Table* const> all_tables();

}  // namespace evs::server
