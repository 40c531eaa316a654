#include "http/response.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "version.hpp"

namespace evs::http {

std::string_view status_line_text(int status) {
    switch (status) {
        case 100:
            return "100 Continue";
        case 200:
            return "200 OK";
        case 201:
            return "201 Created";
        case 204:
            return "204 No Content";
        case 206:
            return "206 Partial Content";
        case 301:
            return "301 Moved Permanently";
        case 302:
            return "302 Moved Temporarily";
        case 303:
            return "303 See Other";
        case 304:
            return "304 Not Modified";
        case 307:
            return "307 Temporary Redirect";
        case 308:
            return "308 Permanent Redirect";
        case 400:
            return "400 Bad Request";
        case 401:
            return "401 Unauthorized";
        case 403:
            return "403 Forbidden";
        case 404:
            return "404 Not Found";
        case 405:
            return "405 Not Allowed";
        case 408:
            return "408 Request Time-out";
        case 411:
            return "411 Length Required";
        case 412:
            return "412 Precondition Failed";
        case 413:
            return "413 Request Entity Too Large";
        case 414:
            return "414 Request-URI Too Large";
        case 415:
            return "415 Unsupported Media Type";
        case 416:
            return "416 Requested Range Not Satisfiable";
        case 429:
            return "429 Too Many Requests";
        case 500:
            return "500 Internal Server Error";
        case 501:
            return "501 Not Implemented";
        case 502:
            return "502 Bad Gateway";
        case 503:
            return "503 Service Temporarily Unavailable";
        case 504:
            return "504 Gateway Time-out";
        case 505:
            return "505 HTTP Version Not Supported";
        default:
            return {};
    }
}

std::string_view server_signature(bool tokens) {
    static const std::string full = std::string("evserve/") + std::string(version());
    return tokens ? std::string_view(full) : std::string_view("evserve");
}

std::size_t error_page(int status, bool tokens, char* out, std::size_t size) {
    // nginx's special titles for its own 4xx codes (494-497 are shown as 400).
    std::string_view title;
    switch (status) {
        case 494:
            title = "400 Request Header Or Cookie Too Large";
            break;
        case 495:
            title = "400 The SSL certificate error";
            break;
        case 496:
            title = "400 No required SSL certificate was sent";
            break;
        case 497:
            title = "400 The plain HTTP request was sent to HTTPS port";
            break;
        default:
            title = status_line_text(status);
    }
    if (title.empty() || status < 300 || status == 304) {
        return 0;
    }
    const std::string_view sig = server_signature(tokens);
    const int n =
        std::snprintf(out, size,
                      "<html>\r\n<head><title>%.*s</title></head>\r\n<body>\r\n"
                      "<center><h1>%.*s</h1></center>\r\n"
                      "<hr><center>%.*s</center>\r\n</body>\r\n</html>\r\n",
                      static_cast<int>(title.size()), title.data(), static_cast<int>(title.size()),
                      title.data(), static_cast<int>(sig.size()), sig.data());
    return n < 0 ? 0 : std::min(size - 1, static_cast<std::size_t>(n));
}

std::size_t format_http_time(std::time_t t, char* out, std::size_t size) {
    tm gmt{};
    gmtime_r(&t, &gmt);
    return std::strftime(out, size, "%a, %d %b %Y %H:%M:%S GMT", &gmt);
}

std::time_t parse_http_time(std::string_view text) {
    // The three forms HTTP/1.1 requires recipients to accept.
    static const char* const k_formats[] = {"%a, %d %b %Y %H:%M:%S GMT",  // RFC 1123
                                            "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
                                            "%a %b %e %H:%M:%S %Y"};      // asctime
    char buf[64];
    if (text.size() >= sizeof(buf)) {
        return -1;
    }
    text.copy(buf, text.size());
    buf[text.size()] = '\0';
    for (const char* format : k_formats) {
        tm t{};
        const char* end = strptime(buf, format, &t);
        if (end != nullptr && *end == '\0') {
            return timegm(&t);
        }
    }
    return -1;
}

}  // namespace evs::http
