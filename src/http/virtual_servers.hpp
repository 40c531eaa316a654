#pragma once

// Which server and which location handle a request.
//
// Listening sockets: nginx opens one socket per port when a wildcard address
// (*:80) is configured on it, and tells the specific addresses that share it
// (127.0.0.1:80) apart by the connection's local address. ListenGroup is one
// such socket; each AddressServers inside it is one local address with its
// default server and its names.
//
// Server names as nginx matches them: exact names first, then the longest
// "*.example.com" wildcard, then the longest "example.*", then the first "~regex"
// that matches, in configuration order, then the default server of the address (the
// first listed there, or the one marked default_server).
//
// Locations as nginx matches them (ngx_http_core_find_location), level by level:
// "= uri" exact match wins at once; otherwise the longest matching prefix is
// remembered and the locations nested in it are searched the same way, so a regex
// nested in the chosen prefix is tried before the regexes around it; then, unless
// that prefix is "^~", this level's regular expressions are tried in configuration
// order and the first that matches wins (its own nested regexes refine it); when
// none does, the remembered prefix stands. A "^~" on a nested prefix skips only the
// regexes of its parent, as in nginx. Named locations (@name) are only reached by
// name. The path matched is the decoded, normalised URI without the arguments.
//
// Captures: a matching regex with groups leaves its offsets in the request's arena
// (Captures), for $1.. and $name; a regex without groups leaves earlier captures as
// they were, as nginx does.
//
// Ownership: built from an HttpConfig and pointing into it. Read-only in workers.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/arena.hpp"
#include "http/config.hpp"
#include "http/regex.hpp"

namespace evs::http {

struct AddressServers {
    os::SocketAddress local;  // the address as configured (may be the wildcard)
    ServerConfig* default_server = nullptr;
    std::vector<std::pair<std::string, ServerConfig*>> exact;
    std::vector<std::pair<std::string, ServerConfig*>> leading_wildcard;   // ".example.com"
    std::vector<std::pair<std::string, ServerConfig*>> trailing_wildcard;  // "example."
    std::vector<std::pair<const Regex*, ServerConfig*>> regex;             // in configuration order
};

struct ListenGroup {
    ListenSpec spec;                        // the socket's address and options
    std::vector<AddressServers> addresses;  // one, or several sharing a wildcard socket
    bool wildcard = false;
};

// Groups the servers' listen directives into sockets. Fails (with nginx's message)
// for conflicting options, like two default_server on one address.
bool build_listen_groups(HttpConfig& config, std::vector<std::unique_ptr<ListenGroup>>* groups,
                         std::string* error);

// The servers for a connection whose local address is `local`.
const AddressServers* find_address(const ListenGroup& group, const sockaddr* local,
                                   socklen_t length);

// The server for `host` (lowercase, no port), or the address's default server. When a
// regex name with groups chose it and `captures` is given, its groups are saved in
// `arena`. A regex that fails to run (PCRE2's match limit) counts as not matching.
ServerConfig* find_server(const AddressServers& address, std::string_view host,
                          core::Arena* arena = nullptr, Captures* captures = nullptr);

// The location for `path` within `server`; the server level when none matches. A
// matching regex with groups saves them in `arena` when `captures` is given. nullptr
// when a regex failed to run or the arena is out of memory (the request gets a 500),
// with the reason in *error when error is given.
LocationConfig* find_location(ServerConfig& server, std::string_view path,
                              core::Arena* arena = nullptr, Captures* captures = nullptr,
                              std::string* error = nullptr);

// A named location (@name) of `server`, or nullptr.
LocationConfig* find_named_location(ServerConfig& server, std::string_view name);

// The setters of `listen` and `server_name` (into a ServerConfig).
std::optional<core::conf::Error> set_listen(core::conf::Applier& applier,
                                            const core::conf::Node& node,
                                            const core::conf::Directive& directive, void* conf);
std::optional<core::conf::Error> set_server_name(core::conf::Applier& applier,
                                                 const core::conf::Node& node,
                                                 const core::conf::Directive& directive,
                                                 void* conf);

}  // namespace evs::http
