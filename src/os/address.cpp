#include "os/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstddef>
#include <cstring>

namespace evs::os {

std::uint16_t SocketAddress::port() const {
    if (family() == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    }
    if (family() == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    }
    return 0;
}

void SocketAddress::set_port(std::uint16_t port) {
    if (family() == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
    } else if (family() == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
    }
}

std::string SocketAddress::to_string(bool with_port) const {
    char text[INET6_ADDRSTRLEN + 16] = {};
    if (family() == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
        inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
        std::string out(text);
        return with_port ? out + ":" + std::to_string(port()) : out;
    }
    if (family() == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
        inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
        std::string out(text);
        return with_port ? "[" + out + "]:" + std::to_string(port()) : out;
    }
    if (family() == AF_UNIX) {
        const auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
        const auto path_len =
            length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
        std::string path(un->sun_path, strnlen(un->sun_path, path_len));
        return "unix:" + path;
    }
    return "unknown";
}

namespace {

bool parse_port(std::string_view text, std::uint16_t* port) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > 65535) {
        return false;
    }
    *port = static_cast<std::uint16_t>(value);
    return true;
}

}  // namespace

bool SocketAddress::parse(std::string_view text, std::uint16_t default_port, SocketAddress* out) {
    *out = SocketAddress{};
    if (text.starts_with("unix:")) {
        const std::string_view path = text.substr(5);
        auto* un = reinterpret_cast<sockaddr_un*>(&out->storage);
        if (path.empty() || path.size() >= sizeof(un->sun_path)) {
            return false;
        }
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, path.data(), path.size());
        out->length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
        return true;
    }

    std::string_view host = text;
    std::uint16_t port = default_port;
    if (text.starts_with("[")) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (!rest.empty() && (rest[0] != ':' || !parse_port(rest.substr(1), &port))) {
            return false;
        }
        std::string host_z(host);
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&out->storage);
        if (inet_pton(AF_INET6, host_z.c_str(), &in6->sin6_addr) != 1) {
            return false;
        }
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        out->length = sizeof(sockaddr_in6);
        return true;
    }

    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
        host = text.substr(0, colon);
        if (!parse_port(text.substr(colon + 1), &port)) {
            return false;
        }
    } else if (parse_port(text, &port)) {
        host = "*";  // "listen 8080;" means every address
    }
    auto* in = reinterpret_cast<sockaddr_in*>(&out->storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    out->length = sizeof(sockaddr_in);
    if (host == "*") {
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        return true;
    }
    std::string host_z(host);
    return inet_pton(AF_INET, host_z.c_str(), &in->sin_addr) == 1;
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
    return a.length == b.length && std::memcmp(&a.storage, &b.storage, a.length) == 0;
}

}  // namespace evs::os
