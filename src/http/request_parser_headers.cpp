// RequestParser's header-line states, with nginx's rules: names of letters, digits and '-'
// ('_' only with underscores_in_headers; other bytes make the line invalid, and with
// ignore_invalid_headers it is dropped), no space or control byte in a name (that includes
// obs-fold, a line starting with a space), values trimmed of spaces and tabs, NUL refused.
// What a finished line means (known headers, Host, duplicates) is finish_header_line()'s.

#include "http/char_class.hpp"
#include "http/request_parser.hpp"

namespace evs::http {

using namespace char_class;

core::Status RequestParser::parse_header_lines(const unsigned char* p, std::size_t len) {
    for (std::size_t i = pos_; i < len; ++i) {
        unsigned char ch = p[i];

        switch (state_) {
            case State::header_start:
                name_start_ = i;
                invalid_header_ = false;
                if (ch == '\r') {
                    state_ = State::headers_almost_done;
                    break;
                }
                if (ch == '\n') {
                    return finish_headers(i);
                }
                state_ = State::header_name;
                if (k_name[ch] == 1) {
                    break;
                }
                if (ch == '_') {
                    invalid_header_ = !settings_.underscores_in_headers;
                    break;
                }
                // A line that starts with a space is obs-fold, which nginx refuses.
                if (ch <= 0x20 || ch == 0x7f || ch == ':') {
                    return fail(ParseError::invalid_header, i);
                }
                invalid_header_ = true;
                break;

            case State::header_name:
                i = skip(p, i, len, k_name);
                if (i == len) {
                    --i;
                    break;
                }
                ch = p[i];
                if (ch == '_') {
                    if (!settings_.underscores_in_headers) {
                        invalid_header_ = true;
                    }
                    break;
                }
                if (ch == ':') {
                    name_end_ = i;
                    state_ = State::space_before_value;
                    break;
                }
                if (ch == '\r' || ch == '\n') {
                    // "Name" alone on its line: nginx takes it as a header with an empty value.
                    name_end_ = value_start_ = value_end_ = i;
                    if (ch == '\r') {
                        state_ = State::header_almost_done;
                        break;
                    }
                    const core::Status s = finish_header_line(i);
                    if (s != core::Status::again) {
                        return s;
                    }
                    break;
                }
                // A space before the colon, or a control byte: refused, as in nginx >= 1.21.1.
                if (ch <= 0x20 || ch == 0x7f) {
                    return fail(ParseError::invalid_header, i);
                }
                invalid_header_ = true;
                break;

            case State::space_before_value:
                switch (ch) {
                    case ' ':
                    case '\t':
                        break;
                    case '\r':
                        value_start_ = value_end_ = i;
                        state_ = State::header_almost_done;
                        break;
                    case '\n': {
                        value_start_ = value_end_ = i;
                        const core::Status s = finish_header_line(i);
                        if (s != core::Status::again) {
                            return s;
                        }
                        break;
                    }
                    case '\0':
                        return fail(ParseError::invalid_header, i);
                    default:
                        value_start_ = i;
                        state_ = State::header_value;
                        break;
                }
                break;

            case State::header_value:
                // Only CR, LF and NUL matter inside a value; trailing spaces and tabs are
                // trimmed once the line ends, when all of it is in the buffer.
                i = find_line_end(p, i, len);
                if (i == len) {
                    --i;
                    break;
                }
                ch = p[i];
                if (ch == '\0') {
                    return fail(ParseError::invalid_header, i);
                }
                value_end_ = i;
                while (p[value_end_ - 1] == ' ' || p[value_end_ - 1] == '\t') {
                    --value_end_;  // stops at value_start_, which is neither
                }
                if (ch == '\r') {
                    state_ = State::header_almost_done;
                    break;
                }
                {
                    const core::Status s = finish_header_line(i);
                    if (s != core::Status::again) {
                        return s;
                    }
                }
                break;

            case State::header_almost_done:
                if (ch == '\r') {
                    break;  // nginx tolerates "\r\r\n"
                }
                if (ch != '\n') {
                    return fail(ParseError::invalid_header, i);
                }
                {
                    const core::Status s = finish_header_line(i);
                    if (s != core::Status::again) {
                        return s;
                    }
                }
                break;

            case State::headers_almost_done:
                if (ch != '\n') {
                    return fail(ParseError::invalid_header, i);
                }
                return finish_headers(i);

            default:
                return core::Status::error;  // not a header-line state: unreachable
        }
    }
    pos_ = len;
    return core::Status::again;
}

}  // namespace evs::http
