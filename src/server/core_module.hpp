#pragma once

// The directives of the main context and of the events block (nginx's core and
// events modules), as tables for the configuration applier, and the table list
// every configuration is checked against.

#include <span>

#include "core/conf_directive.hpp"

namespace evs::server {

// The main context; bound to a MainConfig.
extern const core::conf::Table k_core_table;
// The events block; bound to an EventsConfig.
extern const core::conf::Table k_events_table;

// Every table of the program, for "not allowed here" versus "unknown directive"
// and for the directive reference (docs/DIRECTIVES.md).
std::span<const core::conf::Table* const> all_tables();

}  // namespace evs::server
