// normalize_uri(): nginx's decoding and dot-segment rules, a path-traversal corpus that must
// never leave the root, and a randomized comparison against an independent model written
// segment by segment (decode, split, then resolve "." and ".." on a stack).

#include "http/uri.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace evs::http {
namespace {

struct Result {
    bool ok = false;
    std::string path;
    std::string exten;
    std::string args;
};

Result normalize(std::string_view raw, bool merge_slashes = true) {
    std::string out(raw.size() + 1, '\0');
    NormalizedUri n;
    Result r;
    r.ok = normalize_uri(raw, out.data(), merge_slashes, n) == core::Status::ok;
    if (r.ok) {
        EXPECT_LE(n.path_length, raw.size() + 1);
        r.path = out.substr(0, n.path_length);
        r.exten = std::string(n.exten);
        r.args = std::string(n.args);
    }
    return r;
}

TEST(UriNormalize, PlainPathsAreCopied) {
    EXPECT_EQ(normalize("/").path, "/");
    EXPECT_EQ(normalize("/index.html").path, "/index.html");
    EXPECT_EQ(normalize("/index.html").exten, "html");
    EXPECT_EQ(normalize("/a.tar.gz").exten, "gz");
    EXPECT_EQ(normalize("/dir.d/file").exten, "");
    EXPECT_EQ(normalize("/file.").exten, "");
    EXPECT_EQ(normalize("/caf\xc3\xa9").path, "/caf\xc3\xa9");
}

TEST(UriNormalize, DotSegments) {
    EXPECT_EQ(normalize("/a/./b").path, "/a/b");
    EXPECT_EQ(normalize("/a/../b").path, "/b");
    EXPECT_EQ(normalize("/a/b/..").path, "/a/");
    EXPECT_EQ(normalize("/a/b/.").path, "/a/b/");
    EXPECT_EQ(normalize("/a/..").path, "/");
    EXPECT_EQ(normalize("/.").path, "/");
    EXPECT_EQ(normalize("/./.././").ok, false);
    EXPECT_EQ(normalize("/...").path, "/...");
    EXPECT_EQ(normalize("/..a/.b/a..").path, "/..a/.b/a..");
    EXPECT_EQ(normalize("/.hidden").exten, "");
    EXPECT_EQ(normalize("/.hidden.txt").exten, "txt");
    EXPECT_EQ(normalize("/a/b/../../c/./d.png").path, "/c/d.png");
    EXPECT_EQ(normalize("/a/b/../../c/./d.png").exten, "png");
}

TEST(UriNormalize, AboveTheRootIsAnError) {
    for (const char* raw :
         {"/..", "/../", "/../a", "/a/../..", "/a/../../b", "/./..", "//..", "/%2e%2e", "/%2E%2E/",
          "/.%2e/x", "/a/%2e%2e/%2e%2e/x", "/a%2f..%2f..%2fb", "/..?x", "/..#x"}) {
        EXPECT_FALSE(normalize(raw).ok) << raw;
    }
}

TEST(UriNormalize, MergeSlashes) {
    EXPECT_EQ(normalize("//a///b//").path, "/a/b/");
    EXPECT_EQ(normalize("//a///b//", false).path, "//a///b//");
    // Without merging, ".." removes the empty segment between two slashes, as in nginx.
    EXPECT_EQ(normalize("/a//../b", false).path, "/a/b");
    EXPECT_EQ(normalize("/a//../b", true).path, "/b");
    EXPECT_EQ(normalize("//..", false).path, "/");
}

TEST(UriNormalize, PercentDecoding) {
    EXPECT_EQ(normalize("/%41%62c").path, "/Abc");
    EXPECT_EQ(normalize("/a%20b").path, "/a b");
    EXPECT_EQ(normalize("/a%2Fb").path, "/a/b") << "a decoded slash is a slash";
    EXPECT_EQ(normalize("/a%2F%2Fb").path, "/a/b") << "and decoded slashes merge";
    EXPECT_EQ(normalize("/a%2F%2Fb", false).path, "/a//b");
    EXPECT_EQ(normalize("/x/%2e/y").path, "/x/y") << "a decoded dot is a dot";
    EXPECT_EQ(normalize("/f%2Etxt").exten, "txt");
    EXPECT_EQ(normalize("/%252e%252e").path, "/%2e%2e") << "decoded once only";
    EXPECT_EQ(normalize("/a%3Fb").path, "/a?b") << "a decoded '?' is data";
    EXPECT_EQ(normalize("/a%3Fb").args, "");
    EXPECT_EQ(normalize("/a%23b").path, "/a#b") << "a decoded '#' is data";
    EXPECT_EQ(normalize("/a%0Ab").path, "/a\nb") << "only NUL is refused";
    EXPECT_EQ(normalize("/%c0%ae%c0%ae/x").path, "/\xc0\xae\xc0\xae/x");
    EXPECT_EQ(normalize("/%ff").path, "/\xff");
    EXPECT_EQ(normalize("/a+b").path, "/a+b");
}

TEST(UriNormalize, BadEscapes) {
    for (const char* raw : {"/%00", "/a%00b", "/%", "/%4", "/%4g", "/%g4", "/%%41", "/a%2"}) {
        EXPECT_FALSE(normalize(raw).ok) << raw;
    }
    EXPECT_TRUE(normalize("/a?%zz").ok) << "the arguments are not decoded";
}

TEST(UriNormalize, ArgumentsAndFragment) {
    Result r = normalize("/p.php?a=1&b=%20#frag");
    EXPECT_EQ(r.path, "/p.php");
    EXPECT_EQ(r.exten, "php");
    EXPECT_EQ(r.args, "a=1&b=%20");
    r = normalize("/a/.?x");
    EXPECT_EQ(r.path, "/a/");
    EXPECT_EQ(r.args, "x");
    r = normalize("/a/b/..?x");
    EXPECT_EQ(r.path, "/a/");
    r = normalize("/a#b?c");
    EXPECT_EQ(r.path, "/a");
    EXPECT_EQ(r.args, "");
    r = normalize("/a?");
    EXPECT_EQ(r.path, "/a");
    EXPECT_EQ(r.args, "");
    r = normalize("?q=1");
    EXPECT_EQ(r.path, "/") << "an absolute-form URI with an empty path";
    EXPECT_EQ(r.args, "q=1");
}

TEST(UriNormalize, InputMustBeOriginForm) {
    EXPECT_FALSE(normalize("").ok);
    EXPECT_FALSE(normalize("a/b").ok);
    EXPECT_FALSE(normalize("%2fa").ok);
}

// ---- traversal: whatever the path, root + path stays inside root ----

bool stays_inside_root(const std::string& path) {
    if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos) {
        return false;
    }
    // No "." or ".." segment may survive.
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) {
            end = path.size();
        }
        const std::string_view segment(path.data() + start, end - start);
        if (segment == "." || segment == "..") {
            return false;
        }
        start = end + 1;
    }
    const std::filesystem::path root = "/srv/www";
    const std::string joined = (root.string() + path);
    const std::string normal = std::filesystem::path(joined).lexically_normal().string();
    return normal.rfind("/srv/www", 0) == 0;
}

TEST(UriTraversal, CorpusNeverLeavesTheRoot) {
    const char* corpus[] = {
        "/../../../etc/passwd",
        "/a/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/..%2f..%2fetc%2fpasswd",
        "/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
        "/..\\..\\etc\\passwd",
        "/%252e%252e/%252e%252e/etc/passwd",
        "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
        "/%e0%80%ae%e0%80%ae/etc/passwd",
        "/%c0%af..%c0%af..%c0%afetc/passwd",
        "/..%c0%af../etc/passwd",
        "/.%2e/.%2e/etc/passwd",
        "/%2e./%2e./etc/passwd",
        "/static/..%00/etc/passwd",
        "/static/%00../../etc/passwd",
        "/./././../etc/passwd",
        "/a/b/c/../../../../etc/passwd",
        "/a/b/c/../../../etc/passwd",
        "//..//..//etc/passwd",
        "/a//..//..//etc/passwd",
        "/...//....//etc/passwd",
        "/a/%2e%2e%2f%2e%2e%2fetc/passwd",
        "/a/.%00./etc",
        "/a/..;/..;/etc/passwd",
        "/%u002e%u002e/etc/passwd",
        "/%2e%2e%2f",
        "/a/b%2f%2e%2e%2f%2e%2e%2f%2e%2e",
        "/a/.. /etc",
        "/.../.../etc",
        "/a/b/..%3f/..%3f/etc",
        "/a/b/..%23/etc",
        "/a/b/..%25/etc",
    };
    int refused = 0;
    for (const char* raw : corpus) {
        for (bool merge : {true, false}) {
            const Result r = normalize(raw, merge);
            if (!r.ok) {
                ++refused;
                continue;
            }
            EXPECT_TRUE(stays_inside_root(r.path)) << raw << " -> " << r.path;
        }
    }
    EXPECT_GE(refused, 20) << "most of these are refused outright with a 400";
}

// ---- an independent model: decode, split at separators, resolve on a stack ----

struct Byte {
    unsigned char c;
    bool data;  // a decoded '%', '#' or '?': never syntax
};

std::optional<Result> model(std::string_view raw, bool merge_slashes) {
    if (raw.empty() || (raw[0] != '/' && raw[0] != '?')) {
        return std::nullopt;
    }
    Result r;
    std::vector<Byte> bytes;
    if (raw[0] == '?') {
        bytes.push_back({'/', false});
    }
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '?') {
            r.args = std::string(raw.substr(i + 1));
            r.args = r.args.substr(0, r.args.find('#'));
            break;
        }
        if (c == '#') {
            break;
        }
        if (c != '%') {
            bytes.push_back({static_cast<unsigned char>(c), false});
            continue;
        }
        if (i + 2 >= raw.size() || !std::isxdigit(static_cast<unsigned char>(raw[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
            return std::nullopt;
        }
        const auto d =
            static_cast<unsigned char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
        if (d == 0) {
            return std::nullopt;
        }
        bytes.push_back({d, d == '%' || d == '#' || d == '?'});
        i += 2;
    }

    // Split after the leading '/' at every syntactic '/'.
    std::vector<std::vector<Byte>> segments(1);
    for (std::size_t i = 1; i < bytes.size(); ++i) {
        if (bytes[i].c == '/' && !bytes[i].data) {
            segments.emplace_back();
        } else {
            segments.back().push_back(bytes[i]);
        }
    }
    auto text = [](const std::vector<Byte>& s) {
        std::string t;
        for (Byte b : s) {
            t += static_cast<char>(b.c);
        }
        return t;
    };
    std::vector<std::vector<Byte>> stack;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const bool last = i + 1 == segments.size();
        const std::string t = text(segments[i]);
        if (t == "." || t == "..") {
            if (t == "..") {
                if (stack.empty()) {
                    return std::nullopt;
                }
                stack.pop_back();
            }
            if (last) {
                stack.emplace_back();
            }
        } else if (t.empty() && merge_slashes && !last) {
            // a run of slashes is one
        } else {
            stack.push_back(segments[i]);
        }
    }
    r.ok = true;
    r.path = "/";
    for (std::size_t i = 0; i < stack.size(); ++i) {
        r.path += (i ? "/" : "") + text(stack[i]);
    }
    // The extension: after the last '.' of the last segment that nginx reads in its
    // "usual" state, i.e. not one of a leading "." or ".." (nor the byte after them).
    if (!stack.empty()) {
        const std::vector<Byte>& s = stack.back();
        std::size_t usual_from = 1;
        if (!s.empty() && s[0].c == '.' && !s[0].data) {
            usual_from = (s.size() > 1 && s[1].c == '.' && !s[1].data) ? 3 : 2;
        }
        for (std::size_t i = s.size(); i-- > usual_from;) {
            if (s[i].c == '.' && !s[i].data) {
                r.exten = text(std::vector<Byte>(s.begin() + static_cast<long>(i) + 1, s.end()));
                break;
            }
        }
    }
    return r;
}

TEST(UriNormalize, MatchesTheSegmentModelOnRandomInput) {
    const char* pieces[] = {"/",   "/",      "/",   ".",   ".",   "..",  "a",    "b.c", "%2e",
                            "%2E", "%2f",    "%2F", "%25", "%23", "%3f", "%3F",  "%00", "%",
                            "%4",  "%c0%ae", "?",   "#",   "x",   "%41", ".txt", "+",   "\xc3\xa9"};
    std::mt19937 rng(12345);
    std::uniform_int_distribution<std::size_t> pick(0, std::size(pieces) - 1);
    std::uniform_int_distribution<int> length(0, 12);
    int compared = 0;
    int valid = 0;
    for (int n = 0; n < 100000; ++n) {
        std::string raw = (n % 50 == 0) ? "?" : "/";
        for (int k = length(rng); k > 0; --k) {
            raw += pieces[pick(rng)];
        }
        for (bool merge : {true, false}) {
            const Result got = normalize(raw, merge);
            const std::optional<Result> want = model(raw, merge);
            ASSERT_EQ(got.ok, want.has_value()) << raw << " merge=" << merge;
            ++compared;
            if (!got.ok) {
                continue;
            }
            ++valid;
            ASSERT_EQ(got.path, want->path) << raw << " merge=" << merge;
            ASSERT_EQ(got.exten, want->exten) << raw << " merge=" << merge;
            ASSERT_EQ(got.args, want->args) << raw;
            ASSERT_TRUE(stays_inside_root(got.path)) << raw << " -> " << got.path;
        }
    }
    EXPECT_EQ(compared, 200000);
    EXPECT_GT(valid, 50000) << "the generator must reach valid paths too";
}

}  // namespace
}  // namespace evs::http
