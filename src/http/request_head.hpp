#pragma once

// RequestHead: what the request parser found in a request line and its header lines.
//
// Every view points either into the connection's header buffers (request line, raw URI,
// header names and values; nginx's ngx_http_request_t points there too) or into memory the
// parser took from the request's allocator (a decoded path, a lowercased host). The head
// owns none of it: the connection layer keeps those buffers and that memory until the
// request is finalised. Thread: the connection's loop thread only.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "http/header.hpp"
#include "http/method.hpp"

namespace evs::http {

struct RequestHead {
    Method method = Method::unknown;
    std::string_view method_name;   // as sent, also for Method::unknown
    std::string_view request_line;  // without the line end ($request)
    std::string_view unparsed_uri;  // the URI as sent ($request_uri)
    std::string_view schema;        // absolute form only ("http")
    std::string_view path;          // decoded, no dot segments ($uri)
    std::string_view args;          // after '?' ($args)
    std::string_view exten;         // the path's extension, for the MIME type
    std::string_view protocol;      // "HTTP/1.1"; empty for HTTP/0.9
    int http_major = 0;
    int http_minor = 0;
    int http_version = 0;  // major * 1000 + minor, as nginx: 9 (0.9), 1000, 1001

    // The virtual host: lowercase, without port or trailing dot. From the absolute-form
    // request line when there is one (it wins over Host, as in nginx), else from Host.
    std::string_view host;
    bool host_from_request_line = false;

    // Header lines in arrival order, the invalid ones left out when ignore_invalid_headers
    // is on. Points into the storage the parser was given.
    std::span<const Header> headers;
    // For each known name, 1 + the position in `headers` of its first line; 0 when absent.
    // Further lines of a repeatable name (Cookie, X-Forwarded-For...) are found by scanning
    // `headers` for the same Header::known. Indices rather than pointers keep the head small,
    // since one is cleared for every request.
    std::uint16_t known_index[k_known_header_count] = {};

    std::int64_t content_length = -1;  // -1 when absent
    bool chunked = false;              // Transfer-Encoding: chunked
    bool expect_100_continue = false;  // HTTP/1.1 and "Expect: 100-continue"
    ConnectionOption connection = ConnectionOption::none;

    // The first line of a known header, nullptr when absent.
    const Header* find(KnownHeader header) const {
        const std::uint16_t i = known_index[static_cast<std::size_t>(header)];
        return i == 0 ? nullptr : &headers[i - 1u];
    }

    // The value of a known header's first line, "" when absent.
    std::string_view value(KnownHeader header) const {
        const Header* h = find(header);
        return h ? h->value : std::string_view{};
    }

    // nginx's default: HTTP/1.1 keeps the connection unless "Connection: close";
    // HTTP/1.0 closes it unless "Connection: keep-alive". The caller may still refuse
    // (keepalive_timeout 0, keepalive_requests, a worker shutting down).
    bool keepalive_requested() const {
        switch (connection) {
            case ConnectionOption::close:
                return false;
            case ConnectionOption::keep_alive:
                return true;
            case ConnectionOption::none:
                break;
        }
        return http_version > 1000;
    }
};

}  // namespace evs::http
