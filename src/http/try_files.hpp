#pragma once

// try_files, `internal` and the request's way to named locations (nginx's
// try_files phase of ngx_http_core_module).
//
//   try_files $uri $uri/ /index.html?from=$uri;
//   try_files $uri @fallback;
//   try_files $uri $uri/ =404;
//
// Each argument but the last is evaluated and mapped to a path as root or alias map a
// URI; the first that exists becomes the request's URI and the location's content
// handler serves it (no new location lookup, no redirect). An argument ending with "/"
// tests for a directory, and the URI is the name without that slash (so the static
// handler answers nginx's 301 to the slashed URI, and "$uri/" for "/dir/" finds the
// index). When none exists the last argument decides: "=code" ends the request with
// that code, "@name" goes to the named location, anything else is an internal redirect
// to that URI, whose "?args" replace the request's arguments (none when it has no "?").
//
// The probes go through the location's open file cache when it has one, so a hot
// try_files costs no system call.
//
// Ownership: a TryFiles belongs to the LocationConfig that names it; read-only after
// start-up, any thread. try_files_phase() runs on the worker's loop thread.

#include <optional>
#include <string>
#include <vector>

#include "core/conf_applier.hpp"
#include "http/variables.hpp"

namespace evs::http {

struct Request;

struct TryFiles {
    struct Item {
        Text text;              // the argument, compiled
        bool test_dir = false;  // it ended with "/": the slash is dropped, a directory wanted
    };
    std::vector<Item> files;  // every argument but the last
    Text fallback;            // the last argument when it is a URI or @name
    int code = 0;             // the last argument was "=code"
    std::string where;        // "file:line", for errors found after the block
};

// Setters of `try_files` and `internal` (into a LocationConfig).
std::optional<core::conf::Error> set_try_files(core::conf::Applier& applier,
                                               const core::conf::Node& node,
                                               const core::conf::Directive& directive, void* conf);
std::optional<core::conf::Error> set_internal(core::conf::Applier& applier,
                                              const core::conf::Node& node,
                                              const core::conf::Directive& directive, void* conf);

// The named captures a try_files argument refers to must exist: the first unknown
// one, or nullopt (see Text::unknown_capture).
std::optional<std::string> try_files_unknown_capture(const TryFiles& tf,
                                                     const std::vector<std::string>& names);

// The try_files phase for r->loc: true when the request goes on to the content handler
// (a file was found and r->uri names it, or the location has no try_files); false when
// the request was redirected or finalized here.
bool try_files_phase(Request* r);

}  // namespace evs::http
