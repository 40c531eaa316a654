// RequestParser's request-line states: method, URI (origin or absolute form) and version,
// with nginx's rules. While scanning the URI it notes whether the path needs the full
// normalisation (an escape, "/.", "//" or '#'), so that most requests use the path where it
// lies in the buffer. Finishing the line (views, URI normalisation, host) happens in
// finish_request_line(); this file only moves between states.

#include "http/char_class.hpp"
#include "http/request_parser.hpp"

namespace evs::http {

using namespace char_class;

core::Status RequestParser::parse_request_line(const unsigned char* p, std::size_t len) {
    // Where the URI may start right after the host of an absolute-form URI.
    // Where the request line's URI may start right after the host of an absolute-form URI.
    auto uri_after_host = [this](unsigned char c, std::size_t i) {
        switch (c) {
            case '/':
                uri_start_ = i;
                state_ = State::after_slash_in_uri;
                return true;
            case '?':
                uri_start_ = i;
                args_start_ = i + 1;
                empty_path_ = true;
                state_ = State::uri;
                return true;
            case ' ':
                // "GET http://host HTTP/1.1": the path is "/", and the last '/' of "://"
                // serves as its text, so the URI stays a view into the request line.
                uri_start_ = schema_end_ + 1;
                uri_end_ = schema_end_ + 2;
                state_ = State::http_09;
                return true;
            default:
                return false;
        }
    };

    for (std::size_t i = pos_; i < len; ++i) {
        unsigned char ch = p[i];

        switch (state_) {
            case State::start:
                request_start_ = i;
                if (ch == '\r' || ch == '\n') {
                    break;
                }
                if (!is_method_char(ch)) {
                    return fail(ParseError::invalid_method, i);
                }
                state_ = State::method;
                break;

            case State::method:
                if (ch == ' ') {
                    method_end_ = i;
                    state_ = State::spaces_before_uri;
                    break;
                }
                if (!is_method_char(ch)) {
                    return fail(ParseError::invalid_method, i);
                }
                break;

            case State::spaces_before_uri:
                if (ch == '/') {
                    uri_start_ = i;
                    state_ = State::after_slash_in_uri;
                    break;
                }
                if (is_alpha(ch)) {
                    schema_start_ = i;
                    state_ = State::schema;
                    break;
                }
                if (ch != ' ') {
                    return fail(ParseError::invalid_request, i);
                }
                break;

            case State::schema:
                if (is_alpha(ch) || is_digit(ch) || ch == '+' || ch == '-' || ch == '.') {
                    break;
                }
                if (ch != ':') {
                    return fail(ParseError::invalid_request, i);
                }
                schema_end_ = i;
                state_ = State::schema_slash;
                break;

            case State::schema_slash:
                if (ch != '/') {
                    return fail(ParseError::invalid_request, i);
                }
                state_ = State::schema_slash_slash;
                break;

            case State::schema_slash_slash:
                if (ch != '/') {
                    return fail(ParseError::invalid_request, i);
                }
                state_ = State::host_start;
                break;

            case State::host_start:
                host_start_ = i;
                if (ch == '[') {
                    state_ = State::host_ip_literal;
                    break;
                }
                state_ = State::host;
                [[fallthrough]];

            case State::host:
                if (is_alpha(ch) || is_digit(ch) || ch == '.' || ch == '-') {
                    break;
                }
                [[fallthrough]];

            case State::host_end:
                if (ch == ':') {
                    state_ = State::port;
                    break;
                }
                host_end_ = i;
                if (!uri_after_host(ch, i)) {
                    return fail(ParseError::invalid_request, i);
                }
                break;

            case State::host_ip_literal:
                // RFC 3986 IP-literal: unreserved, sub-delims and ':'.
                if (is_alpha(ch) || is_digit(ch)) {
                    break;
                }
                switch (ch) {
                    case ']':
                        state_ = State::host_end;
                        break;
                    case ':':
                    case '-':
                    case '.':
                    case '_':
                    case '~':
                    case '!':
                    case '$':
                    case '&':
                    case '\'':
                    case '(':
                    case ')':
                    case '*':
                    case '+':
                    case ',':
                    case ';':
                    case '=':
                        break;
                    default:
                        return fail(ParseError::invalid_request, i);
                }
                break;

            case State::port:
                if (is_digit(ch)) {
                    break;
                }
                // The host view keeps ":port"; validate_host() drops it.
                host_end_ = i;
                if (!uri_after_host(ch, i)) {
                    return fail(ParseError::invalid_request, i);
                }
                break;

            case State::after_slash_in_uri:
                if (k_usual[ch]) {
                    state_ = State::check_uri;
                    break;
                }
                switch (ch) {
                    case ' ':
                        uri_end_ = i;
                        state_ = State::http_09;
                        break;
                    case '\r':
                        uri_end_ = i;
                        http_minor_ = 9;
                        state_ = State::almost_done;
                        break;
                    case '\n':
                        uri_end_ = i;
                        http_minor_ = 9;
                        return finish_request_line(i);
                    case '.':
                    case '/':
                    case '#':
                        complex_uri_ = true;
                        state_ = State::uri;
                        break;
                    case '%':
                        quoted_uri_ = true;
                        state_ = State::uri;
                        break;
                    case '?':
                        args_start_ = i + 1;
                        state_ = State::uri;
                        break;
                    case '+':
                        break;
                    default:
                        if (is_control(ch)) {
                            return fail(ParseError::invalid_request, i);
                        }
                        state_ = State::check_uri;
                        break;
                }
                break;

            case State::check_uri:
                i = skip(p, i, len, k_usual);
                if (i == len) {
                    --i;  // the loop's ++i ends the read at len
                    break;
                }
                ch = p[i];
                switch (ch) {
                    case '/':
                        uri_ext_ = k_none;
                        state_ = State::after_slash_in_uri;
                        break;
                    case '.':
                        uri_ext_ = i + 1;
                        break;
                    case ' ':
                        uri_end_ = i;
                        state_ = State::http_09;
                        break;
                    case '\r':
                        uri_end_ = i;
                        http_minor_ = 9;
                        state_ = State::almost_done;
                        break;
                    case '\n':
                        uri_end_ = i;
                        http_minor_ = 9;
                        return finish_request_line(i);
                    case '%':
                        quoted_uri_ = true;
                        state_ = State::uri;
                        break;
                    case '?':
                        args_start_ = i + 1;
                        state_ = State::uri;
                        break;
                    case '#':
                        complex_uri_ = true;
                        state_ = State::uri;
                        break;
                    case '+':
                        break;
                    default:
                        if (is_control(ch)) {
                            return fail(ParseError::invalid_request, i);
                        }
                        break;
                }
                break;

            case State::uri:
                i = skip(p, i, len, k_usual);
                if (i == len) {
                    --i;
                    break;
                }
                ch = p[i];
                switch (ch) {
                    case ' ':
                        uri_end_ = i;
                        state_ = State::http_09;
                        break;
                    case '\r':
                        uri_end_ = i;
                        http_minor_ = 9;
                        state_ = State::almost_done;
                        break;
                    case '\n':
                        uri_end_ = i;
                        http_minor_ = 9;
                        return finish_request_line(i);
                    case '#':
                        complex_uri_ = true;
                        break;
                    default:
                        if (is_control(ch)) {
                            return fail(ParseError::invalid_request, i);
                        }
                        break;
                }
                break;

            case State::http_09:
                switch (ch) {
                    case ' ':
                        break;
                    case '\r':
                        http_minor_ = 9;
                        state_ = State::almost_done;
                        break;
                    case '\n':
                        http_minor_ = 9;
                        return finish_request_line(i);
                    case 'H':
                        protocol_start_ = i;
                        state_ = State::http_h;
                        break;
                    default:
                        return fail(ParseError::invalid_request, i);
                }
                break;

            case State::http_h:
            case State::http_ht:
            case State::http_htt:
            case State::http_http: {
                constexpr char k_expected[] = {'T', 'T', 'P', '/'};
                const auto step = static_cast<int>(state_) - static_cast<int>(State::http_h);
                if (ch != static_cast<unsigned char>(k_expected[step])) {
                    return fail(ParseError::invalid_request, i);
                }
                state_ = static_cast<State>(static_cast<int>(state_) + 1);
                break;
            }

            case State::first_major_digit:
                if (ch < '1' || ch > '9') {
                    return fail(ParseError::invalid_request, i);
                }
                http_major_ = ch - '0';
                if (http_major_ > 1) {
                    return fail(ParseError::invalid_version, i);
                }
                state_ = State::major_digit;
                break;

            case State::major_digit:
                if (ch == '.') {
                    state_ = State::first_minor_digit;
                    break;
                }
                if (!is_digit(ch)) {
                    return fail(ParseError::invalid_request, i);
                }
                http_major_ = http_major_ * 10 + (ch - '0');
                if (http_major_ > 1) {
                    return fail(ParseError::invalid_version, i);
                }
                break;

            case State::first_minor_digit:
                if (!is_digit(ch)) {
                    return fail(ParseError::invalid_request, i);
                }
                http_minor_ = ch - '0';
                state_ = State::minor_digit;
                break;

            case State::minor_digit:
                if (ch == '\r') {
                    state_ = State::almost_done;
                    break;
                }
                if (ch == '\n') {
                    return finish_request_line(i);
                }
                if (ch == ' ') {
                    state_ = State::spaces_after_digit;
                    break;
                }
                if (!is_digit(ch) || http_minor_ > 99) {
                    return fail(ParseError::invalid_request, i);
                }
                http_minor_ = http_minor_ * 10 + (ch - '0');
                break;

            case State::spaces_after_digit:
                if (ch == ' ') {
                    break;
                }
                if (ch == '\r') {
                    state_ = State::almost_done;
                    break;
                }
                if (ch != '\n') {
                    return fail(ParseError::invalid_request, i);
                }
                return finish_request_line(i);

            case State::almost_done:
                request_end_ = i - 1;
                if (ch != '\n') {
                    return fail(ParseError::invalid_request, i);
                }
                return finish_request_line(i);

            default:
                return core::Status::error;  // not a request-line state: unreachable
        }
    }
    pos_ = len;
    return core::Status::again;
}

}  // namespace evs::http
