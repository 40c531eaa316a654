#include "http/virtual_servers.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace evs::http {

namespace {

bool is_wildcard(const os::SocketAddress& a) {
    if (a.family() == AF_INET) {
        return reinterpret_cast<const sockaddr_in*>(a.get())->sin_addr.s_addr == htonl(INADDR_ANY);
    }
    if (a.family() == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a.get());
        return std::memcmp(&in6->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
    }
    return false;
}

bool same_port_and_family(const os::SocketAddress& a, const os::SocketAddress& b) {
    return a.family() == b.family() && a.port() == b.port() && a.family() != AF_UNIX;
}

bool add_names(AddressServers& address, ServerConfig* server, std::string* error) {
    for (const std::string& name : server->names) {
        if (name.empty()) {
            continue;
        }
        if (name[0] == '~') {
            continue;  // compiled with the server_name directive, added below
        }
        auto add = [&](auto& list, std::string key) {
            for (const auto& [existing, srv] : list) {
                if (existing == key && srv != server) {
                    // nginx warns and keeps the first; so do we.
                    return;
                }
            }
            list.emplace_back(std::move(key), server);
        };
        if (name.starts_with("*.")) {
            add(address.leading_wildcard, name.substr(1));  // ".example.com"
        } else if (name.starts_with(".")) {
            // ".example.com" is both "example.com" and "*.example.com".
            add(address.exact, name.substr(1));
            add(address.leading_wildcard, name);
        } else if (name.ends_with(".*")) {
            add(address.trailing_wildcard, name.substr(0, name.size() - 1));  // "example."
        } else if (name.find('*') != std::string::npos) {
            *error = "invalid server name or wildcard \"" + name + "\"";
            return false;
        } else {
            add(address.exact, name);
        }
    }
    for (const auto& re : server->name_regexes) {
        address.regex.emplace_back(re.get(), server);
    }
    return true;
}

}  // namespace

bool build_listen_groups(HttpConfig& config, std::vector<std::unique_ptr<ListenGroup>>* groups,
                         std::string* error) {
    // First the sockets: one per wildcard port, one per address that no wildcard
    // on its port covers.
    auto group_for = [&](const ListenSpec& spec) -> ListenGroup* {
        for (auto& g : *groups) {
            if (g->spec.address == spec.address ||
                (g->wildcard && same_port_and_family(g->spec.address, spec.address))) {
                return g.get();
            }
        }
        return nullptr;
    };
    for (auto& srv : config.servers) {
        for (const ListenSpec& spec : srv->listens) {
            if (is_wildcard(spec.address) && group_for(spec) == nullptr) {
                auto g = std::make_unique<ListenGroup>();
                g->spec = spec;
                g->wildcard = true;
                groups->push_back(std::move(g));
            }
        }
    }
    for (auto& srv : config.servers) {
        for (const ListenSpec& spec : srv->listens) {
            if (group_for(spec) == nullptr) {
                auto g = std::make_unique<ListenGroup>();
                g->spec = spec;
                groups->push_back(std::move(g));
            }
        }
    }
    // Then every server under each address it listens on, in configuration order,
    // so the first server of an address is its default unless one says otherwise.
    for (auto& srv : config.servers) {
        for (const ListenSpec& spec : srv->listens) {
            ListenGroup* g = group_for(spec);
            if (g == nullptr) {  // every listen got a group above
                continue;
            }
            auto it =
                std::find_if(g->addresses.begin(), g->addresses.end(),
                             [&](const AddressServers& a) { return a.local == spec.address; });
            if (it == g->addresses.end()) {
                g->addresses.emplace_back();
                it = g->addresses.end() - 1;
                it->local = spec.address;
            }
            if (spec.default_server) {
                if (it->default_server != nullptr && it->default_server != srv.get() &&
                    std::any_of(it->default_server->listens.begin(),
                                it->default_server->listens.end(), [&](const ListenSpec& l) {
                                    return l.address == spec.address && l.default_server;
                                })) {
                    *error = "a duplicate default server for " + spec.address.to_string();
                    return false;
                }
                it->default_server = srv.get();
                // Socket options are given once, with default_server, as in nginx.
                if (g->spec.address == spec.address) {
                    g->spec.options = spec.options;
                }
            } else if (it->default_server == nullptr) {
                it->default_server = srv.get();
            }
            if (!add_names(*it, srv.get(), error)) {
                return false;
            }
        }
    }
    // Longest wildcards first, so the first match is the most specific.
    for (auto& g : *groups) {
        for (AddressServers& a : g->addresses) {
            auto longest_first = [](const auto& x, const auto& y) {
                return x.first.size() > y.first.size();
            };
            std::stable_sort(a.leading_wildcard.begin(), a.leading_wildcard.end(), longest_first);
            std::stable_sort(a.trailing_wildcard.begin(), a.trailing_wildcard.end(), longest_first);
        }
        // The wildcard address's own servers go last: specific addresses first.
        std::stable_partition(g->addresses.begin(), g->addresses.end(),
                              [](const AddressServers& a) { return !is_wildcard(a.local); });
    }
    return true;
}

const AddressServers* find_address(const ListenGroup& group, const sockaddr* local,
                                   socklen_t length) {
    if (group.addresses.size() == 1 || local == nullptr) {
        return &group.addresses.back();
    }
    os::SocketAddress addr;
    std::memcpy(&addr.storage, local, std::min<std::size_t>(length, sizeof(addr.storage)));
    addr.length = length;
    for (const AddressServers& a : group.addresses) {
        if (a.local == addr) {
            return &a;
        }
    }
    return &group.addresses.back();  // the wildcard's servers
}

ServerConfig* find_server(const AddressServers& address, std::string_view host, core::Arena* arena,
                          Captures* captures) {
    if (!host.empty()) {
        for (const auto& [name, srv] : address.exact) {
            if (name == host) {
                return srv;
            }
        }
        for (const auto& [suffix, srv] : address.leading_wildcard) {
            // ".example.com" matches "www.example.com", not "example.com".
            if (host.size() > suffix.size() && host.ends_with(suffix)) {
                return srv;
            }
        }
        for (const auto& [prefix, srv] : address.trailing_wildcard) {
            if (host.size() > prefix.size() && host.starts_with(prefix)) {
                return srv;
            }
        }
        for (const auto& [re, srv] : address.regex) {
            if (re->match(host) != core::Status::ok) {
                continue;
            }
            if (captures != nullptr && arena != nullptr && re->capture_count() > 0) {
                // Out of memory only loses the captures; the server is still right.
                captures->save(*arena, *re, host);
            }
            return srv;
        }
    }
    return address.default_server;
}

namespace {

// What nginx's ngx_http_core_find_location() returns, and the search's state.
enum class Found { none, prefix, exact, regex, error };

struct Lookup {
    std::string_view path;
    core::Arena* arena;
    Captures* captures;
    std::string* error;
    LocationConfig* loc = nullptr;  // the location chosen so far
};

// The exact match or the longest prefix among the static children of `parent`.
LocationConfig* find_static(LocationConfig& parent, std::string_view path, bool* exact) {
    using Match = LocationConfig::Match;
    LocationConfig* best = nullptr;
    for (auto& child : parent.locations) {
        switch (child->match) {
            case Match::exact:
                if (path == child->pattern) {
                    *exact = true;
                    return child.get();
                }
                break;
            case Match::prefix:
            case Match::prefix_no_regex:
                if (path.starts_with(child->pattern) &&
                    (best == nullptr || child->pattern.size() > best->pattern.size())) {
                    best = child.get();
                }
                break;
            default:
                break;
        }
    }
    return best;
}

Found find_in(LocationConfig& parent, Lookup& l) {
    using Match = LocationConfig::Match;
    Found rc = Found::none;
    bool noregex = false;
    bool exact = false;
    if (LocationConfig* found = find_static(parent, l.path, &exact)) {
        l.loc = found;
        if (exact) {
            return Found::exact;
        }
        noregex = found->match == Match::prefix_no_regex;
        // The locations nested in the longest prefix refine it, their regexes first.
        rc = find_in(*found, l);
        if (rc == Found::exact || rc == Found::regex || rc == Found::error) {
            return rc;
        }
        rc = Found::prefix;
    }
    if (noregex) {
        return rc;
    }
    for (auto& child : parent.locations) {
        if (!child->regex) {
            continue;
        }
        const core::Status st = child->regex->match(l.path, l.error);
        if (st == core::Status::declined) {
            continue;
        }
        if (st != core::Status::ok) {
            return Found::error;
        }
        // Saved before the nested regexes run: their attempts reuse the match data.
        if (l.captures != nullptr && l.arena != nullptr && child->regex->capture_count() > 0 &&
            !l.captures->save(*l.arena, *child->regex, l.path)) {
            if (l.error != nullptr) {
                *l.error = "out of memory for the captures of \"" + child->pattern + "\"";
            }
            return Found::error;
        }
        l.loc = child.get();
        return find_in(*child, l) == Found::error ? Found::error : Found::regex;
    }
    return rc;
}

}  // namespace

LocationConfig* find_location(ServerConfig& server, std::string_view path, core::Arena* arena,
                              Captures* captures, std::string* error) {
    Lookup l{path, arena, captures, error};
    if (find_in(server.location, l) == Found::error) {
        return nullptr;
    }
    return l.loc != nullptr ? l.loc : &server.location;
}

LocationConfig* find_named_location(ServerConfig& server, std::string_view name) {
    for (auto& child : server.location.locations) {
        if (child->match == LocationConfig::Match::named && child->pattern == name) {
            return child.get();
        }
    }
    return nullptr;
}

// The directives that say where a server listens and which names it answers to.

namespace conf = core::conf;
using conf::Applier;
using conf::Directive;
using conf::Error;
using conf::Node;
using std::optional;

// listen address[:port] [default_server] [reuseport] [backlog=N] [rcvbuf=size]
//        [sndbuf=size] [deferred] [so_keepalive=on|off|idle:intvl:cnt]
//        [ipv6only=on|off] [fastopen=N] [notsent_lowat=size]
optional<Error> set_listen(Applier&, const Node& node, const Directive&, void* p) {
    auto* srv = static_cast<ServerConfig*>(p);
    ListenSpec spec;
    if (!os::SocketAddress::parse(node.args[1], 80, &spec.address) ||
        (spec.address.family() != AF_UNIX && spec.address.port() == 0)) {
        return node.error("invalid port in \"" + node.args[1] + "\" of the \"listen\" directive");
    }
    for (std::size_t i = 2; i < node.args.size(); ++i) {
        const std::string& a = node.args[i];
        const auto eq = a.find('=');
        const std::string key = a.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : a.substr(eq + 1);
        auto number = [&](int* out) {
            const auto n = key == "rcvbuf" || key == "sndbuf" || key == "notsent_lowat"
                               ? conf::parse_size(value)
                               : conf::parse_number(value);
            if (!n || *n > INT32_MAX) {
                return false;
            }
            *out = static_cast<int>(*n);
            return true;
        };
        bool ok = true;
        if (a == "default_server" || a == "default") {
            spec.default_server = true;
        } else if (a == "reuseport") {
            spec.options.reuseport = true;
        } else if (a == "deferred") {
            spec.options.deferred = true;
        } else if (a == "bind") {
            // Every address is bound separately here already.
        } else if (key == "backlog") {
            ok = number(&spec.options.backlog);
        } else if (key == "rcvbuf") {
            ok = number(&spec.options.rcvbuf);
        } else if (key == "sndbuf") {
            ok = number(&spec.options.sndbuf);
        } else if (key == "fastopen") {
            ok = number(&spec.options.fastopen);
        } else if (key == "notsent_lowat") {
            ok = number(&spec.options.notsent_lowat);
        } else if (key == "ipv6only") {
            const auto flag = conf::parse_flag(value);
            ok = flag.has_value();
            spec.options.ipv6only = flag.value_or(true) ? 1 : 0;
        } else if (key == "so_keepalive") {
            if (value == "on" || value == "off") {
                spec.options.so_keepalive = value == "on" ? 1 : 0;
            } else {
                // idle:intvl:cnt, each part optional, idle and intvl are times.
                spec.options.so_keepalive = 1;
                int* parts[] = {&spec.options.keepidle, &spec.options.keepintvl,
                                &spec.options.keepcnt};
                std::size_t start = 0;
                for (int k = 0; k < 3 && ok; ++k) {
                    const auto colon = value.find(':', start);
                    const std::string part = value.substr(start, colon - start);
                    if (!part.empty()) {
                        const auto n =
                            k < 2 ? conf::parse_sec(part)
                                  : optional<std::int64_t>(conf::parse_number(part).value_or(0));
                        ok = n.has_value() && *n > 0 && *n < 32768;
                        *parts[k] = static_cast<int>(n.value_or(0));
                    }
                    if (colon == std::string::npos) {
                        break;
                    }
                    start = colon + 1;
                }
            }
        } else if (a == "ssl" || a == "http2" || a == "quic" || a == "proxy_protocol") {
            return node.error("the \"" + a + "\" parameter is not supported by evserve");
        } else {
            return node.error("invalid parameter \"" + a + "\"");
        }
        if (!ok) {
            return node.error("invalid " + key + " \"" + value + "\"");
        }
    }
    for (const ListenSpec& other : srv->listens) {
        if (other.address == spec.address) {
            return node.error("duplicate listen " + node.args[1]);
        }
    }
    srv->listens.push_back(spec);
    return std::nullopt;
}

optional<Error> set_server_name(Applier&, const Node& node, const Directive&, void* p) {
    auto* srv = static_cast<ServerConfig*>(p);
    for (std::size_t i = 1; i < node.args.size(); ++i) {
        std::string name = node.args[i];
        if (name.empty() || (name[0] != '~' && name.find('/') != std::string::npos)) {
            return node.error("server name \"" + name + "\" is invalid");
        }
        if (name[0] != '~') {
            for (char& ch : name) {
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            }
        } else {
            if (name.size() == 1) {
                return node.error("empty regex in server name \"" + name + "\"");
            }
            // The host is lowercased before it is matched, so nginx compiles a pattern
            // caselessly when it has an uppercase letter (which could never match
            // otherwise), and as written when it has none.
            const std::string_view pattern = std::string_view(name).substr(1);
            const bool caseless = std::any_of(pattern.begin(), pattern.end(),
                                              [](char ch) { return ch >= 'A' && ch <= 'Z'; });
            std::string error;
            auto re = Regex::compile(pattern, caseless, &error);
            if (!re) {
                return node.error(std::move(error));
            }
            srv->name_regexes.push_back(std::move(re));
        }
        srv->names.push_back(std::move(name));
    }
    return std::nullopt;
}

}  // namespace evs::http
