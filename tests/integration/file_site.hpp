#pragma once

// The site the file I/O tests serve (aio, directio, sendfile in the thread pool):
// files of 0 B to 64 MiB of random bytes, written once per suite where O_DIRECT
// works, with their bytes kept for comparing whole bodies and ranges by SHA-256, and
// a reader of multipart/byteranges bodies. Thread: the test's.

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "integration/server_fixture.hpp"

namespace evs::test {

using namespace std::string_literals;
using namespace std::chrono_literals;

// SHA-256 (FIPS 180-4), enough to compare bodies of up to 64 MiB by digest.
class Sha256 {
public:
    void update(const char* data, std::size_t size) {
        length_ += size;
        std::size_t i = 0;
        while (fill_ == 0 && size - i >= 64) {
            std::memcpy(block_.data(), data + i, 64);
            compress();
            i += 64;
        }
        for (; i < size; ++i) {
            block_[fill_++] = static_cast<std::uint8_t>(data[i]);
            if (fill_ == 64) {
                compress();
                fill_ = 0;
            }
        }
    }
    std::string hex() {
        const std::uint64_t bits = length_ * 8;
        const char pad = static_cast<char>(0x80);
        update(&pad, 1);
        const char zero = 0;
        while (fill_ != 56) {
            update(&zero, 1);
        }
        for (int i = 7; i >= 0; --i) {
            const char b = static_cast<char>((bits >> (i * 8)) & 0xff);
            update(&b, 1);
        }
        std::string out;
        char two[3];
        for (std::uint32_t v : h_) {
            for (int i = 3; i >= 0; --i) {
                std::snprintf(two, sizeof(two), "%02x", (v >> (i * 8)) & 0xff);
                out += two;
            }
        }
        return out;
    }

private:
    static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
    void compress() {
        static constexpr std::uint32_t k[64] = {
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
            0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
            0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
            0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
            0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
            0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
            0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2};
        std::uint32_t w[64];
        for (int i = 0; i < 16; ++i) {
            w[i] = (std::uint32_t{block_[i * 4]} << 24) | (std::uint32_t{block_[i * 4 + 1]} << 16) |
                   (std::uint32_t{block_[i * 4 + 2]} << 8) | std::uint32_t{block_[i * 4 + 3]};
        }
        for (int i = 16; i < 64; ++i) {
            const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::array<std::uint32_t, 8> v = h_;
        for (int i = 0; i < 64; ++i) {
            const std::uint32_t s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
            const std::uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
            const std::uint32_t t1 = v[7] + s1 + ch + k[i] + w[i];
            const std::uint32_t s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
            const std::uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            const std::uint32_t t2 = s0 + maj;
            v = {t1 + t2, v[0], v[1], v[2], v[3] + t1, v[4], v[5], v[6]};
        }
        for (int i = 0; i < 8; ++i) {
            h_[static_cast<std::size_t>(i)] += v[static_cast<std::size_t>(i)];
        }
    }

    std::array<std::uint32_t, 8> h_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::array<std::uint8_t, 64> block_{};
    std::size_t fill_ = 0;
    std::uint64_t length_ = 0;
};

inline std::string sha256(std::string_view data) {
    Sha256 h;
    h.update(data.data(), data.size());
    return h.hex();
}

struct SiteFile {
    std::string name;
    std::size_t size;
};

inline const std::vector<SiteFile>& site_files() {
    static const std::vector<SiteFile> files = {
        {"f0", 0},          {"f1", 1}, {"f4095", 4095}, {"f4096", 4096}, {"f1m7", 1024 * 1024 + 7},
        {"f64m", 64u << 20}};
    return files;
}

// The files, written once for the whole suite, with their bytes kept for ranges.
class Site {
public:
    Site() {
        // /tmp first, the build tree when /tmp's file system refuses O_DIRECT.
        for (const std::string& base : {"/tmp"s, std::string(EVS_BINARY_DIR)}) {
            std::string pattern = base + "/evs-aio-site-XXXXXX";
            if (::mkdtemp(pattern.data()) == nullptr) {
                continue;
            }
            if (supports_direct(pattern)) {
                dir_ = pattern;
                break;
            }
            std::filesystem::remove_all(pattern);
        }
        if (dir_.empty()) {
            return;
        }
        // Workers started by root run as nobody: the site must be readable.
        ::chmod(dir_.c_str(), 0755);
        std::mt19937_64 random(20261202);
        for (const SiteFile& f : site_files()) {
            std::string bytes(f.size, '\0');
            for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
                const std::uint64_t v = random();
                std::memcpy(bytes.data() + i, &v, 8);
            }
            for (std::size_t i = bytes.size() & ~std::size_t{7}; i < bytes.size(); ++i) {
                bytes[i] = static_cast<char>(random());
            }
            write_file(dir_ + "/" + f.name, bytes);
            ::chmod((dir_ + "/" + f.name).c_str(), 0644);
            bytes_[f.name] = std::move(bytes);
        }
    }
    ~Site() {
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }

    const std::string& dir() const { return dir_; }
    const std::string& bytes(const std::string& name) const { return bytes_.at(name); }

private:
    static bool supports_direct(const std::string& dir) {
        const std::string probe = dir + "/probe";
        if (!write_file(probe, std::string(4096, 'x'))) {
            return false;
        }
        const int fd = ::open(probe.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
        ::unlink(probe.c_str());
        if (fd < 0) {
            return false;
        }
        ::close(fd);
        return true;
    }

    std::string dir_;
    std::map<std::string, std::string> bytes_;
};

// The parts of a multipart/byteranges body: (first, last) and the bytes.
inline std::vector<std::pair<std::pair<long long, long long>, std::string>> multipart(
    const std::string& body) {
    std::vector<std::pair<std::pair<long long, long long>, std::string>> parts;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t at = body.find("Content-Range: bytes ", pos);
        if (at == std::string::npos) {
            return parts;
        }
        long long first = 0;
        long long last = 0;
        if (std::sscanf(body.c_str() + at, "Content-Range: bytes %lld-%lld/", &first, &last) != 2) {
            return parts;
        }
        const std::size_t data = body.find("\r\n\r\n", at);
        if (data == std::string::npos) {
            return parts;
        }
        const auto size = static_cast<std::size_t>(last - first + 1);
        parts.push_back({{first, last}, body.substr(data + 4, size)});
        pos = data + 4 + size;
    }
}

// Suites that serve the site (written once per suite) with one server per test.
// SiteServerTest<Param> below is the same, parameterised by a mode.
class SiteServer : public ::testing::Test {
protected:
    static void SetUpTestSuite() { site_ = new Site(); }
    static void TearDownTestSuite() {
        delete site_;
        site_ = nullptr;
    }

    void SetUp() override { ASSERT_FALSE(site_->dir().empty()) << "no directory takes O_DIRECT"; }

    // Starts one worker whose location / serves the site with `directives`; `events`
    // and `main` go to their contexts, `server` into the server block.
    void start(const std::string& directives, const std::string& events = "",
               const std::string& main = "", const std::string& level = "debug",
               const std::string& server = "") {
        port_ = free_port();
        std::string text;
        text +=
            "worker_processes 1;\nerror_log logs/error.log " + level + ";\npid logs/evserve.pid;\n";
        text += main + "\n";
        text += "events { worker_connections 512; " + events + " }\n";
        text += "http {\n    access_log off;\n    server {\n        listen 127.0.0.1:" +
                std::to_string(port_) + ";\n        root " + site_->dir() + ";\n" +
                "        location / { " + directives + " }\n" + server + "    }\n}\n";
        ASSERT_TRUE(server_.configure(text));
        ASSERT_TRUE(server_.start());
    }

    // What every mode's test ends with: no alert or crit (nor `also`) in the error log,
    // a graceful stop, and no sanitizer report.
    void expect_clean_stop(const char* also) {
        const std::string log = server_.error_log();
        EXPECT_EQ(log.find("[alert]"), std::string::npos) << log.substr(0, 4000);
        EXPECT_EQ(log.find("[crit]"), std::string::npos);
        EXPECT_EQ(log.find(also), std::string::npos);
        server_.stop(SIGQUIT);
        server_.expect_no_sanitizer_reports();
    }

    static inline Site* site_ = nullptr;
    TestServer server_;
    std::uint16_t port_ = 0;
};

// SiteServer parameterised by `Param` (a mode with a `name`; use site_param_name for
// the names).
template <typename Param>
class SiteServerTest : public SiteServer, public ::testing::WithParamInterface<Param> {};

template <typename Param>
std::string site_param_name(const ::testing::TestParamInfo<Param>& info) {
    return info.param.name;
}

// GET `path` on a keepalive connection, with a Range header when `range` is set.
inline std::optional<HttpResponse> get_file(HttpClient& client, const std::string& path,
                                            const std::string& range = "") {
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n";
    if (!range.empty()) {
        request += "Range: bytes=" + range + "\r\n";
    }
    request += "\r\n";
    if (!client.send(request)) {
        return std::nullopt;
    }
    return client.read_response(false, 60s);
}

// A tracer (strace) is attached to `pid`.
inline bool is_traced(pid_t pid) {
    const std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
    const std::size_t at = status.find("TracerPid:");
    return at != std::string::npos && std::atoi(status.c_str() + at + 10) != 0;
}

// Closes `c` with a reset (SO_LINGER 0) rather than a FIN: the server's next write
// to it fails at once.
inline void reset_connection(HttpClient& c) {
    const linger reset{1, 0};
    ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    c.close();
}

// `count` new connections (they get the slots of clients that left) fetch f1m7, whole
// and by a range in turn: their own bytes exactly, and nothing after them.
inline void expect_fresh_clients_exact(std::uint16_t port, const Site& site, int count) {
    const std::string& bytes = site.bytes("f1m7");
    for (int i = 0; i < count; ++i) {
        HttpClient c(port);
        ASSERT_TRUE(c.ok());
        const auto r = get_file(c, "/f1m7", i % 2 == 0 ? "" : "100-200000");
        ASSERT_TRUE(r) << c.error();
        EXPECT_EQ(sha256(r->body),
                  i % 2 == 0 ? sha256(bytes) : sha256(std::string_view(bytes).substr(100, 199901)));
        EXPECT_EQ(c.read_until_close(50ms), "") << "bytes that were not this client's";
    }
}

// Every file of the site whole, by single ranges (unaligned heads and tails, single
// bytes, the end, suffixes) and as a multipart body, compared with its bytes.
inline void expect_site_served(const Site& site, HttpClient& client) {
    for (const SiteFile& f : site_files()) {
        const std::string& bytes = site.bytes(f.name);
        const auto whole = get_file(client, "/" + f.name);
        ASSERT_TRUE(whole) << f.name << ": " << client.error();
        EXPECT_EQ(whole->status, 200) << f.name;
        EXPECT_EQ(whole->body.size(), f.size) << f.name;
        EXPECT_EQ(sha256(whole->body), sha256(bytes)) << f.name << " differs";
        if (f.size == 0) {
            continue;
        }
        // Unaligned heads and tails, single bytes, the end, suffixes.
        std::vector<std::pair<std::size_t, std::size_t>> ranges = {{0, 0},
                                                                   {f.size - 1, f.size - 1}};
        const bool huge = f.size > 8 * 1024 * 1024;  // bounded ranges only: the time
        if (f.size > 2 && !huge) {
            ranges.push_back({1, f.size - 2});
        }
        if (f.size > 1024) {
            ranges.push_back({511, 513});
            ranges.push_back({f.size - 1000, f.size - 1});
        }
        if (f.size > 1024 && !huge) {
            ranges.push_back({512, f.size - 1});
        }
        if (f.size > 1024 * 1024) {
            ranges.push_back({4097, 1024 * 1024 + 3});
        }
        if (huge) {
            ranges.push_back({f.size / 2 + 1, f.size / 2 + 3 * 1024 * 1024});
        }
        for (const auto& [first, last] : ranges) {
            const std::string spec = std::to_string(first) + "-" + std::to_string(last);
            const auto part = get_file(client, "/" + f.name, spec);
            ASSERT_TRUE(part) << f.name << " " << spec << ": " << client.error();
            EXPECT_EQ(part->status, 206) << f.name << " " << spec;
            EXPECT_TRUE(part->body == std::string_view(bytes).substr(first, last - first + 1))
                << f.name << " bytes " << spec << " differ";
        }
        const auto suffix = get_file(client, "/" + f.name, "-7");
        ASSERT_TRUE(suffix) << client.error();
        EXPECT_EQ(suffix->body, bytes.substr(f.size > 7 ? f.size - 7 : 0)) << f.name;
        if (f.size > 4096) {
            // Several ranges: a multipart body whose file parts are read in turn.
            const std::vector<std::pair<long long, long long>> want = {
                {3, 700},
                {4095, 4096},
                {static_cast<long long>(f.size) - 600, static_cast<long long>(f.size) - 2}};
            const auto multi = get_file(client, "/" + f.name, "3-700,4095-4096,-600");
            ASSERT_TRUE(multi) << client.error();
            EXPECT_EQ(multi->status, 206);
            const auto parts = multipart(multi->body);
            ASSERT_EQ(parts.size(), 3u) << f.name;
            EXPECT_EQ(parts[0].first, want[0]);
            EXPECT_EQ(parts[1].first, want[1]);
            EXPECT_EQ(parts[2].first.first, static_cast<long long>(f.size) - 600);
            for (const auto& [range, data] : parts) {
                EXPECT_EQ(data,
                          bytes.substr(static_cast<std::size_t>(range.first),
                                       static_cast<std::size_t>(range.second - range.first + 1)))
                    << f.name << " part " << range.first << "-" << range.second;
            }
        }
    }
}

}  // namespace evs::test
