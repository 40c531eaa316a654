#pragma once

// Method: the request methods evserve knows by name, as nginx's NGX_HTTP_* method bits.
//
// A request line may carry any method made of the characters nginx allows there (A-Z, '_'
// and '-'); one that is not in this list parses as Method::unknown and keeps its text in
// RequestHead::method_name, so a handler can still answer 405. The names are matched
// case-sensitively: "get" is not a method (nginx answers 400 for it, as the parser does).

#include <cstdint>
#include <string_view>

namespace evs::http {

enum class Method : std::uint8_t {
    unknown,
    get,
    head,
    post,
    put,
    delete_,
    mkcol,
    copy,
    move,
    options,
    propfind,
    proppatch,
    lock,
    unlock,
    patch,
    trace,
    connect,
};

// The method's name as sent on the wire; "" for Method::unknown.
constexpr std::string_view method_name(Method method) {
    switch (method) {
        case Method::get:
            return "GET";
        case Method::head:
            return "HEAD";
        case Method::post:
            return "POST";
        case Method::put:
            return "PUT";
        case Method::delete_:
            return "DELETE";
        case Method::mkcol:
            return "MKCOL";
        case Method::copy:
            return "COPY";
        case Method::move:
            return "MOVE";
        case Method::options:
            return "OPTIONS";
        case Method::propfind:
            return "PROPFIND";
        case Method::proppatch:
            return "PROPPATCH";
        case Method::lock:
            return "LOCK";
        case Method::unlock:
            return "UNLOCK";
        case Method::patch:
            return "PATCH";
        case Method::trace:
            return "TRACE";
        case Method::connect:
            return "CONNECT";
        case Method::unknown:
            break;
    }
    return "";
}

// The method named by `token` (exact, case-sensitive), or Method::unknown.
constexpr Method method_from_name(std::string_view token) {
    // Few enough to compare in turn; the length check rejects most candidates at once.
    constexpr Method k_all[] = {
        Method::get,     Method::head,     Method::post,      Method::put,
        Method::delete_, Method::mkcol,    Method::copy,      Method::move,
        Method::options, Method::propfind, Method::proppatch, Method::lock,
        Method::unlock,  Method::patch,    Method::trace,     Method::connect};
    for (Method m : k_all) {
        if (method_name(m) == token) {
            return m;
        }
    }
    return Method::unknown;
}

}  // namespace evs::http
