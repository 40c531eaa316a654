#include "http/access_rules.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>

#include "event/loop.hpp"
#include "http/config.hpp"
#include "http/request.hpp"

namespace evs::http {

namespace {

using Family = AccessRule::Family;

// A mask of `bits` leading ones over `bytes` bytes.
void make_mask(std::array<std::uint8_t, 16>& mask, unsigned bits, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i) {
        if (bits >= 8) {
            mask[i] = 0xFF;
            bits -= 8;
        } else {
            mask[i] = static_cast<std::uint8_t>(0xFF00u >> bits);
            bits = 0;
        }
    }
}

bool matches(const AccessRule& rule, const std::uint8_t* addr, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i) {
        if ((addr[i] & rule.mask[i]) != rule.addr[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<AccessRule> parse_access_rule(std::string_view text, bool deny, bool* low_bits) {
    AccessRule rule;
    rule.deny = deny;
    *low_bits = false;
    if (text == "all") {
        rule.family = Family::all;
        return rule;
    }
    if (text == "unix:") {
        rule.family = Family::unix_domain;
        return rule;
    }

    std::string_view address = text;
    std::optional<unsigned> prefix;
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        address = text.substr(0, slash);
        const std::string_view digits = text.substr(slash + 1);
        if (digits.empty()) {
            return std::nullopt;
        }
        unsigned n = 0;
        for (char ch : digits) {
            if (ch < '0' || ch > '9' || n > 128) {
                return std::nullopt;
            }
            n = n * 10 + static_cast<unsigned>(ch - '0');
        }
        prefix = n;
    }
    if (address.empty() || address.size() >= INET6_ADDRSTRLEN) {
        return std::nullopt;
    }
    char buf[INET6_ADDRSTRLEN];
    address.copy(buf, address.size());
    buf[address.size()] = '\0';

    unsigned bytes = 0;
    if (::inet_pton(AF_INET, buf, rule.addr.data()) == 1) {
        rule.family = Family::inet;
        bytes = 4;
    } else if (::inet_pton(AF_INET6, buf, rule.addr.data()) == 1) {
        rule.family = Family::inet6;
        bytes = 16;
    } else {
        return std::nullopt;
    }
    const unsigned bits = prefix.value_or(bytes * 8);
    if (bits > bytes * 8) {
        return std::nullopt;
    }
    make_mask(rule.mask, bits, bytes);
    for (unsigned i = 0; i < bytes; ++i) {
        if ((rule.addr[i] & ~rule.mask[i]) != 0) {
            *low_bits = true;
            rule.addr[i] &= rule.mask[i];
        }
    }
    return rule;
}

bool access_allowed(std::span<const AccessRule> rules, const sockaddr* peer) {
    Family family = Family::unix_domain;
    const std::uint8_t* addr = nullptr;
    unsigned bytes = 0;
    if (peer->sa_family == AF_INET) {
        family = Family::inet;
        addr = reinterpret_cast<const std::uint8_t*>(
            &reinterpret_cast<const sockaddr_in*>(peer)->sin_addr);
        bytes = 4;
    } else if (peer->sa_family == AF_INET6) {
        addr = reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr.s6_addr;
        static constexpr std::uint8_t k_v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (std::memcmp(addr, k_v4_mapped, sizeof(k_v4_mapped)) == 0) {
            family = Family::inet;
            addr += 12;
            bytes = 4;
        } else {
            family = Family::inet6;
            bytes = 16;
        }
    }
    for (const AccessRule& rule : rules) {
        if (rule.family == Family::all ||
            (rule.family == family && (bytes == 0 || matches(rule, addr, bytes)))) {
            return !rule.deny;
        }
    }
    return true;
}

std::optional<core::conf::Error> set_access_rule(core::conf::Applier&, const core::conf::Node& node,
                                                 const core::conf::Directive& directive,
                                                 void* conf) {
    auto* loc = static_cast<LocationConfig*>(conf);
    bool low_bits = false;
    const auto rule = parse_access_rule(node.args[1], directive.name == "deny", &low_bits);
    if (!rule) {
        return node.error("invalid parameter \"" + node.args[1] + "\"");
    }
    if (low_bits) {
        // As nginx: a warning, and the rule applies to the network.
        std::fprintf(stderr, "evserve: [warn] low address bits of %s are meaningless in %.*s:%u\n",
                     node.args[1].c_str(), static_cast<int>(node.file.size()), node.file.data(),
                     node.line);
    }
    loc->access_rules.push_back(*rule);
    return std::nullopt;
}

bool check_access(Request* r) {
    const std::vector<AccessRule>& rules = r->loc->access_rules;
    if (rules.empty() || access_allowed(rules, &r->c->peer.addr.sa)) {
        return true;
    }
    core::Log& log = r->c->loop->log();
    if (log.enabled(core::LogLevel::error)) {
        log.write_conn(core::LogLevel::error, 0, r->c->number, request_log_context, r,
                       "access forbidden by rule");
    }
    finalize_request(r, 403);
    return false;
}

}  // namespace evs::http
