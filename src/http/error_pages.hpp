#pragma once

// error_page, recursive_error_pages and nginx's built-in error responses (nginx's
// ngx_http_special_response.c).
//
//   error_page 404 /404.html;              the page, with the status 404
//   error_page 500 502 503 =200 /oops;     the page, answered with 200
//   error_page 404 = @fallback;            the named location's own status
//   error_page 403 http://example.com/;    a 302 redirect (=301, =303, =307, =308)
//
// A request that ends with a status of 300 or more (304 aside: it is no error but a
// conditional answer) looks for that status in its location's error_page list. A URI
// is an internal redirect whose arguments replace the request's; the method becomes
// GET (HEAD stays HEAD) so the static handler can answer a POST's error page; the
// status stays the error's unless "=code" or "=" says otherwise. "@name" goes to the
// named location, keeping the method. Anything else is a URL for a Location header.
// With recursive_error_pages off (the default) a request follows error_page once: an
// error while serving the error page gets the built-in page. Either way no error_page
// applies once the internal redirect limit is used up. A block with any error_page
// replaces the enclosing block's list. 494..497 (nginx's own 400 variants) are matched
// by their own codes and answered as 400 unless "=code" says otherwise.
//
// Ownership: ErrorPages belong to the configuration (shared by the blocks that inherit
// them); read-only after start-up. The functions run on the worker's loop thread.

#include <optional>
#include <string>
#include <vector>

#include "core/conf_applier.hpp"
#include "http/variables.hpp"

namespace evs::http {

struct Request;

struct ErrorPage {
    int status = 0;
    // -1: the response keeps the error's status; 0 ("="): the target's; else this code.
    int overwrite = -1;
    Text target;  // the URI (without a literal "?args"), @name or URL
    std::string args;
    bool literal_args = false;  // a literal URI whose "?args" were split off at start-up
};

struct ErrorPages {
    std::vector<ErrorPage> pages;
    std::string where;  // "file:line" of the first error_page, for errors found later
};

// The setter of `error_page` (into a LocationConfig); repeatable, appending.
std::optional<core::conf::Error> set_error_page(core::conf::Applier& applier,
                                                const core::conf::Node& node,
                                                const core::conf::Directive& directive, void* conf);

// The first unknown named capture an error_page target refers to, or nullopt.
std::optional<std::string> error_pages_unknown_capture(const ErrorPages& pages,
                                                       const std::vector<std::string>& names);

// Called for a request ending with `status`: true when an error_page took the request
// over (an internal redirect, a named location, or a redirect response sent).
bool send_error_page(Request* r, int status);

// Sets up the built-in response for `status` (nginx's page with the server signature,
// none for 2xx and 304; 494..497 go out as 400) in place of whatever the request had.
void prepare_special_response(Request* r, int status);

// Clears what a handler put into the response (file, body, headers), before an
// internal redirect serves something else.
void reset_response(Request* r);

}  // namespace evs::http
