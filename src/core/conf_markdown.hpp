#pragma once

// render_markdown: the directive reference (docs/DIRECTIVES.md), written from the
// directive tables themselves so that it cannot drift from the code.
//
//   ## events
//
//   ### worker_connections
//
//   - Syntax: `worker_connections number;`
//   - Default: `worker_connections 512;`
//   - Context: events
//   - Arguments: 1
//
// One section per table, in the order given; the directives in table order. Pure
// function; any thread.

#include <span>
#include <string>

#include "core/conf_directive.hpp"

namespace evs::core::conf {

std::string render_markdown(std::span<const Table* const> tables);

}  // namespace evs::core::conf
