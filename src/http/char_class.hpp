#pragma once

// Character classes for the HTTP/1.x parsers: 256-entry tables, so that the hot loops test
// one byte with one load, as nginx's "usual" bitmap and lowcase table do. Internal to
// src/http; nothing here allocates or keeps state.

#include <array>
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace evs::http::char_class {

using Table = std::array<std::uint8_t, 256>;

// URI bytes that need no attention (nginx's "usual" set): everything but controls, space,
// DEL and '#', '%', '+', '.', '/', '?'. Bytes >= 0x80 are usual: URIs may carry raw UTF-8.
constexpr Table make_usual() {
    Table t{};
    for (int c = 0x21; c < 0x7f; ++c) {
        t[c] = 1;
    }
    for (int c = 0x80; c < 0x100; ++c) {
        t[c] = 1;
    }
    for (unsigned char c : {'#', '%', '+', '.', '/', '?'}) {
        t[c] = 0;
    }
    return t;
}

// Header name bytes: 1 for the ones nginx lowercases and hashes ('-', digits, letters),
// 2 for '_' (valid only with underscores_in_headers), 0 for the rest.
constexpr Table make_name() {
    Table t{};
    t['-'] = 1;
    for (int c = '0'; c <= '9'; ++c) {
        t[c] = 1;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        t[c] = 1;
        t[c - 0x20] = 1;
    }
    t['_'] = 2;
    return t;
}

inline constexpr Table k_usual = make_usual();
inline constexpr Table k_name = make_name();

constexpr bool is_alpha(unsigned char c) {
    const unsigned char lower = c | 0x20;
    return lower >= 'a' && lower <= 'z';
}

constexpr bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}

constexpr bool is_method_char(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
}

constexpr bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

// The first index at or after `i` whose byte is not marked 1 in `table`, or `len`.
inline std::size_t skip(const unsigned char* p, std::size_t i, std::size_t len,
                        const Table& table) {
    while (i < len && table[p[i]] == 1) {
        ++i;
    }
    return i;
}

// The first index at or after `i` whose byte is CR, LF or NUL, or `len`: the end of a
// header value. Values (User-Agent, Cookie) are the longest part of most request heads, so
// with SSE2 this looks at 16 bytes per step.
inline std::size_t find_line_end(const unsigned char* p, std::size_t i, std::size_t len) {
#if defined(__SSE2__)
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i nul = _mm_setzero_si128();
    while (i + 16 <= len) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)),
                                         _mm_cmpeq_epi8(v, nul));
        const int mask = _mm_movemask_epi8(hit);
        if (mask != 0) {
            return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
        }
        i += 16;
    }
#endif
    while (i < len && p[i] != '\r' && p[i] != '\n' && p[i] != '\0') {
        ++i;
    }
    return i;
}

}  // namespace evs::http::char_class
