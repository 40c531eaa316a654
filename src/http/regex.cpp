#include "http/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <atomic>

namespace evs::http {

namespace {

// The most groups (with group 0) of any pattern compiled so far. Patterns are compiled
// while the configuration is read, before the workers start, so a worker's match data
// is created once, at its first match, big enough for every pattern.
std::atomic<std::uint32_t> g_max_groups{1};

// One match data per thread. Created lazily (a worker that never matches a regex
// never allocates it) and grown only if a pattern with more groups appears later.
struct MatchScratch {
    pcre2_match_data* data = nullptr;
    std::uint32_t groups = 0;

    MatchScratch() = default;
    MatchScratch(const MatchScratch&) = delete;
    MatchScratch& operator=(const MatchScratch&) = delete;
    ~MatchScratch() {
        if (data != nullptr) {
            pcre2_match_data_free(data);
        }
    }

    pcre2_match_data* get(std::uint32_t need) {
        if (data == nullptr || groups < need) {
            const std::uint32_t size = std::max(need, g_max_groups.load(std::memory_order_relaxed));
            pcre2_match_data* fresh = pcre2_match_data_create(size, nullptr);
            if (fresh == nullptr) {
                return nullptr;
            }
            if (data != nullptr) {
                pcre2_match_data_free(data);
            }
            data = fresh;
            groups = size;
        }
        return data;
    }
};

thread_local MatchScratch t_scratch;

std::string error_text(int code) {
    PCRE2_UCHAR buf[256];
    const int n = pcre2_get_error_message(code, buf, sizeof(buf));
    if (n < 0) {
        return "unknown error " + std::to_string(code);
    }
    return std::string(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
}

}  // namespace

std::unique_ptr<Regex> Regex::compile(std::string_view pattern, bool caseless, std::string* error) {
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* compiled =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                      caseless ? PCRE2_CASELESS : 0, &code, &offset, nullptr);
    if (compiled == nullptr) {
        // nginx names the rest of the pattern from where PCRE2 stopped.
        const std::string_view at = pattern.substr(std::min(offset, pattern.size()));
        *error = "pcre2_compile() failed: " + error_text(code) + " in \"" + std::string(pattern) +
                 "\" at \"" + std::string(at) + "\"";
        return nullptr;
    }
    std::unique_ptr<Regex> re(new Regex());
    re->code_ = compiled;
    re->pattern_ = pattern;
    re->caseless_ = caseless;
    // Without JIT support (a build without it, or W^X memory policies) PCRE2 says so
    // here and the interpreter is used: slower, never wrong.
    re->jit_ = pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE) == 0;

    std::uint32_t captures = 0;
    pcre2_pattern_info(compiled, PCRE2_INFO_CAPTURECOUNT, &captures);
    re->captures_ = captures;
    std::uint32_t name_count = 0;
    std::uint32_t entry_size = 0;
    PCRE2_SPTR table = nullptr;
    pcre2_pattern_info(compiled, PCRE2_INFO_NAMECOUNT, &name_count);
    if (name_count > 0) {
        pcre2_pattern_info(compiled, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
        pcre2_pattern_info(compiled, PCRE2_INFO_NAMETABLE, &table);
        // Each entry: the group number in two bytes, big-endian, then the name and a NUL.
        for (std::uint32_t i = 0; i < name_count; ++i) {
            const PCRE2_SPTR entry = table + static_cast<std::size_t>(i) * entry_size;
            Name n;
            n.group = static_cast<std::uint32_t>(entry[0] << 8 | entry[1]);
            n.name = reinterpret_cast<const char*>(entry + 2);
            re->names_.push_back(std::move(n));
        }
    }
    std::uint32_t seen = g_max_groups.load(std::memory_order_relaxed);
    while (seen < captures + 1 &&
           !g_max_groups.compare_exchange_weak(seen, captures + 1, std::memory_order_relaxed)) {
    }
    return re;
}

Regex::~Regex() {
    pcre2_code_free(code_);
}

core::Status Regex::match(std::string_view subject, std::string* error) const {
    pcre2_match_data* data = t_scratch.get(captures_ + 1);
    if (data == nullptr) {
        if (error != nullptr) {
            *error = "pcre2_match_data_create() failed";
        }
        return core::Status::error;
    }
    // pcre2_jit_match() is the JIT fast path without pcre2_match()'s argument and UTF
    // checks (we use no UTF mode and pass a valid subject): about 30% fewer
    // instructions per location lookup. The match limit applies on both paths.
    // An empty view may have no data; PCRE2 10.42 rejects a null subject.
    const auto* text =
        reinterpret_cast<PCRE2_SPTR>(subject.data() != nullptr ? subject.data() : "");
    const int rc = jit_ ? pcre2_jit_match(code_, text, subject.size(), 0, 0, data, nullptr)
                        : pcre2_match(code_, text, subject.size(), 0, 0, data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) {
        return core::Status::declined;
    }
    if (rc < 0) {
        if (error != nullptr) {
            *error = "pcre2_match() failed: " + error_text(rc) + " on \"" + std::string(subject) +
                     "\" using \"" + pattern_ + "\"";
        }
        return core::Status::error;
    }
    // rc == 0 would mean the match data is too small, which get() rules out.
    return core::Status::ok;
}

const std::size_t* Regex::offsets() {
    return t_scratch.data == nullptr ? nullptr : pcre2_get_ovector_pointer(t_scratch.data);
}

std::string_view Captures::group(std::uint32_t n) const {
    if (regex == nullptr || n >= groups) {
        return {};
    }
    const std::size_t start = offsets[2 * n];
    const std::size_t end = offsets[2 * n + 1];
    if (start == PCRE2_UNSET || end < start || end > subject.size()) {
        return {};
    }
    return subject.substr(start, end - start);
}

std::string_view Captures::named(std::string_view name) const {
    if (regex == nullptr) {
        return {};
    }
    // Duplicate names ((?J)) give several entries: the first group that took part wins.
    for (const Regex::Name& n : regex->names()) {
        if (n.name == name) {
            const std::string_view value = group(n.group);
            if (value.data() != nullptr) {
                return value;
            }
        }
    }
    return {};
}

bool Captures::save(core::Arena& arena, const Regex& re, std::string_view text) {
    const std::uint32_t n = re.capture_count() + 1;
    const std::size_t* from = Regex::offsets();
    auto* to = static_cast<std::size_t*>(
        arena.allocate(2 * n * sizeof(std::size_t), alignof(std::size_t)));
    if (from == nullptr || to == nullptr) {
        return false;
    }
    std::copy(from, from + 2 * n, to);
    regex = &re;
    subject = text;
    offsets = to;
    groups = n;
    return true;
}

}  // namespace evs::http
