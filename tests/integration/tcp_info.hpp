#pragma once

// The kernel's TCP_INFO of a connection, for tests that check what evserve does to
// its sockets: of the test's own end with getsockopt(), or of the server's end of a
// loopback connection with sock_diag (NETLINK_SOCK_DIAG, INET_DIAG_INFO), which reads
// any socket on the machine without touching the server.
//
// Header-only; plain functions, no state. Thread: any.

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace evs::test {

// The kernel's struct tcp_info goes on past glibc's copy of it (which ends with
// tcpi_total_retrans); the fields after it, as in linux/tcp.h.
struct TcpInfo {
    tcp_info base;
    std::uint64_t pacing_rate;
    std::uint64_t max_pacing_rate;
    std::uint64_t bytes_acked;
    std::uint64_t bytes_received;
    std::uint32_t segs_out;
    std::uint32_t segs_in;
    std::uint32_t notsent_bytes;
    std::uint32_t min_rtt;
    std::uint32_t data_segs_in;
    std::uint32_t data_segs_out;
};

// TCP_INFO of the established IPv4 connection 127.0.0.1:local_port ->
// 127.0.0.1:remote_port (the server's end: local_port is the server's), as the kernel
// reports it to `ss -ti`; nothing if there is no such connection or the kernel's
// tcp_info is too short to hold `notsent_bytes`. Zero-filled past what it reports.
inline std::optional<TcpInfo> loopback_tcp_info(std::uint16_t local_port,
                                                std::uint16_t remote_port) {
    const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) {
        return std::nullopt;
    }
    struct {
        nlmsghdr header;
        inet_diag_req_v2 request;
    } query{};
    query.header.nlmsg_len = sizeof(query);
    query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    query.header.nlmsg_flags = NLM_F_REQUEST;
    query.request.sdiag_family = AF_INET;
    query.request.sdiag_protocol = IPPROTO_TCP;
    query.request.idiag_ext = 1U << (INET_DIAG_INFO - 1);
    query.request.idiag_states = 1U << TCP_ESTABLISHED;
    query.request.id.idiag_sport = htons(local_port);
    query.request.id.idiag_dport = htons(remote_port);
    query.request.id.idiag_src[0] = htonl(INADDR_LOOPBACK);
    query.request.id.idiag_dst[0] = htonl(INADDR_LOOPBACK);
    query.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    query.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    std::optional<TcpInfo> result;
    alignas(nlmsghdr) char reply[8192];
    if (::send(fd, &query, sizeof(query), 0) == static_cast<ssize_t>(sizeof(query))) {
        const ssize_t n = ::recv(fd, reply, sizeof(reply), 0);
        auto* h = reinterpret_cast<nlmsghdr*>(reply);
        if (n > 0 && NLMSG_OK(h, static_cast<unsigned>(n)) &&
            h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            // NLMSG_DATA(h), without the macro's C-style cast.
            auto* msg = reinterpret_cast<inet_diag_msg*>(reply + NLMSG_ALIGN(sizeof(nlmsghdr)));
            int left = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(*msg)));
            for (auto* a = reinterpret_cast<rtattr*>(msg + 1); RTA_OK(a, left);
                 a = RTA_NEXT(a, left)) {
                const std::size_t size = RTA_PAYLOAD(a);
                if (a->rta_type == INET_DIAG_INFO &&
                    size >= offsetof(TcpInfo, notsent_bytes) + sizeof(std::uint32_t)) {
                    TcpInfo info{};
                    std::memcpy(&info, RTA_DATA(a), std::min(size, sizeof(info)));
                    result = info;
                }
            }
        }
    }
    ::close(fd);
    return result;
}

}  // namespace evs::test
