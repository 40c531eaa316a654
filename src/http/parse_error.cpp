#include "http/parse_error.hpp"

namespace evs::http {

int status_of(ParseError error) {
    switch (error) {
        case ParseError::none:
            return 0;
        case ParseError::invalid_version:
            return 505;
        case ParseError::unknown_transfer_coding:
            return 501;
        case ParseError::connect_method:
        case ParseError::trace_method:
            return 405;
        case ParseError::uri_too_long:
            return 414;
        case ParseError::header_too_large:
        case ParseError::too_many_headers:
            return k_status_request_header_too_large;
        case ParseError::no_memory:
            return 500;
        default:
            return 400;
    }
}

std::string_view describe(ParseError error) {
    switch (error) {
        case ParseError::none:
            return "";
        case ParseError::invalid_method:
            return "client sent invalid method";
        case ParseError::invalid_request:
        case ParseError::invalid_uri:
            return "client sent invalid request";
        case ParseError::invalid_version:
            return "client sent invalid version";
        case ParseError::invalid_09_method:
            return "client sent invalid method in HTTP/0.9 request";
        case ParseError::invalid_request_host:
            return "client sent invalid host in request line";
        case ParseError::invalid_header:
            return "client sent invalid header line";
        case ParseError::invalid_host:
            return "client sent invalid host header";
        case ParseError::duplicate_host:
            return "client sent duplicate host header";
        case ParseError::duplicate_header:
            return "client sent duplicate header line";
        case ParseError::missing_host:
            return "client sent HTTP/1.1 request without \"Host\" header";
        case ParseError::invalid_content_length:
            return "client sent invalid \"Content-Length\" header";
        case ParseError::content_length_and_te:
            return "client sent \"Content-Length\" and \"Transfer-Encoding\" headers at the "
                   "same time";
        case ParseError::transfer_encoding_http10:
            return "client sent HTTP/1.0 request with \"Transfer-Encoding\" header";
        case ParseError::unknown_transfer_coding:
            return "client sent unknown \"Transfer-Encoding\"";
        case ParseError::connect_method:
            return "client sent CONNECT method";
        case ParseError::trace_method:
            return "client sent TRACE method";
        case ParseError::uri_too_long:
            return "client sent too long URI";
        case ParseError::header_too_large:
            return "client sent too long header line";
        case ParseError::too_many_headers:
            return "client sent too many header lines";
        case ParseError::no_memory:
            return "could not allocate memory for the request";
    }
    return "";
}

}  // namespace evs::http
