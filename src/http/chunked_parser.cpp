#include "http/chunked_parser.hpp"

#include <algorithm>
#include <limits>

namespace evs::http {

namespace {

constexpr std::int64_t k_max_size = std::numeric_limits<std::int64_t>::max();

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

}  // namespace

void ChunkedParser::reset() {
    state_ = State::chunk_start;
    size_ = 0;
    body_size_ = 0;
    status_ = 0;
}

bool ChunkedParser::done() const {
    return state_ == State::done;
}

core::Status ChunkedParser::fail(int status) {
    state_ = State::failed;
    status_ = status;
    return core::Status::error;
}

core::Status ChunkedParser::parse(std::string_view input, std::size_t& pos,
                                  std::string_view& data) {
    if (state_ == State::done) {
        return core::Status::done;
    }
    if (state_ == State::failed) {
        return core::Status::error;
    }

    while (pos < input.size()) {
        if (state_ == State::chunk_data) {
            const auto available = static_cast<std::uint64_t>(input.size() - pos);
            const auto take = static_cast<std::size_t>(
                std::min<std::uint64_t>(available, static_cast<std::uint64_t>(size_)));
            data = input.substr(pos, take);
            pos += take;
            size_ -= static_cast<std::int64_t>(take);
            if (size_ == 0) {
                state_ = State::after_data;
            }
            return core::Status::ok;
        }

        const auto ch = static_cast<unsigned char>(input[pos]);
        switch (state_) {
            case State::chunk_start: {
                const int digit = hex_value(ch);
                if (digit < 0) {
                    return fail(400);
                }
                size_ = digit;
                state_ = State::chunk_size;
                break;
            }

            case State::chunk_size: {
                // As nginx, refuse a size that could overflow at the next digit, whatever
                // that next byte turns out to be.
                if (size_ > k_max_size / 16) {
                    return fail(400);
                }
                const int digit = hex_value(ch);
                if (digit >= 0) {
                    size_ = size_ * 16 + digit;
                    break;
                }
                const bool last = size_ == 0;
                switch (ch) {
                    case '\r':
                        state_ = last ? State::last_chunk_extension_almost_done
                                      : State::chunk_extension_almost_done;
                        break;
                    case ';':
                    case ' ':
                    case '\t':
                        state_ = last ? State::last_chunk_extension : State::chunk_extension;
                        break;
                    default:
                        return fail(400);
                }
                break;
            }

            case State::chunk_extension:
            case State::last_chunk_extension:
                if (ch == '\n') {
                    return fail(400);
                }
                if (ch == '\r') {
                    state_ = state_ == State::chunk_extension
                                 ? State::chunk_extension_almost_done
                                 : State::last_chunk_extension_almost_done;
                }
                break;

            case State::chunk_extension_almost_done:
                if (ch != '\n') {
                    return fail(400);
                }
                if (size_ > k_max_size - body_size_) {
                    return fail(400);
                }
                if (max_body_size_ > 0 && body_size_ + size_ > max_body_size_) {
                    return fail(413);
                }
                body_size_ += size_;
                state_ = State::chunk_data;
                break;

            case State::after_data:
                if (ch != '\r') {
                    return fail(400);
                }
                state_ = State::after_data_almost_done;
                break;

            case State::after_data_almost_done:
                if (ch != '\n') {
                    return fail(400);
                }
                state_ = State::chunk_start;
                break;

            case State::last_chunk_extension_almost_done:
                if (ch != '\n') {
                    return fail(400);
                }
                state_ = State::trailer;
                break;

            case State::trailer:
                if (ch == '\r') {
                    state_ = State::trailer_almost_done;
                } else if (ch == '\n') {
                    return fail(400);
                } else {
                    state_ = State::trailer_header;
                }
                break;

            case State::trailer_almost_done:
                if (ch != '\n') {
                    return fail(400);
                }
                ++pos;
                state_ = State::done;
                return core::Status::done;

            case State::trailer_header:
                if (ch == '\r') {
                    state_ = State::trailer_header_almost_done;
                } else if (ch == '\n') {
                    return fail(400);
                }
                break;

            case State::trailer_header_almost_done:
                if (ch != '\n') {
                    return fail(400);
                }
                state_ = State::trailer;
                break;

            case State::chunk_data:
            case State::done:
            case State::failed:
                break;  // handled above
        }
        ++pos;
    }
    return core::Status::again;
}

}  // namespace evs::http
