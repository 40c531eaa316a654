#pragma once

// Helpers for the tests that run the real evserve binary on 127.0.0.1:
//
//   - TestServer: a temporary prefix (conf/, html/, logs/, conf/mime.types), a
//     generated configuration in conf/test.conf, `evserve -p <prefix> -c conf/test.conf
//     -g "daemon off;"` started and waited for (its pid file), its workers found in
//     /proc, its logs read; on failure the error log and the server's stderr are
//     printed, and the destructor kills (SIGKILL) whatever is still running (the
//     master, processes adopted after a binary upgrade, and their children) and
//     removes the prefix.
//   - HttpClient: one raw TCP connection with bounded waits that sends bytes and reads
//     whole responses (Content-Length, chunked or until close), keeping bytes of the
//     next pipelined response for the next read.
//   - free_port(), wait_until(), file helpers.
//
// Every wait is bounded: a server that goes wrong fails the test, it does not hang it.
// Thread: the test's thread (an HttpClient may be used by any one thread).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "integration/child_process.hpp"

namespace evs::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char k_evserve[] = EVS_BINARY_DIR "/evserve";

// Polls `done` every `step` until it returns true or `timeout` has passed; returns
// its last answer.
template <class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = 10ms) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (done()) {
            return true;
        }
        if (Clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(step);
    }
}

inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// A port that was free a moment ago: bind 127.0.0.1:0, read the port, release it.
// Ports already handed out by this process are not handed out again.
inline std::uint16_t free_port() {
    static std::mutex lock;
    static std::set<std::uint16_t> given;
    std::lock_guard<std::mutex> guard(lock);
    for (int attempt = 0; attempt < 100; ++attempt) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            break;
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(addr);
        std::uint16_t port = 0;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
            port = ntohs(addr.sin_port);
        }
        ::close(fd);
        if (port != 0 && given.insert(port).second) {
            return port;
        }
    }
    ADD_FAILURE() << "no free port found";
    return 0;
}

inline bool write_file(const std::string& path, std::string_view content) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
        ADD_FAILURE() << "cannot write " << path;
        return false;
    }
    return true;
}

// The file's content, or "" when it cannot be read.
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

inline std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        lines.emplace_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return lines;
}

inline std::size_t count_of(std::string_view text, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t pos = text.find(needle); pos != std::string_view::npos;
         pos = text.find(needle, pos + needle.size())) {
        ++n;
    }
    return n;
}

// The parent and state of a process, from /proc/<pid>/stat; nothing if it is gone.
struct ProcStat {
    char state = '?';
    pid_t parent = 0;
};

inline std::optional<ProcStat> proc_stat(pid_t pid) {
    const std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
    const std::size_t paren = text.rfind(')');
    if (paren == std::string::npos || paren + 4 >= text.size()) {
        return std::nullopt;
    }
    ProcStat st;
    std::istringstream rest(text.substr(paren + 2));
    rest >> st.state >> st.parent;
    return st;
}

// Whether `pid` is running (not gone, not a zombie).
inline bool process_alive(pid_t pid) {
    const auto st = proc_stat(pid);
    return st && st->state != 'Z' && st->state != 'X';
}

// Live (non-zombie) children of `parent`, found by scanning /proc.
inline std::vector<pid_t> child_pids(pid_t parent) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const pid_t pid = static_cast<pid_t>(std::stol(name));
        const auto st = proc_stat(pid);
        if (st && st->parent == parent && st->state != 'Z' && st->state != 'X') {
            out.push_back(pid);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// ---------------------------------------------------------------------------
// HTTP client

struct HttpResponse {
    int status = 0;
    std::string status_line;
    std::string head;  // the status line and the headers, as received
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::uint64_t body_bytes = 0;  // also counted when the body went to a sink

    // The first header of that name (case-insensitive), or nothing.
    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (n.size() == name.size() &&
                std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) ==
                           std::tolower(static_cast<unsigned char>(b));
                })) {
                return v;
            }
        }
        return std::nullopt;
    }
    std::string header_or(std::string_view name, std::string fallback = "") const {
        return header(name).value_or(std::move(fallback));
    }
};

// Bytes of a body as they arrive; returning false stops reading (an error).
using BodySink = std::function<bool(const char* data, std::size_t size)>;

class HttpClient {
public:
    // Connects to 127.0.0.1:port within `timeout`; ok() says whether it did.
    explicit HttpClient(std::uint16_t port, std::chrono::milliseconds timeout = 3s) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd_ < 0) {
            error_ = std::string("socket: ") + std::strerror(errno);
            return;
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
            if (errno != EINPROGRESS) {
                error_ = std::string("connect: ") + std::strerror(errno);
                close();
                return;
            }
            pollfd p{fd_, POLLOUT, 0};
            if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
                error_ = "connect: timed out";
                close();
                return;
            }
            int err = 0;
            socklen_t len = sizeof(err);
            ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                error_ = std::string("connect: ") + std::strerror(err);
                close();
                return;
            }
        }
        const int on = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    }

    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;
    HttpClient(HttpClient&& other) noexcept
        : fd_(std::exchange(other.fd_, -1)),
          buf_(std::move(other.buf_)),
          eof_(other.eof_),
          error_(std::move(other.error_)) {}

    ~HttpClient() { close(); }

    bool ok() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    // Why the last operation failed ("" when it did not).
    const std::string& error() const { return error_; }
    // Bytes received and not yet consumed by read_response().
    const std::string& pending() const { return buf_; }
    // Whether the server has closed its side (end of stream or a reset was seen).
    bool peer_closed() const { return eof_; }

    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

    // Sends all of `data` within `timeout`.
    bool send(std::string_view data, std::chrono::milliseconds timeout = 5s) {
        const auto deadline = Clock::now() + timeout;
        std::size_t done = 0;
        while (done < data.size()) {
            if (fd_ < 0) {
                error_ = "send: not connected";
                return false;
            }
            const ssize_t n =
                ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                done += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                error_ = std::string("send: ") + std::strerror(errno);
                return false;
            }
            const int left = remaining_ms(deadline);
            pollfd p{fd_, POLLOUT, 0};
            if (left <= 0 || ::poll(&p, 1, left) == 0) {
                error_ = "send: timed out after " + std::to_string(done) + " of " +
                         std::to_string(data.size()) + " bytes";
                return false;
            }
        }
        return true;
    }

    // Reads one whole response. `head_request`: the response to a HEAD, without a
    // body whatever its headers say. With a `sink`, the body is handed to it instead
    // of being kept in `body`. Nothing (and error()) when the response is incomplete
    // or malformed, or does not arrive within `timeout`.
    std::optional<HttpResponse> read_response(bool head_request = false,
                                              std::chrono::milliseconds timeout = 5s,
                                              const BodySink& sink = nullptr) {
        const auto deadline = Clock::now() + timeout;
        error_.clear();
        std::size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
            if (buf_.size() > 64 * 1024) {
                error_ = "response head longer than 64 kB";
                return std::nullopt;
            }
            if (!fill(deadline)) {
                error_ = (buf_.empty() ? "no response: " : "incomplete response head: ") + error_ +
                         (buf_.empty() ? "" : " after \"" + buf_ + "\"");
                return std::nullopt;
            }
        }
        HttpResponse r;
        r.head = buf_.substr(0, end);
        buf_.erase(0, end + 4);
        const std::vector<std::string> lines = split_head(r.head);
        r.status_line = lines.front();
        if (!r.status_line.starts_with("HTTP/1.") || r.status_line.size() < 12 ||
            r.status_line[8] != ' ') {
            error_ = "bad status line \"" + r.status_line + "\"";
            return std::nullopt;
        }
        r.status = std::atoi(r.status_line.c_str() + 9);
        for (std::size_t i = 1; i < lines.size(); ++i) {
            const std::size_t colon = lines[i].find(':');
            if (colon == std::string::npos) {
                error_ = "bad header line \"" + lines[i] + "\"";
                return std::nullopt;
            }
            std::string value = lines[i].substr(colon + 1);
            const std::size_t first = value.find_first_not_of(" \t");
            value = first == std::string::npos ? "" : value.substr(first);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
                value.pop_back();
            }
            r.headers.emplace_back(lines[i].substr(0, colon), std::move(value));
        }

        auto deliver = [&](const char* data, std::size_t size) {
            r.body_bytes += size;
            if (sink) {
                return sink(data, size);
            }
            r.body.append(data, size);
            return true;
        };
        if (head_request || r.status / 100 == 1 || r.status == 204 || r.status == 304) {
            return r;
        }
        if (r.header("Transfer-Encoding").value_or("") == "chunked") {
            if (!read_chunked(deadline, deliver)) {
                return std::nullopt;
            }
            return r;
        }
        if (const auto length = r.header("Content-Length")) {
            std::uint64_t left = std::strtoull(length->c_str(), nullptr, 10);
            while (left > 0) {
                if (buf_.empty() && !fill(deadline, left)) {
                    error_ = "body ended " + std::to_string(left) + " bytes short: " + error_;
                    return std::nullopt;
                }
                const auto take =
                    static_cast<std::size_t>(std::min<std::uint64_t>(left, buf_.size()));
                if (!deliver(buf_.data(), take)) {
                    error_ = "the body sink refused the body";
                    return std::nullopt;
                }
                buf_.erase(0, take);
                left -= take;
            }
            return r;
        }
        // Neither: the body runs until the server closes.
        while (!eof_) {
            if (!fill(deadline) && !eof_) {
                return std::nullopt;
            }
        }
        deliver(buf_.data(), buf_.size());
        buf_.clear();
        return r;
    }

    // Waits until the server closes the connection (end of stream or reset); true if
    // it does within `timeout`. Bytes that arrive meanwhile are appended to `extra`.
    bool wait_closed(std::chrono::milliseconds timeout, std::string* extra = nullptr) {
        const auto deadline = Clock::now() + timeout;
        // Bounded by the deadline even while bytes keep coming (a large body would
        // otherwise be read to its end).
        while (!eof_) {
            if ((!fill(deadline) && !eof_) || Clock::now() >= deadline) {
                break;
            }
        }
        if (extra != nullptr) {
            extra->append(buf_);
        }
        buf_.clear();
        return eof_;
    }

    // Reads whatever arrives until the connection closes or `timeout` passes.
    std::string read_until_close(std::chrono::milliseconds timeout) {
        std::string all;
        wait_closed(timeout, &all);
        return all;
    }

private:
    static int remaining_ms(Clock::time_point deadline) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, INT_MAX));
    }

    static std::vector<std::string> split_head(const std::string& head) {
        std::vector<std::string> lines;
        std::size_t pos = 0;
        for (;;) {
            const std::size_t end = head.find("\r\n", pos);
            lines.push_back(head.substr(pos, end == std::string::npos ? end : end - pos));
            if (end == std::string::npos) {
                return lines;
            }
            pos = end + 2;
        }
    }

    // Receives more bytes into buf_ (at most `limit` when the caller knows how many it
    // wants, to keep huge bodies out of memory); false at the deadline, at the end of
    // the stream or on an error.
    bool fill(Clock::time_point deadline, std::uint64_t limit = 64 * 1024) {
        if (fd_ < 0) {
            error_ = "not connected";
            return false;
        }
        for (;;) {
            char chunk[256 * 1024];
            const auto want = static_cast<std::size_t>(
                std::min<std::uint64_t>(sizeof(chunk), std::max<std::uint64_t>(limit, 1)));
            const ssize_t n = ::recv(fd_, chunk, want, MSG_DONTWAIT);
            if (n > 0) {
                buf_.append(chunk, static_cast<std::size_t>(n));
                return true;
            }
            if (n == 0) {
                eof_ = true;
                error_ = "connection closed by the server";
                return false;
            }
            if (errno == ECONNRESET || errno == EPIPE) {
                eof_ = true;
                error_ = "connection reset by the server";
                return false;
            }
            if (errno != EAGAIN && errno != EINTR) {
                error_ = std::string("recv: ") + std::strerror(errno);
                return false;
            }
            const int left = remaining_ms(deadline);
            pollfd p{fd_, POLLIN, 0};
            if (left <= 0 || ::poll(&p, 1, left) == 0) {
                error_ = "timed out";
                return false;
            }
        }
    }

    template <class Deliver>
    bool read_chunked(Clock::time_point deadline, Deliver& deliver) {
        for (;;) {
            std::size_t eol;
            while ((eol = buf_.find("\r\n")) == std::string::npos) {
                if (!fill(deadline)) {
                    error_ = "chunk size line: " + error_;
                    return false;
                }
            }
            const std::uint64_t size = std::strtoull(buf_.c_str(), nullptr, 16);
            buf_.erase(0, eol + 2);
            if (size == 0) {
                // Trailers, then the empty line.
                while ((eol = buf_.find("\r\n")) != 0) {
                    if (eol == std::string::npos) {
                        if (!fill(deadline)) {
                            return false;
                        }
                        continue;
                    }
                    buf_.erase(0, eol + 2);
                }
                buf_.erase(0, 2);
                return true;
            }
            while (buf_.size() < size + 2) {
                if (!fill(deadline)) {
                    error_ = "chunk data: " + error_;
                    return false;
                }
            }
            deliver(buf_.data(), static_cast<std::size_t>(size));
            buf_.erase(0, static_cast<std::size_t>(size) + 2);
        }
    }

    int fd_ = -1;
    std::string buf_;
    bool eof_ = false;
    std::string error_;
};

// "GET /path HTTP/1.1" with Host and any extra header lines (each ending in \r\n).
// The value of the Prometheus page's evserve_file_io_operations_total for `mode`
// (native, threads, io_uring) and `result` (submitted, completed, fallback), or -1.
inline long long file_io_counter(const std::string& page, const std::string& mode,
                                 const std::string& result) {
    const std::string key =
        "evserve_file_io_operations_total{mode=\"" + mode + "\",result=\"" + result + "\"} ";
    const std::size_t at = page.find(key);
    return at == std::string::npos ? -1 : std::atoll(page.c_str() + at + key.size());
}

inline std::string http_get(std::string_view path, std::string_view host = "localhost",
                            std::string_view extra_headers = "", std::string_view method = "GET") {
    std::string req;
    req.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ");
    req.append(host).append("\r\n").append(extra_headers).append("\r\n");
    return req;
}

// One request on a fresh connection; nothing (with a description in `why`) on failure.
inline std::optional<HttpResponse> fetch(std::uint16_t port, std::string_view request,
                                         std::string* why = nullptr,
                                         std::chrono::milliseconds timeout = 5s) {
    HttpClient c(port);
    std::optional<HttpResponse> r;
    if (c.ok() && c.send(request, timeout)) {
        r = c.read_response(request.starts_with("HEAD "), timeout);
    }
    if (!r && why != nullptr) {
        *why = c.error();
    }
    return r;
}

// The status of GET `path` on a fresh connection, or -1.
inline int status_of(std::uint16_t port, std::string_view path,
                     std::string_view host = "localhost") {
    const auto r = fetch(port, http_get(path, host), nullptr, 3s);
    return r ? r->status : -1;
}

// ---------------------------------------------------------------------------
// The server under test

// What a short run of the binary (-t, -T, -V, -s, a failing start) left.
struct RunResult {
    bool exited = false;
    int status = -1;  // the wait status
    std::string out;
    std::string err;
    int exit_code() const { return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

class TestServer {
public:
    TestServer() {
        // Workers orphaned by a killed master (and a new master after USR2) become our
        // children, so that they can be reaped even where pid 1 does not reap.
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        char pattern[] = "/tmp/evs-it-XXXXXX";
        const char* dir = ::mkdtemp(pattern);
        if (dir == nullptr) {
            ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
            return;
        }
        char resolved[PATH_MAX];
        prefix_ = std::string(::realpath(dir, resolved) != nullptr ? resolved : dir) + "/";
        // Started as root, the workers run as nobody: they must be able to read the site.
        ::chmod(prefix_.c_str(), 0755);
        for (const char* sub : {"conf", "html", "logs"}) {
            std::filesystem::create_directories(prefix_ + sub);
        }
        std::error_code ec;
        std::filesystem::copy_file(EVS_SOURCE_DIR "/conf/mime.types", prefix_ + "conf/mime.types",
                                   ec);
        if (ec) {
            ADD_FAILURE() << "copying mime.types: " << ec.message();
        }
    }

    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    ~TestServer() {
        const bool failed = ::testing::Test::HasFailure();
        kill_everything();
        if (failed && !prefix_.empty()) {
            dump_file("logs/error.log");
        }
        if (!prefix_.empty() && std::getenv("EVS_KEEP_TEST_PREFIX") == nullptr) {
            std::error_code ec;
            std::filesystem::remove_all(prefix_, ec);
        }
    }

    // The prefix, with a trailing slash.
    const std::string& prefix() const { return prefix_; }
    std::string path(std::string_view relative) const { return prefix_ + std::string(relative); }
    std::string conf_path() const { return path("conf/test.conf"); }
    std::string pid_path() const { return path("logs/evserve.pid"); }

    bool write(std::string_view relative, std::string_view content) const {
        return write_file(path(relative), content);
    }
    std::string read(std::string_view relative) const { return read_file(path(relative)); }

    // Writes conf/test.conf.
    bool configure(std::string_view text) const { return write("conf/test.conf", text); }

    // A main section that suits most tests: pid and error log under logs/, `workers`
    // workers, then `events` and `http` blocks with the given contents.
    static std::string config(std::string_view http, int workers = 1,
                              std::string_view events = "worker_connections 256;",
                              std::string_view main = "") {
        std::string text;
        text += "worker_processes " + std::to_string(workers) + ";\n";
        text += "error_log logs/error.log info;\n";
        text += "pid logs/evserve.pid;\n";
        text.append(main).append("\n");
        text.append("events {\n    ").append(events).append("\n}\n");
        text.append("http {\n    include mime.types;\n").append(http).append("\n}\n");
        return text;
    }

    // Runs the binary with `args` to its end (within `timeout`) and returns its exit
    // status and output.
    RunResult run(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 10s) {
        ChildProcess child;
        RunResult result;
        if (!child.start(k_evserve, args)) {
            return result;
        }
        result.out = child.read_all(timeout).value_or("");
        const auto status = child.wait(timeout);
        result.exited = status.has_value();
        result.status = status.value_or(-1);
        result.err = child.stderr_text();
        return result;
    }

    // `-p <prefix> -c conf/test.conf` followed by `args`.
    RunResult run_with_conf(std::vector<std::string> args,
                            std::chrono::milliseconds timeout = 10s) {
        std::vector<std::string> all{"-p", prefix_, "-c", "conf/test.conf"};
        all.insert(all.end(), args.begin(), args.end());
        return run(all, timeout);
    }

    // Starts the server in the foreground (`daemon off;` plus `directives`) and waits
    // for its pid file to name it. On failure: a gtest failure and false.
    bool start(std::string_view directives = "") {
        std::string g = "daemon off;";
        g.append(directives);
        std::vector<std::string> args{"-p", prefix_, "-c", "conf/test.conf", "-g", g};
        if (!launcher_.empty()) {
            args.insert(args.begin(), k_evserve);
        }
        if (!child_.start(launcher_.empty() ? k_evserve : launcher_, args)) {
            return false;
        }
        master_ = child_.pid();
        const bool up = wait_until(
            [&] { return pid_in_file("logs/evserve.pid") == master_ || !process_alive(master_); },
            10s);
        if (!up || pid_in_file("logs/evserve.pid") != master_) {
            ADD_FAILURE() << "the server did not write its pid file within 10 s (alive: "
                          << process_alive(master_) << ")\n"
                          << child_.stderr_text();
            return false;
        }
        return true;
    }

    pid_t master() const { return master_; }

    // start() runs `path` with the server's path and arguments: a program that
    // changes the server's surroundings and then execs it (its pid stays the
    // master's).
    void set_launcher(std::string path) { launcher_ = std::move(path); }

    // The pid in a pid file under the prefix, or -1.
    pid_t pid_in_file(std::string_view relative) const {
        const std::string text = read(relative);
        if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
            return -1;
        }
        return static_cast<pid_t>(std::atol(text.c_str()));
    }

    // The master's live children, except processes adopted with adopt() (a new master
    // started by USR2 is a child too).
    std::vector<pid_t> workers() const {
        std::vector<pid_t> out;
        for (pid_t pid : child_pids(master_)) {
            if (std::find(adopted_.begin(), adopted_.end(), pid) == adopted_.end()) {
                out.push_back(pid);
            }
        }
        return out;
    }

    // Waits until the master has exactly `n` workers and `accept` approves them.
    std::vector<pid_t> wait_workers(
        std::size_t n, std::chrono::milliseconds timeout = 5s,
        const std::function<bool(const std::vector<pid_t>&)>& accept = nullptr) {
        std::vector<pid_t> found;
        wait_until(
            [&] {
                found = workers();
                return found.size() == n && (!accept || accept(found));
            },
            timeout);
        return found;
    }

    bool signal(int sig) const { return master_ > 0 && ::kill(master_, sig) == 0; }

    // The master's wait status once it has exited, or nothing after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        auto status = child_.wait(timeout);
        if (status) {
            master_ = -1;
        }
        return status;
    }

    // Sends `sig` and expects the master to exit with status 0 within `timeout`.
    void stop(int sig = SIGTERM, std::chrono::milliseconds timeout = 10s) {
        ASSERT_GT(master_, 0) << "no server running";
        const pid_t pid = master_;
        ASSERT_TRUE(signal(sig));
        const auto status = wait_exit(timeout);
        ASSERT_TRUE(status.has_value()) << "master " << pid << " did not exit within "
                                        << timeout.count() << " ms of signal " << sig;
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_status(*status);
    }

    // A process to kill at the end too (the new master of a binary upgrade; the test
    // process is a child subreaper, so the orphan is ours to reap).
    void adopt(pid_t pid) {
        if (std::find(adopted_.begin(), adopted_.end(), pid) == adopted_.end()) {
            adopted_.push_back(pid);
        }
    }

    // Waits (bounded) for an adopted process to exit and reaps it if it is ours.
    bool wait_adopted_exit(pid_t pid, std::chrono::milliseconds timeout) {
        return wait_until(
            [&] {
                int status = 0;
                const pid_t r = ::waitpid(pid, &status, WNOHANG);
                return r == pid || (r < 0 && errno == ECHILD && !process_alive(pid));
            },
            timeout);
    }

    std::string error_log() const { return read("logs/error.log"); }
    std::string server_stderr() const { return child_.stderr_text(); }

    // Waits until the file under the prefix contains `needle` (`count` times).
    bool wait_for_text(std::string_view relative, std::string_view needle,
                       std::chrono::milliseconds timeout = 5s, std::size_t count = 1) const {
        return wait_until([&] { return count_of(read(relative), needle) >= count; }, timeout);
    }

    // Fails the test if a sanitizer reported anything on the server's stderr.
    void expect_no_sanitizer_reports() const {
        const std::string err = child_.stderr_text();
        EXPECT_EQ(err.find("Sanitizer"), std::string::npos) << err;
        EXPECT_EQ(err.find("runtime error:"), std::string::npos) << err;
    }

    void dump_file(std::string_view relative) const {
        const std::string text = read(relative);
        constexpr std::size_t k_most = 16 * 1024;
        std::fprintf(
            stderr, "--- %s%s ---\n%s--- end ---\n", std::string(relative).c_str(),
            text.size() > k_most ? " (the end)" : "",
            text.size() > k_most ? text.substr(text.size() - k_most).c_str() : text.c_str());
    }

private:
    // SIGKILL for the master, the adopted processes, and their children, then reap
    // what is ours. Children are listed first: once their parent is gone they can
    // no longer be found through it.
    void kill_everything() {
        std::vector<pid_t> roots = adopted_;
        if (master_ > 0) {
            roots.push_back(master_);
        }
        std::vector<pid_t> all;
        for (pid_t root : roots) {
            if (!process_alive(root)) {
                continue;
            }
            all.push_back(root);
            for (pid_t child : child_pids(root)) {
                all.push_back(child);
                for (pid_t grandchild : child_pids(child)) {
                    all.push_back(grandchild);
                }
            }
        }
        for (pid_t pid : all) {
            ::kill(pid, SIGKILL);
        }
        if (master_ > 0) {
            child_.wait(5s);  // the ChildProcess destructor kills and reaps it otherwise
        }
        for (pid_t pid : all) {
            if (pid != master_) {
                wait_adopted_exit(pid, 2s);
            }
        }
        for (pid_t pid : adopted_) {
            wait_adopted_exit(pid, 100ms);
        }
    }

    std::string prefix_;
    ChildProcess child_;
    pid_t master_ = -1;
    std::vector<pid_t> adopted_;
    std::string launcher_;  // set_launcher()
};

// A suite that shares one running server between its tests (they only read from
// it): the suite's SetUpTestSuite() creates `server_` and starts it on `port_`; the
// base stops it after the last test and checks each test left no sanitizer report.
// CRTP so that every suite has its own server.
template <typename Suite>
class SharedServerSuite : public ::testing::Test {
protected:
    static void TearDownTestSuite() {
        if (server_ != nullptr && server_->master() > 0) {
            server_->signal(SIGTERM);
            server_->wait_exit(5s);
        }
        delete server_;
        server_ = nullptr;
    }

    void TearDown() override {
        if (server_ == nullptr) {
            return;
        }
        server_->expect_no_sanitizer_reports();
        if (::testing::Test::HasFailure()) {
            server_->dump_file("logs/error.log");
        }
    }

    // GET `path` with `host`: the response, or a gtest failure and nullopt.
    static std::optional<HttpResponse> get(std::string_view path,
                                           std::string_view host = "localhost",
                                           std::string_view extra_headers = "") {
        std::string why;
        auto r = fetch(port_, http_get(path, host, extra_headers), &why);
        EXPECT_TRUE(r.has_value()) << "GET " << path << " Host " << host << ": " << why;
        return r;
    }

    static inline TestServer* server_ = nullptr;
    static inline std::uint16_t port_ = 0;
};

}  // namespace evs::test
