#include "http/header.hpp"

#include <array>
#include <cstdint>

namespace evs::http {

namespace {

struct KnownName {
    std::string_view name;
    KnownHeader header;
    bool unique;
};

// nginx's headers_in table, sorted by name length so that a lookup only looks at the names
// of the right length. Unique ones answer 400 when repeated; Host has its own rule
// (duplicate Host is also a 400) and is marked unique here for the same effect.
constexpr std::array<KnownName, k_known_header_count - 1> k_known = {{
    {"TE", KnownHeader::te, false},
    {"Via", KnownHeader::via, false},
    {"Host", KnownHeader::host, true},
    {"Date", KnownHeader::date, false},
    {"Range", KnownHeader::range, false},
    {"Depth", KnownHeader::depth, false},
    {"Expect", KnownHeader::expect, true},
    {"Accept", KnownHeader::accept, false},
    {"Cookie", KnownHeader::cookie, false},
    {"Referer", KnownHeader::referer, false},
    {"Upgrade", KnownHeader::upgrade, false},
    {"If-Match", KnownHeader::if_match, true},
    {"If-Range", KnownHeader::if_range, true},
    {"X-Real-IP", KnownHeader::x_real_ip, false},
    {"Overwrite", KnownHeader::overwrite, false},
    {"Connection", KnownHeader::connection, false},
    {"User-Agent", KnownHeader::user_agent, false},
    {"Keep-Alive", KnownHeader::keep_alive, false},
    {"Destination", KnownHeader::destination, false},
    {"Content-Type", KnownHeader::content_type, false},
    {"If-None-Match", KnownHeader::if_none_match, true},
    {"Content-Range", KnownHeader::content_range, true},
    {"Authorization", KnownHeader::authorization, true},
    {"Content-Length", KnownHeader::content_length, true},
    {"Accept-Encoding", KnownHeader::accept_encoding, false},
    {"Accept-Language", KnownHeader::accept_language, false},
    {"X-Forwarded-For", KnownHeader::x_forwarded_for, false},
    {"If-Modified-Since", KnownHeader::if_modified_since, true},
    {"Transfer-Encoding", KnownHeader::transfer_encoding, true},
    {"If-Unmodified-Since", KnownHeader::if_unmodified_since, true},
}};

constexpr std::size_t k_max_known_length = 19;  // "If-Unmodified-Since"

// first[n] .. first[n + 1]: the entries of k_known whose name has n bytes.
constexpr std::array<std::uint8_t, k_max_known_length + 2> make_first() {
    std::array<std::uint8_t, k_max_known_length + 2> first{};
    std::size_t i = 0;
    for (std::size_t n = 0; n <= k_max_known_length + 1; ++n) {
        while (i < k_known.size() && k_known[i].name.size() < n) {
            ++i;
        }
        first[n] = static_cast<std::uint8_t>(i);
    }
    return first;
}

constexpr auto k_first = make_first();

constexpr std::array<unsigned char, 256> make_lower() {
    std::array<unsigned char, 256> t{};
    for (int c = 0; c < 256; ++c) {
        t[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    }
    return t;
}

constexpr auto k_lower = make_lower();

constexpr bool sorted_by_length() {
    for (std::size_t i = 1; i < k_known.size(); ++i) {
        if (k_known[i - 1].name.size() > k_known[i].name.size()) {
            return false;
        }
    }
    return k_known.back().name.size() == k_max_known_length;
}
static_assert(sorted_by_length());

const KnownName* entry_for(KnownHeader header) {
    for (const KnownName& k : k_known) {
        if (k.header == header) {
            return &k;
        }
    }
    return nullptr;
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (k_lower[static_cast<unsigned char>(a[i])] !=
            k_lower[static_cast<unsigned char>(b[i])]) {
            return false;
        }
    }
    return true;
}

KnownHeader classify_header(std::string_view name) {
    if (name.size() > k_max_known_length) {
        return KnownHeader::none;
    }
    for (std::size_t i = k_first[name.size()]; i < k_first[name.size() + 1]; ++i) {
        if (equals_ignore_case(k_known[i].name, name)) {
            return k_known[i].header;
        }
    }
    return KnownHeader::none;
}

std::string_view known_header_name(KnownHeader header) {
    const KnownName* k = entry_for(header);
    return k ? k->name : std::string_view{};
}

bool is_unique_header(KnownHeader header) {
    const KnownName* k = entry_for(header);
    return k && k->unique;
}

ConnectionOption parse_connection_option(std::string_view value) {
    bool keep_alive = false;
    std::size_t i = 0;
    while (i <= value.size()) {
        std::size_t comma = value.find(',', i);
        if (comma == std::string_view::npos) {
            comma = value.size();
        }
        std::string_view token = value.substr(i, comma - i);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
            token.remove_prefix(1);
        }
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
            token.remove_suffix(1);
        }
        if (equals_ignore_case(token, "close")) {
            return ConnectionOption::close;
        }
        if (equals_ignore_case(token, "keep-alive")) {
            keep_alive = true;
        }
        i = comma + 1;
    }
    return keep_alive ? ConnectionOption::keep_alive : ConnectionOption::none;
}

}  // namespace evs::http
