#pragma once

// Regex: a PCRE2 pattern compiled at configuration time, for `location ~` / `~*` and
// `server_name ~...` (nginx's ngx_regex_t).
//
// Patterns are JIT-compiled when PCRE2 supports it on this machine, and silently fall
// back to the interpreter when it does not. Matching allocates nothing: the match
// data lives once per thread (one per worker), sized at configuration time for the
// pattern with the most groups, so a request never mallocs to test a location.
//
// The offsets of a match stay in that per-thread match data only until the next match
// on the thread; Captures::save() copies them into the request's arena, where later
// variables ($1, $name) can read them.
//
// Ownership: a Regex owns its compiled code; the configuration owns the Regex. Compile
// in the master while reading the configuration; match on any thread (the code is
// read-only, the match data is the thread's own).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/arena.hpp"
#include "core/status.hpp"

struct pcre2_real_code_8;  // pcre2.h's pcre2_code, kept out of every including file

namespace evs::http {

class Regex {
public:
    struct Name {
        std::string name;
        std::uint32_t group = 0;
    };

    // Compiles `pattern`; nullptr with nginx's message in *error on failure:
    //   pcre2_compile() failed: missing closing parenthesis in "(foo" at ""
    static std::unique_ptr<Regex> compile(std::string_view pattern, bool caseless,
                                          std::string* error);

    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // ok: `subject` matches, and offsets() describes the match until the next match on
    // this thread; declined: no match; error: PCRE2 gave up (match limit, JIT stack,
    // no memory), with its message in *error when error is not null.
    core::Status match(std::string_view subject, std::string* error = nullptr) const;

    // The offsets of this thread's last successful match: a start and an end per group,
    // group 0 (the whole match) first; PCRE2_UNSET (SIZE_MAX) for a group that did not
    // take part. 2 * (capture_count() + 1) entries.
    static const std::size_t* offsets();

    const std::string& pattern() const { return pattern_; }
    bool caseless() const { return caseless_; }
    std::uint32_t capture_count() const { return captures_; }
    const std::vector<Name>& names() const { return names_; }
    bool jit() const { return jit_; }

private:
    Regex() = default;

    pcre2_real_code_8* code_ = nullptr;
    std::string pattern_;
    std::vector<Name> names_;
    std::uint32_t captures_ = 0;
    bool caseless_ = false;
    bool jit_ = false;
};

// The groups of one match, kept for the rest of the request: $0..$N and the named
// groups. `subject` must outlive the request's use of it (the URI and the host are in
// the request's arena). A plain value; empty (no regex matched) by default.
struct Captures {
    const Regex* regex = nullptr;
    std::string_view subject;
    const std::size_t* offsets = nullptr;  // 2 * groups, in the request's arena
    std::uint32_t groups = 0;              // $0 .. $(groups - 1)

    bool empty() const { return regex == nullptr; }

    // Group `n` ("" when out of range or unset), and a named group ("" when unknown).
    std::string_view group(std::uint32_t n) const;
    std::string_view named(std::string_view name) const;

    // Copies the offsets of this thread's last match of `regex` on `subject` into
    // `arena`; false when the arena is out of memory.
    bool save(core::Arena& arena, const Regex& re, std::string_view text);
};

}  // namespace evs::http
