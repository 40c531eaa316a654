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
// "*.example.com" wildcard, then the longest "example.*", then the default server
// of the address (the first listed there, or the one marked default_server).
//
// Locations as nginx matches them: "= uri" exact match wins at once; otherwise
// the longest matching prefix is remembered (and its nested locations searched);
// a "^~" longest prefix stops the search; regular expressions come next, in
// order. Named locations (@name) are only reached by name.
//
// Ownership: built from an HttpConfig and pointing into it. Read-only in workers.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/config.hpp"

namespace evs::http {

struct AddressServers {
    os::SocketAddress local;  // the address as configured (may be the wildcard)
    ServerConfig* default_server = nullptr;
    std::vector<std::pair<std::string, ServerConfig*>> exact;
    std::vector<std::pair<std::string, ServerConfig*>> leading_wildcard;   // ".example.com"
    std::vector<std::pair<std::string, ServerConfig*>> trailing_wildcard;  // "example."
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

// The server for `host` (lowercase, no port), or the address's default server.
ServerConfig* find_server(const AddressServers& address, std::string_view host);

// The location for `path` within `server`; the server level when none matches.
LocationConfig* find_location(ServerConfig& server, std::string_view path);

// A named location (@name) of `server`, or nullptr.
LocationConfig* find_named_location(ServerConfig& server, std::string_view name);

}  // namespace evs::http
