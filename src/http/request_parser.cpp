#include "http/request_parser.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

#include "http/host.hpp"
#include "http/uri.hpp"

namespace evs::http {

namespace {

// nginx's ngx_atoof(): digits only, at least one, no overflow of a signed 64-bit value.
bool parse_content_length(std::string_view value, std::int64_t& out) {
    if (value.empty()) {
        return false;
    }
    constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max();
    std::int64_t n = 0;
    for (char ch : value) {
        if (ch < '0' || ch > '9') {
            return false;
        }
        const int digit = ch - '0';
        if (n > (k_max - digit) / 10) {
            return false;
        }
        n = n * 10 + digit;
    }
    out = n;
    return true;
}

}  // namespace

RequestParser::RequestParser(std::span<Header> header_storage, ParserAllocator allocator,
                             ParserSettings settings)
    // RequestHead indexes headers with 16 bits; more than 65535 lines is no request anyway.
    : storage_(header_storage.first(std::min<std::size_t>(header_storage.size(), 65535))),
      allocator_(allocator),
      initial_settings_(settings),
      settings_(settings),
      state_(State::start) {}

void RequestParser::reset() {
    settings_ = initial_settings_;
    base_ = nullptr;
    pos_ = 0;
    state_ = State::start;
    error_ = ParseError::none;
    request_start_ = 0;
    method_end_ = schema_start_ = schema_end_ = host_start_ = host_end_ = k_none;
    uri_start_ = uri_end_ = uri_ext_ = args_start_ = protocol_start_ = request_end_ = k_none;
    http_major_ = http_minor_ = 0;
    complex_uri_ = quoted_uri_ = empty_path_ = false;
    name_start_ = name_end_ = value_start_ = value_end_ = 0;
    invalid_header_ = false;
    header_count_ = 0;
    head_ = RequestHead{};
}

bool RequestParser::in_request_line() const {
    return state_ < State::header_start;
}

bool RequestParser::between_lines() const {
    return state_ == State::start || state_ == State::header_start || state_ == State::done ||
           state_ == State::failed;
}

std::size_t RequestParser::element_start() const {
    if (between_lines()) {
        return pos_;
    }
    return in_request_line() ? request_start_ : name_start_;
}

void RequestParser::rebase(std::size_t offset) {
    assert(offset <= element_start());
    // Offsets left over from an earlier line may lie before `offset`; they are set again
    // before they are read, so only the live ones (at or after it) need to move.
    auto shift = [offset](std::size_t& o) {
        if (o != k_none && o >= offset) {
            o -= offset;
        }
    };
    for (std::size_t* o :
         {&request_start_, &method_end_, &schema_start_, &schema_end_, &host_start_, &host_end_,
          &uri_start_, &uri_end_, &uri_ext_, &args_start_, &protocol_start_, &request_end_,
          &name_start_, &name_end_, &value_start_, &value_end_}) {
        shift(*o);
    }
    pos_ -= offset;
    base_ = nullptr;
}

core::Status RequestParser::fail_overflow() {
    return fail(in_request_line() ? ParseError::uri_too_long : ParseError::header_too_large, pos_);
}

core::Status RequestParser::fail(ParseError error, std::size_t at) {
    error_ = error;
    state_ = State::failed;
    pos_ = at;
    return core::Status::error;
}

char* RequestParser::allocate(std::size_t size) {
    if (allocator_.allocate == nullptr) {
        return nullptr;
    }
    return static_cast<char*>(allocator_.allocate(allocator_.context, size));
}

bool RequestParser::set_host(std::string_view name, bool lowercase) {
    if (lowercase) {
        char* out = allocate(name.size());
        if (out == nullptr) {
            return false;
        }
        for (std::size_t i = 0; i < name.size(); ++i) {
            const char c = name[i];
            out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
        }
        name = {out, name.size()};
    }
    head_.host = name;
    if (host_hook_ != nullptr) {
        host_hook_(host_hook_context_, head_.host, settings_);
    }
    return true;
}

core::Status RequestParser::parse(const char* buf, std::size_t len) {
    if (state_ == State::done) {
        return core::Status::ok;
    }
    if (state_ == State::failed) {
        return core::Status::error;
    }
    assert(len >= pos_);
    base_ = buf;
    const auto* p = reinterpret_cast<const unsigned char*>(buf);
    if (in_request_line()) {
        const core::Status s = parse_request_line(p, len);
        if (s != core::Status::again || in_request_line()) {
            return s;
        }
    }
    return parse_header_lines(p, len);
}

core::Status RequestParser::finish_request_line(std::size_t lf) {
    pos_ = lf + 1;
    if (request_end_ == k_none) {
        request_end_ = lf;
    }
    const char* b = base_;
    auto view = [b](std::size_t from, std::size_t to) {
        return std::string_view(b + from, to - from);
    };

    head_.request_line = view(request_start_, request_end_);
    head_.method_name = view(request_start_, method_end_);
    head_.method = method_from_name(head_.method_name);
    head_.http_major = http_major_;
    head_.http_minor = http_minor_;
    head_.http_version = http_major_ * 1000 + http_minor_;
    if (protocol_start_ != k_none) {
        head_.protocol = view(protocol_start_, request_end_);
    }
    if (head_.http_version == 9 && head_.method != Method::get) {
        return fail(ParseError::invalid_09_method, lf);
    }

    const std::string_view raw = view(uri_start_, uri_end_);
    head_.unparsed_uri = raw;
    if (complex_uri_ || quoted_uri_ || empty_path_) {
        char* out = allocate(raw.size() + 1);
        if (out == nullptr) {
            return fail(ParseError::no_memory, lf);
        }
        NormalizedUri uri;
        if (normalize_uri(raw, out, settings_.merge_slashes, uri) != core::Status::ok) {
            return fail(ParseError::invalid_uri, lf);
        }
        head_.path = {out, uri.path_length};
        head_.exten = uri.exten;
        head_.args = uri.args;
    } else {
        const std::size_t path_end = args_start_ != k_none ? args_start_ - 1 : uri_end_;
        head_.path = view(uri_start_, path_end);
        if (uri_ext_ != k_none) {
            head_.exten = view(uri_ext_, path_end);
        }
        if (args_start_ != k_none) {
            head_.args = view(args_start_, uri_end_);
        }
    }

    if (schema_end_ != k_none) {
        head_.schema = view(schema_start_, schema_end_);
    }
    if (host_end_ != k_none) {
        const HostCheck host = validate_host(view(host_start_, host_end_));
        if (!host.valid) {
            return fail(ParseError::invalid_request_host, lf);
        }
        head_.host_from_request_line = true;
        if (!set_host(host.name, host.has_uppercase)) {
            return fail(ParseError::no_memory, lf);
        }
    }

    if (head_.http_version < 1000) {
        // HTTP/0.9 has no header lines: the request is complete.
        state_ = State::done;
        return core::Status::ok;
    }
    state_ = State::header_start;
    return core::Status::again;
}

core::Status RequestParser::finish_header_line(std::size_t lf) {
    pos_ = lf + 1;
    state_ = State::header_start;
    if (invalid_header_ && settings_.ignore_invalid_headers) {
        return core::Status::again;  // dropped, as nginx does (it logs it at "info")
    }
    if (header_count_ == storage_.size()) {
        return fail(ParseError::too_many_headers, name_start_);
    }

    Header& h = storage_[header_count_++];
    h.name = std::string_view(base_ + name_start_, name_end_ - name_start_);
    h.value = std::string_view(base_ + value_start_, value_end_ - value_start_);
    h.known = classify_header(h.name);
    head_.headers = storage_.first(header_count_);
    if (h.known == KnownHeader::none) {
        return core::Status::again;
    }

    std::uint16_t& first = head_.known_index[static_cast<std::size_t>(h.known)];
    const auto index = static_cast<std::uint16_t>(header_count_);  // 1 + h's position
    switch (h.known) {
        case KnownHeader::host: {
            if (first != 0) {
                return fail(ParseError::duplicate_host, lf);
            }
            first = index;
            const HostCheck host = validate_host(h.value);
            if (!host.valid) {
                return fail(ParseError::invalid_host, lf);
            }
            if (!head_.host_from_request_line && !set_host(host.name, host.has_uppercase)) {
                return fail(ParseError::no_memory, lf);
            }
            return core::Status::again;
        }
        case KnownHeader::connection: {
            if (first == 0) {
                first = index;
            }
            // Each line may override an earlier one, as in nginx's ngx_http_process_connection.
            const ConnectionOption option = parse_connection_option(h.value);
            if (option != ConnectionOption::none) {
                head_.connection = option;
            }
            return core::Status::again;
        }
        default:
            if (first == 0) {
                first = index;
            } else if (is_unique_header(h.known)) {
                return fail(ParseError::duplicate_header, lf);
            }
            return core::Status::again;
    }
}

core::Status RequestParser::finish_headers(std::size_t lf) {
    pos_ = lf + 1;
    // The checks and their order are nginx's ngx_http_process_request_header().
    const Header* content_length = head_.find(KnownHeader::content_length);
    const Header* transfer_encoding = head_.find(KnownHeader::transfer_encoding);

    if (head_.find(KnownHeader::host) == nullptr && head_.http_version > 1000) {
        return fail(ParseError::missing_host, lf);
    }
    if (content_length != nullptr) {
        if (transfer_encoding != nullptr) {
            return fail(ParseError::content_length_and_te, lf);
        }
        if (!parse_content_length(content_length->value, head_.content_length)) {
            return fail(ParseError::invalid_content_length, lf);
        }
    }
    if (transfer_encoding != nullptr) {
        if (head_.http_version < 1001) {
            return fail(ParseError::transfer_encoding_http10, lf);
        }
        if (!equals_ignore_case(transfer_encoding->value, "chunked")) {
            return fail(ParseError::unknown_transfer_coding, lf);
        }
        head_.chunked = true;
    }
    if (head_.method == Method::connect) {
        return fail(ParseError::connect_method, lf);
    }
    if (head_.method == Method::trace) {
        return fail(ParseError::trace_method, lf);
    }
    head_.expect_100_continue =
        head_.http_version > 1000 &&
        equals_ignore_case(head_.value(KnownHeader::expect), "100-continue");
    state_ = State::done;
    return core::Status::ok;
}

}  // namespace evs::http
