#include "http/uri.hpp"

namespace evs::http {

namespace {

// Where the output stands relative to the current segment. The invariant that makes the
// ".." handling safe: in `slash` the output ends with '/', in `dot` with "/.", in `dot_dot`
// with "/..". Only `usual` tracks the extension, so the extension always lies inside the
// last segment and is never cut by a ".." step.
enum class Segment : unsigned char { usual, slash, dot, dot_dot };

constexpr std::size_t k_none = std::string_view::npos;

int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    const unsigned char lower = c | 0x20;
    if (lower >= 'a' && lower <= 'f') {
        return lower - 'a' + 10;
    }
    return -1;
}

class Normalizer {
public:
    Normalizer(char* out, bool merge_slashes) : out_(out), merge_slashes_(merge_slashes) {}

    // Feeds one path byte, raw or decoded. False when a ".." climbs above the root.
    bool put(unsigned char c) {
        switch (segment_) {
            case Segment::usual:
                if (c == '/') {
                    exten_ = k_none;
                    segment_ = Segment::slash;
                } else if (c == '.') {
                    exten_ = length_ + 1;
                }
                out_[length_++] = static_cast<char>(c);
                return true;
            case Segment::slash:
                if (c == '/') {
                    if (!merge_slashes_) {
                        out_[length_++] = '/';
                    }
                    return true;
                }
                segment_ = c == '.' ? Segment::dot : Segment::usual;
                out_[length_++] = static_cast<char>(c);
                return true;
            case Segment::dot:
                if (c == '/') {
                    --length_;  // "/./" -> "/"
                    segment_ = Segment::slash;
                    return true;
                }
                segment_ = c == '.' ? Segment::dot_dot : Segment::usual;
                out_[length_++] = static_cast<char>(c);
                return true;
            case Segment::dot_dot:
                if (c == '/') {
                    segment_ = Segment::slash;
                    return drop_parent();
                }
                segment_ = Segment::usual;
                out_[length_++] = static_cast<char>(c);
                return true;
        }
        return false;
    }

    // A decoded '%', '#' or '?': data, never syntax.
    void put_literal(unsigned char c) {
        segment_ = Segment::usual;
        out_[length_++] = static_cast<char>(c);
    }

    // The path ended (end of input, '?' or '#'): a trailing "." or ".." still counts.
    bool finish() {
        if (segment_ == Segment::dot) {
            --length_;
        } else if (segment_ == Segment::dot_dot) {
            return drop_parent();
        }
        return true;
    }

    std::size_t length() const { return length_; }

    std::string_view exten() const {
        if (exten_ == k_none || exten_ > length_) {
            return {};
        }
        return {out_ + exten_, length_ - exten_};
    }

private:
    // The output ends with "/..": remove it and the segment before it, keeping that
    // segment's leading '/'. There must be such a segment: "/.." alone is above the root.
    bool drop_parent() {
        if (length_ < 4) {
            return false;
        }
        std::size_t k = length_ - 4;
        while (out_[k] != '/') {
            if (k == 0) {
                return false;
            }
            --k;
        }
        length_ = k + 1;
        return true;
    }

    char* out_;
    std::size_t length_ = 0;
    std::size_t exten_ = k_none;
    Segment segment_ = Segment::usual;
    bool merge_slashes_;
};

}  // namespace

core::Status normalize_uri(std::string_view raw, char* out, bool merge_slashes,
                           NormalizedUri& result) {
    result = {};
    if (raw.empty() || (raw[0] != '/' && raw[0] != '?')) {
        return core::Status::error;
    }
    Normalizer path(out, merge_slashes);
    if (raw[0] == '?') {
        path.put('/');
    }

    std::size_t i = 0;
    while (i < raw.size()) {
        const auto c = static_cast<unsigned char>(raw[i]);
        if (c == '%') {
            if (i + 2 >= raw.size()) {
                return core::Status::error;
            }
            const int high = hex_value(static_cast<unsigned char>(raw[i + 1]));
            const int low = hex_value(static_cast<unsigned char>(raw[i + 2]));
            if (high < 0 || low < 0) {
                return core::Status::error;
            }
            const auto decoded = static_cast<unsigned char>(high * 16 + low);
            i += 3;
            if (decoded == '\0') {
                return core::Status::error;
            }
            if (decoded == '%' || decoded == '#' || decoded == '?') {
                path.put_literal(decoded);
            } else if (!path.put(decoded)) {
                return core::Status::error;
            }
            continue;
        }
        if (c == '?') {
            // The arguments run to the first raw '#' after them, as nginx cuts a fragment.
            std::string_view args = raw.substr(i + 1);
            const std::size_t hash = args.find('#');
            result.args = hash == std::string_view::npos ? args : args.substr(0, hash);
            break;
        }
        if (c == '#') {
            break;
        }
        if (!path.put(c)) {
            return core::Status::error;
        }
        ++i;
    }
    if (!path.finish()) {
        return core::Status::error;
    }
    result.path_length = path.length();
    result.exten = path.exten();
    return core::Status::ok;
}

}  // namespace evs::http
