#pragma once

// SocketAddress: an IPv4, IPv6 or unix-domain address with its length, parsed from
// and printed as nginx writes them ("127.0.0.1:80", "[::1]:8080", "unix:/path").

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace evs::os {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    int family() const { return storage.ss_family; }
    std::uint16_t port() const;
    void set_port(std::uint16_t port);

    // "127.0.0.1:80", "[::1]:80", "unix:/run/x.sock"; with_port=false drops ":80".
    std::string to_string(bool with_port = true) const;

    // Parses "addr:port", "addr" (with default_port), "port", "*:port",
    // "[v6]:port" and "unix:path". Port 0 means "any" (tests); the configuration
    // layer rejects it where nginx does. Host names are not resolved: false.
    static bool parse(std::string_view text, std::uint16_t default_port, SocketAddress* out);

    friend bool operator==(const SocketAddress& a, const SocketAddress& b);
};

}  // namespace evs::os
