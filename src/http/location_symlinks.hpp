#pragma once

// The disable_symlinks policy of a location for one path, with from= evaluated for
// the request: for code that opens a path itself rather than through the open file
// cache (autoindex opens the directory it lists). Defined in open_file_cache.cpp.
// Thread: the worker's loop thread (from= may evaluate the request's variables).

#include <string_view>

#include "http/open_file.hpp"

namespace evs::http {

struct LocationConfig;
struct Request;

// The location's disable_symlinks for `path`, with from= evaluated for `r` (without
// it the whole path is checked).
SymlinkPolicy policy_of(const LocationConfig& loc, std::string_view path, Request* r);

}  // namespace evs::http
