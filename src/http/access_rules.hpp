#pragma once

// allow / deny: nginx's ngx_http_access_module.
//
//   allow 127.0.0.1;  deny 10.0.0.0/8;  allow 2001:db8::/32;  allow unix:;  deny all;
//
// The rules of a location are checked in order after the location is chosen (and after
// `return`, which nginx runs in an earlier phase), before the content handler; the
// first rule that matches the client's address decides, and a client no rule matches
// is let through. A denied request gets 403 and the error log line "access forbidden
// by rule". A level without rules takes all of the enclosing level's (nginx's merge);
// a level with any rule keeps only its own. An IPv4-mapped IPv6 client
// (::ffff:a.b.c.d) is checked against the IPv4 rules, as nginx does.
//
// Rules are plain values in LocationConfig, read-only after start-up; any thread.

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/conf_applier.hpp"

namespace evs::http {

struct Request;

struct AccessRule {
    enum class Family : std::uint8_t { inet, inet6, unix_domain, all };
    Family family = Family::all;
    bool deny = false;
    // Network byte order; IPv4 uses the first 4 bytes. addr has no bits outside mask.
    std::array<std::uint8_t, 16> addr{};
    std::array<std::uint8_t, 16> mask{};
};

// Parses an allow/deny argument: "all", "unix:", an IPv4 or IPv6 address, or either
// with "/prefix-length". Nothing for anything else. *low_bits is set when the address
// had bits set past the prefix (nginx warns and clears them, and so does this).
std::optional<AccessRule> parse_access_rule(std::string_view text, bool deny, bool* low_bits);

// Whether the client at `peer` may proceed: the first rule that matches decides; no
// match allows.
bool access_allowed(std::span<const AccessRule> rules, const sockaddr* peer);

// The setter of `allow` and `deny` (into a LocationConfig).
std::optional<core::conf::Error> set_access_rule(core::conf::Applier& applier,
                                                 const core::conf::Node& node,
                                                 const core::conf::Directive& directive,
                                                 void* conf);

// The access phase: true when the request may go on to its handler; otherwise it has
// been answered with 403 and logged.
bool check_access(Request* r);

}  // namespace evs::http
