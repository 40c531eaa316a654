// The evserve binary as a process: configuration errors and the command line (-t, -T,
// -V, -s), the master's signals (QUIT, TERM, HUP, USR1, USR2, CHLD after a killed
// worker), reloads under load, and the three ways of spreading connections over
// workers. Each test writes its own configuration into a temporary prefix and talks
// HTTP over 127.0.0.1 (see server_fixture.hpp).

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"
#include "integration/text_checks.hpp"

namespace evs::test {
namespace {

// A server block on `port` serving html/ with an index.
std::string simple_http(std::uint16_t port, std::string_view extra = "") {
    std::string text = "    access_log logs/access.log;\n";
    text.append(extra);
    text += "    server {\n        listen 127.0.0.1:" + std::to_string(port) +
            ";\n        server_name localhost;\n        root html;\n    }\n";
    return text;
}

// ---------------------------------------------------------------------------
// Configuration errors: `evserve: [emerg] <message> in <file>:<line>`, exit status 1.

struct ConfigErrorCase {
    const char* name;
    const char* conf;   // conf/test.conf
    const char* extra;  // conf/extra.conf, if not null
    const char* message;
    const char* file;  // relative to the prefix; null: the message names no file
    int line;
};

const ConfigErrorCase k_config_errors[] = {
    {"UnknownDirective",
     "worker_processes 1;\n"
     "events {\n"
     "}\n"
     "bogus_directive on;\n",
     nullptr, "unknown directive \"bogus_directive\"", "conf/test.conf", 4},
    {"NotAllowedHere",
     "worker_processes 1;\n"
     "worker_connections 10;\n"
     "events {\n"
     "}\n",
     nullptr, "\"worker_connections\" directive is not allowed here", "conf/test.conf", 2},
    {"InvalidNumberOfArguments",
     "events {\n"
     "}\n"
     "worker_processes 1 2;\n",
     nullptr, "invalid number of arguments in \"worker_processes\" directive", "conf/test.conf", 3},
    {"Duplicate",
     "worker_processes 1;\n"
     "events {\n"
     "}\n"
     "worker_processes 2;\n",
     nullptr, "\"worker_processes\" directive is duplicate", "conf/test.conf", 4},
    {"InvalidValue",
     "events {\n"
     "    multi_accept maybe;\n"
     "}\n",
     nullptr, "invalid value \"maybe\" in \"multi_accept\" directive, it must be \"on\" or \"off\"",
     "conf/test.conf", 2},
    {"MissingEvents", "worker_processes 1;\n", nullptr, "no \"events\" section in configuration",
     nullptr, 0},
    {"UnexpectedBrace",
     "events {\n"
     "}\n"
     "}\n",
     nullptr, "unexpected \"}\"", "conf/test.conf", 3},
    {"UnexpectedEndOfFile",
     "events {\n"
     "    worker_connections 10;\n",
     nullptr, "unexpected end of file, expecting \"}\"", "conf/test.conf", 3},
    {"ErrorInIncludedFile",
     "worker_processes 1;\n"
     "events {\n"
     "}\n"
     "include extra.conf;\n",
     "# included\n"
     "pid logs/evserve.pid;\n"
     "nonsense here;\n",
     "unknown directive \"nonsense\"", "conf/extra.conf", 3},
    {"NotAllowedInIncludedFile",
     "events {\n"
     "    include extra.conf;\n"
     "}\n",
     "\n\nworker_processes 2;\n", "\"worker_processes\" directive is not allowed here",
     "conf/extra.conf", 3},
};

void PrintTo(const ConfigErrorCase& c, std::ostream* os) {
    *os << c.name;
}

class ConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(ConfigErrorTest, PrintsNginxStyleErrorAndExitsOne) {
    const ConfigErrorCase& c = GetParam();
    TestServer server;
    ASSERT_TRUE(server.configure(c.conf));
    if (c.extra != nullptr) {
        ASSERT_TRUE(server.write("conf/extra.conf", c.extra));
    }
    const std::string expected = c.file != nullptr
                                     ? emerg_at(c.message, server.path(c.file), c.line)
                                     : "evserve: [emerg] " + std::string(c.message) + "\n";
    // Starting: the error, status 1, nothing left behind; -t: the same error, then
    // "test failed".
    EXPECT_TRUE(config_start_fails(server, expected));
    EXPECT_TRUE(config_test_fails(server, expected));
}

INSTANTIATE_TEST_SUITE_P(Errors, ConfigErrorTest, ::testing::ValuesIn(k_config_errors),
                         [](const auto& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------
// The command line

TEST(CommandLineTest, TestFlagReportsSyntaxOkAndSuccess) {
    TestServer server;
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(free_port()))));
    const RunResult r = server.run_with_conf({"-t"});
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.err, "evserve: the configuration file " + server.conf_path() +
                         " syntax is ok\nevserve: configuration file " + server.conf_path() +
                         " test is successful\n");
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(file_exists(server.pid_path()));

    // -q keeps quiet about success.
    const RunResult quiet = server.run_with_conf({"-t", "-q"});
    EXPECT_EQ(quiet.exit_code(), 0);
    EXPECT_EQ(quiet.err, "");
}

TEST(CommandLineTest, DumpFlagPrintsEveryFile) {
    TestServer server;
    const std::string extra = "# the included part\nserver_tokens off;\n";
    const std::string conf =
        TestServer::config("    include extra.conf;\n" + simple_http(free_port()));
    ASSERT_TRUE(server.configure(conf));
    ASSERT_TRUE(server.write("conf/extra.conf", extra));
    const RunResult r = server.run_with_conf({"-T"});
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_NE(r.err.find("test is successful"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("# configuration file " + server.conf_path() + ":\n" + conf),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("# configuration file " + server.path("conf/extra.conf") + ":\n" + extra),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("# configuration file " + server.path("conf/mime.types") + ":\n"),
              std::string::npos);
}

TEST(CommandLineTest, VersionFlag) {
    TestServer server;
    const RunResult r = server.run({"-V"});
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.exit_code(), 0);
    constexpr std::string_view k_prefix = "evserve version: evserve/";
    ASSERT_TRUE(r.err.starts_with(k_prefix)) << r.err;
    const std::string_view version =
        std::string_view(r.err).substr(k_prefix.size(), r.err.find('\n') - k_prefix.size());
    EXPECT_TRUE(is_version(version, 2)) << r.err;
    EXPECT_EQ(count_of(r.err, "evserve version:"), 1u);
}

TEST(CommandLineTest, SignalWithoutRunningServerFails) {
    TestServer server;
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(free_port()))));
    const RunResult r = server.run_with_conf({"-s", "reload"});
    EXPECT_EQ(r.exit_code(), 1);
    EXPECT_NE(r.err.find("evserve: [error] open() \"" + server.pid_path() + "\" failed"),
              std::string::npos)
        << r.err;
}

// -s stop and -s quit reach the master through the pid file; it exits 0 and removes
// the pid file.
class SignalFlagStopTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SignalFlagStopTest, StopsTheMaster) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port))));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    ASSERT_EQ(status_of(port, "/"), 200);

    const RunResult r = server.run_with_conf({"-s", GetParam()});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    const auto status = server.wait_exit(5s);
    ASSERT_TRUE(status.has_value()) << "the master did not exit within 5 s of -s " << GetParam();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_status(*status);
    EXPECT_FALSE(file_exists(server.pid_path()));
    EXPECT_EQ(status_of(port, "/"), -1) << "still answering after the master exited";
    if (std::string_view(GetParam()) == "quit") {
        EXPECT_NE(server.error_log().find("gracefully shutting down"), std::string::npos);
    }
    server.expect_no_sanitizer_reports();
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalFlagStopTest, ::testing::Values("stop", "quit"));

TEST(SignalFlagTest, ReloadStartsNewWorkers) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port))));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> before = server.wait_workers(1);
    ASSERT_EQ(before.size(), 1u);

    // The reloaded configuration serves another root.
    ASSERT_TRUE(server.write("html2/index.html", "reloaded\n"));
    std::string conf = TestServer::config(simple_http(port));
    conf.replace(conf.find("root html;"), 10, "root html2;");
    ASSERT_TRUE(server.configure(conf));
    const RunResult r = server.run_with_conf({"-s", "reload"});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_TRUE(server.wait_for_text("logs/error.log", "reconfiguring", 5s));
    const std::vector<pid_t> after = server.wait_workers(
        1, 5s, [&](const std::vector<pid_t>& w) { return w.front() != before.front(); });
    ASSERT_EQ(after.size(), 1u);
    EXPECT_NE(after.front(), before.front());
    EXPECT_FALSE(process_alive(before.front())) << "the old worker did not exit";
    const auto resp = fetch(port, http_get("/"));
    ASSERT_TRUE(resp.has_value());
    EXPECT_EQ(resp->body, "reloaded\n");
    server.stop();
    server.expect_no_sanitizer_reports();
}

TEST(SignalFlagTest, ReopenReachesTheMaster) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port))));
    ASSERT_TRUE(server.start());
    const RunResult r = server.run_with_conf({"-s", "reopen"});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    // The master's line, then the worker's.
    EXPECT_TRUE(server.wait_for_text("logs/error.log", "reopening logs", 5s, 2))
        << server.error_log();
    server.stop();
}

// ---------------------------------------------------------------------------
// Stopping

// QUIT: the idle keepalive connection is closed by the server, the master exits.
TEST(ShutdownTest, QuitClosesIdleKeepaliveConnections) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port))));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());

    HttpClient idle(port);
    ASSERT_TRUE(idle.ok()) << idle.error();
    ASSERT_TRUE(idle.send(http_get("/")));
    const auto resp = idle.read_response();
    ASSERT_TRUE(resp.has_value()) << idle.error();
    EXPECT_EQ(resp->header_or("Connection"), "keep-alive");

    const auto start = Clock::now();
    ASSERT_TRUE(server.signal(SIGQUIT));
    std::string extra;
    EXPECT_TRUE(idle.wait_closed(3s, &extra)) << "the idle connection is still open after 3 s";
    EXPECT_EQ(extra, "");
    const auto status = server.wait_exit(5s);
    ASSERT_TRUE(status.has_value()) << "the master did not exit within 5 s of QUIT";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_status(*status);
    EXPECT_LT(seconds_since(start), 3.0);
    EXPECT_FALSE(file_exists(server.pid_path()));
    server.expect_no_sanitizer_reports();
}

// QUIT while a large response is being sent: it is finished, then the worker exits.
TEST(ShutdownTest, QuitFinishesTheResponseInFlight) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port, "    sendfile on;\n"))));
    constexpr off_t k_size = 64 << 20;
    {
        const int fd = ::open(server.path("html/big.bin").c_str(), O_CREAT | O_WRONLY, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::ftruncate(fd, k_size), 0);
        ::close(fd);
    }
    ASSERT_TRUE(server.start());
    HttpClient c(port);
    ASSERT_TRUE(c.ok());
    // A small receive buffer, read slowly at first: the response is still in flight.
    const int small = 64 * 1024;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    ASSERT_TRUE(c.send(http_get("/big.bin")));
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(server.signal(SIGQUIT));
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(process_alive(server.master())) << "the master exited with a response in flight";
    const auto resp = c.read_response(false, 20s, [](const char*, std::size_t) { return true; });
    ASSERT_TRUE(resp.has_value()) << c.error();
    EXPECT_EQ(resp->status, 200);
    EXPECT_EQ(resp->body_bytes, static_cast<std::uint64_t>(k_size));
    EXPECT_TRUE(c.wait_closed(3s));
    const auto status = server.wait_exit(5s);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_status(*status);
}

// TERM: out at once, whatever the clients are doing.
TEST(ShutdownTest, TermExitsAtOnce) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port), 2)));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    ASSERT_EQ(server.wait_workers(2).size(), 2u);

    HttpClient idle(port);
    ASSERT_TRUE(idle.send(http_get("/")));
    ASSERT_TRUE(idle.read_response().has_value()) << idle.error();
    HttpClient half(port);  // half a request head
    ASSERT_TRUE(half.send("GET / HTTP/1.1\r\nHost: local"));
    HttpClient silent(port);  // connected, nothing sent
    ASSERT_TRUE(silent.ok());
    std::this_thread::sleep_for(100ms);

    const auto start = Clock::now();
    ASSERT_TRUE(server.signal(SIGTERM));
    const auto status = server.wait_exit(5s);
    const double took = seconds_since(start);
    ASSERT_TRUE(status.has_value()) << "the master did not exit within 5 s of TERM";
    EXPECT_LT(took, 1.5) << "TERM took " << took << " s";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_status(*status);
    EXPECT_TRUE(idle.wait_closed(1s));
    EXPECT_TRUE(half.wait_closed(1s));
    EXPECT_TRUE(silent.wait_closed(1s));
    server.expect_no_sanitizer_reports();
}

// ---------------------------------------------------------------------------
// Workers

TEST(WorkerTest, KilledWorkerIsReplacedWithinOneSecond) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port))));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> before = server.wait_workers(1);
    ASSERT_EQ(before.size(), 1u);
    ASSERT_EQ(status_of(port, "/"), 200);

    const auto start = Clock::now();
    ASSERT_EQ(::kill(before.front(), SIGKILL), 0);
    const std::vector<pid_t> after = server.wait_workers(
        1, 1s, [&](const std::vector<pid_t>& w) { return w.front() != before.front(); });
    ASSERT_EQ(after.size(), 1u);
    ASSERT_NE(after.front(), before.front()) << "no new worker within 1 s";
    // The new worker accepts: a request within the same second.
    int status = -1;
    wait_until(
        [&] {
            status = status_of(port, "/");
            return status == 200;
        },
        std::chrono::duration_cast<std::chrono::milliseconds>(1s - (Clock::now() - start)));
    EXPECT_EQ(status, 200);
    EXPECT_LT(seconds_since(start), 1.0);
    EXPECT_TRUE(server.wait_for_text(
        "logs/error.log",
        "worker process " + std::to_string(before.front()) + " exited on signal 9", 2s))
        << server.error_log();
    server.stop();
}

// ---------------------------------------------------------------------------
// Reload

TEST(ReloadTest, BrokenConfigurationKeepsTheOldOne) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port))));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> before = server.wait_workers(1);
    ASSERT_EQ(before.size(), 1u);

    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port) + "    no_such_thing;\n")));
    ASSERT_TRUE(server.signal(SIGHUP));
    EXPECT_TRUE(server.wait_for_text("logs/error.log", "[emerg]", 5s)) << server.error_log();
    EXPECT_NE(
        server.error_log().find("unknown directive \"no_such_thing\" in " + server.conf_path()),
        std::string::npos)
        << server.error_log();
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(server.workers(), before) << "the workers changed after a failed reload";
    const auto resp = fetch(port, http_get("/"));
    ASSERT_TRUE(resp.has_value());
    EXPECT_EQ(resp->status, 200);
    EXPECT_EQ(resp->body, "hello\n");
    EXPECT_TRUE(process_alive(server.master()));
    server.stop();
}

TEST(ReloadTest, AddedListenPortIsServedAndTheOldOneStill) {
    TestServer server;
    const std::uint16_t port_a = free_port();
    const std::uint16_t port_b = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port_a))));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    ASSERT_EQ(status_of(port_a, "/"), 200);
    EXPECT_EQ(status_of(port_b, "/"), -1);

    std::string conf = TestServer::config(simple_http(port_a));
    const std::string listen_a = "listen 127.0.0.1:" + std::to_string(port_a) + ";";
    conf.insert(conf.find(listen_a) + listen_a.size(),
                "\n        listen 127.0.0.1:" + std::to_string(port_b) + ";");
    ASSERT_TRUE(server.configure(conf));
    ASSERT_TRUE(server.signal(SIGHUP));
    EXPECT_TRUE(wait_until([&] { return status_of(port_b, "/") == 200; }, 5s))
        << "the new port is not served 5 s after HUP\n"
        << server.error_log();
    EXPECT_EQ(status_of(port_a, "/"), 200);
    server.stop();
}

// What a client saw go wrong, for the report.
struct Failure {
    double at = 0;  // seconds since the start
    int request = 0;
    std::string what;
};

std::string describe(const std::vector<Failure>& failures) {
    std::string text;
    for (const Failure& f : failures) {
        char at[32];
        std::snprintf(at, sizeof(at), "%.3f", f.at);
        text += "  at " + std::string(at) + " s, request " + std::to_string(f.request) + ": " +
                f.what + "\n";
    }
    return text;
}

// Checks one response; "" when it is the expected one.
std::string check_response(const std::optional<HttpResponse>& r, const HttpClient& c,
                           const std::string& body) {
    if (!r) {
        return "no complete response (" + c.error() + "), pending \"" + c.pending() + "\"";
    }
    if (r->status != 200) {
        return "status " + std::to_string(r->status) + ": " + r->head;
    }
    if (r->body != body) {
        return "wrong body \"" + r->body + "\"";
    }
    return "";
}

// Two clients, one opening a connection per request, the other keeping its connection
// alive, request without pause while the master reloads five times. Neither may see
// a failed request. A keepalive connection that the server closes while idle is
// reopened, as every HTTP client does; a request sent on it in the very moment the
// server closed it, answered by nothing at all, is retried once on a new connection
// (RFC 9112 section 9.3.1): those retries are counted and reported, and the retried
// request must succeed.
TEST(ReloadTest, NoFailedRequestsThroughFiveReloads) {
    TestServer server;
    const std::uint16_t port = free_port();
    const std::string body(1000, 'r');
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port), 2)));
    ASSERT_TRUE(server.write("html/index.html", body));
    ASSERT_TRUE(server.start());
    std::vector<pid_t> workers = server.wait_workers(2);
    ASSERT_EQ(workers.size(), 2u);

    const auto start = Clock::now();
    std::atomic<bool> done{false};
    std::mutex lock;
    std::vector<Failure> fresh_failures;
    std::vector<Failure> keepalive_failures;
    std::atomic<int> fresh_requests{0};
    std::atomic<int> keepalive_requests{0};
    std::atomic<int> keepalive_retries{0};
    std::atomic<int> keepalive_reconnects{0};
    const std::string request = http_get("/");

    std::thread fresh([&] {
        for (int i = 0; !done; ++i) {
            HttpClient c(port);
            std::optional<HttpResponse> r;
            if (c.ok() && c.send(request, 3s)) {
                r = c.read_response(false, 3s);
            }
            const std::string what = check_response(r, c, body);
            ++fresh_requests;
            if (!what.empty()) {
                std::lock_guard<std::mutex> guard(lock);
                fresh_failures.push_back({seconds_since(start), i, what});
            }
        }
    });

    std::thread keepalive([&] {
        std::optional<HttpClient> c;
        for (int i = 0; !done; ++i) {
            bool reused = c.has_value();
            if (reused) {
                // Closed while idle (we see it before sending): open a new one.
                pollfd p{c->fd(), POLLIN | POLLRDHUP, 0};
                if (::poll(&p, 1, 0) == 1) {
                    ++keepalive_reconnects;
                    c.reset();
                    reused = false;
                }
            }
            if (!c) {
                c.emplace(port);
            }
            std::optional<HttpResponse> r;
            if (c->ok() && c->send(request, 3s)) {
                r = c->read_response(false, 3s);
            }
            if (!r && reused && c->peer_closed() && c->pending().empty()) {
                // Closed under our request before any byte of a response: retry.
                ++keepalive_retries;
                c.emplace(port);
                if (c->ok() && c->send(request, 3s)) {
                    r = c->read_response(false, 3s);
                }
            }
            const std::string what = check_response(r, *c, body);
            ++keepalive_requests;
            if (!what.empty()) {
                std::lock_guard<std::mutex> guard(lock);
                keepalive_failures.push_back(
                    {seconds_since(start), i, (reused ? "reused connection: " : "") + what});
            }
            if (!r || r->header_or("Connection") != "keep-alive" || c->peer_closed()) {
                c.reset();
            }
        }
    });

    for (int reload = 1; reload <= 5; ++reload) {
        std::this_thread::sleep_for(300ms);
        ASSERT_TRUE(server.signal(SIGHUP));
        EXPECT_TRUE(server.wait_for_text("logs/error.log", "reconfiguring", 5s,
                                         static_cast<std::size_t>(reload)));
        const std::vector<pid_t> old = workers;
        workers = server.wait_workers(2, 5s, [&](const std::vector<pid_t>& w) {
            return std::none_of(w.begin(), w.end(), [&](pid_t p) {
                return std::find(old.begin(), old.end(), p) != old.end();
            });
        });
        EXPECT_EQ(workers.size(), 2u) << "reload " << reload << ": the old workers did not exit";
    }
    std::this_thread::sleep_for(300ms);
    done = true;
    fresh.join();
    keepalive.join();

    std::printf(
        "[   INFO   ] %d requests on new connections, %d keepalive requests, "
        "%d keepalive connections closed while idle, %d requests retried\n",
        fresh_requests.load(), keepalive_requests.load(), keepalive_reconnects.load(),
        keepalive_retries.load());
    RecordProperty("keepalive_retries", keepalive_retries.load());
    EXPECT_TRUE(fresh_failures.empty()) << fresh_failures.size() << " of " << fresh_requests
                                        << " requests on new connections failed:\n"
                                        << describe(fresh_failures);
    EXPECT_TRUE(keepalive_failures.empty()) << keepalive_failures.size() << " of "
                                            << keepalive_requests << " keepalive requests failed:\n"
                                            << describe(keepalive_failures);
    EXPECT_GT(fresh_requests, 50);
    EXPECT_GT(keepalive_requests, 50);
    server.stop();
    server.expect_no_sanitizer_reports();
}

// ---------------------------------------------------------------------------
// Spreading connections over two workers

struct BalanceCase {
    const char* name;
    const char* events;
    const char* listen_options;
};

void PrintTo(const BalanceCase& c, std::ostream* os) {
    *os << c.name;
}

class BalanceTest : public ::testing::TestWithParam<BalanceCase> {};

// Connections in waves of 16 at once, each answered and held until the wave is done,
// until both workers have answered (X-Worker: $pid names the one that did). How many
// connections that takes is the scheduler's business, not the server's: with the
// accept mutex the worker that holds it keeps it while it waits for events, and the
// other one, retrying every accept_mutex_delay, wins only when its retry falls while
// the holder is busy. On a loaded machine the waves come slowly, the holder mostly
// waits, and that takes many more waves; so the bound is a number of connections,
// with a time limit only against a hang, never a time budget a loaded machine could
// spend first.
TEST_P(BalanceTest, BothWorkersAccept) {
    const BalanceCase& c = GetParam();
    TestServer server;
    const std::uint16_t port = free_port();
    const std::string http =
        "    log_format bypid '$pid $request';\n"
        "    access_log logs/access.log bypid;\n"
        "    server {\n        listen 127.0.0.1:" +
        std::to_string(port) + std::string(c.listen_options) +
        ";\n        root html;\n        add_header X-Worker $pid;\n    }\n";
    ASSERT_TRUE(server.configure(TestServer::config(http, 2, c.events)));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> workers = server.wait_workers(2);
    ASSERT_EQ(workers.size(), 2u);

    constexpr int k_wave = 16;
    constexpr int k_most = 20000;
    int made = 0;
    std::map<pid_t, int> served;
    const auto start = Clock::now();
    while (served.size() < 2 && made < k_most && Clock::now() < start + 120s) {
        std::vector<HttpClient> wave;
        for (int i = 0; i < k_wave; ++i) {
            wave.emplace_back(port, 10s);
            ASSERT_TRUE(wave.back().ok()) << wave.back().error();
        }
        for (HttpClient& client : wave) {
            ASSERT_TRUE(client.send(http_get("/")));
        }
        for (HttpClient& client : wave) {
            const auto r = client.read_response(false, 10s);
            ASSERT_TRUE(r.has_value()) << client.error();
            ASSERT_EQ(r->status, 200);
            ++served[static_cast<pid_t>(std::atol(r->header_or("X-Worker").c_str()))];
        }
        made += k_wave;
    }
    std::string counts;
    for (const auto& [pid, n] : served) {
        counts += " " + std::to_string(pid) + ":" + std::to_string(n);
    }
    std::printf("[   INFO   ] %s: %d connections in %.2f s, served by pid:count%s\n", c.name, made,
                seconds_since(start), counts.c_str());
    EXPECT_EQ(served.size(), 2u) << "after " << made << " connections, served by" << counts;
    for (const auto& [pid, n] : served) {
        EXPECT_TRUE(std::find(workers.begin(), workers.end(), pid) != workers.end())
            << pid << " is not a worker";
    }
    // The access log agrees: every connection logged, by the worker that answered.
    ASSERT_TRUE(wait_until(
        [&] {
            return split_lines(server.read("logs/access.log")).size() >=
                   static_cast<std::size_t>(made);
        },
        10s));
    std::map<pid_t, int> logged;
    for (const std::string& line : split_lines(server.read("logs/access.log"))) {
        ++logged[static_cast<pid_t>(std::atol(line.c_str()))];
    }
    EXPECT_EQ(logged, served);
    server.stop();
    server.expect_no_sanitizer_reports();
}

const BalanceCase k_balance_cases[] = {
    {"AcceptMutex", "worker_connections 256;\n    accept_mutex on;\n    accept_mutex_delay 50ms;",
     ""},
    {"EpollExclusive", "worker_connections 256;\n    accept_mutex off;", ""},
    {"Reuseport", "worker_connections 256;", " reuseport"},
};

INSTANTIATE_TEST_SUITE_P(Methods, BalanceTest, ::testing::ValuesIn(k_balance_cases),
                         [](const auto& p) { return std::string(p.param.name); });

// ---------------------------------------------------------------------------
// Logs and binary upgrade

// USR1 after the logs were renamed: new files are opened and written.
TEST(LogTest, Usr1ReopensRenamedLogs) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port))));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    ASSERT_EQ(server.wait_workers(1).size(), 1u);
    ASSERT_EQ(status_of(port, "/"), 200);
    ASSERT_TRUE(server.wait_for_text("logs/access.log", "\"GET / HTTP/1.1\" 200"));

    ASSERT_EQ(
        ::rename(server.path("logs/access.log").c_str(), server.path("logs/access.log.1").c_str()),
        0);
    ASSERT_EQ(
        ::rename(server.path("logs/error.log").c_str(), server.path("logs/error.log.1").c_str()),
        0);
    ASSERT_TRUE(server.signal(SIGUSR1));
    // As in nginx, the master and the worker say "reopening logs" in the file they are
    // leaving; the master creates the new one.
    EXPECT_TRUE(server.wait_for_text("logs/error.log.1", "reopening logs", 5s, 2))
        << server.read("logs/error.log.1");
    EXPECT_TRUE(wait_until([&] { return file_exists(server.path("logs/error.log")); }, 3s))
        << "no new error.log after USR1";

    const auto r = fetch(port, http_get("/", "localhost", "User-Agent: after-usr1\r\n"));
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(server.wait_for_text("logs/access.log", "after-usr1", 3s))
        << "the request after USR1 is not in the new access.log; the renamed one has:\n"
        << server.read("logs/access.log.1");
    EXPECT_EQ(server.read("logs/access.log.1").find("after-usr1"), std::string::npos)
        << "the request after USR1 went to the renamed access log";
    server.stop();
}

// USR2 starts the new binary on the same sockets; QUIT to the old master leaves it
// serving alone.
TEST(UpgradeTest, Usr2ThenQuitLeavesTheNewBinaryServing) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(simple_http(port))));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const pid_t old_master = server.master();
    const std::vector<pid_t> old_workers = server.wait_workers(1);
    ASSERT_EQ(old_workers.size(), 1u);
    ASSERT_EQ(status_of(port, "/"), 200);

    ASSERT_TRUE(server.signal(SIGUSR2));
    pid_t new_master = -1;
    ASSERT_TRUE(wait_until(
        [&] {
            new_master = server.pid_in_file("logs/evserve.pid");
            return server.pid_in_file("logs/evserve.pid.oldbin") == old_master && new_master > 0 &&
                   new_master != old_master;
        },
        10s))
        << "oldbin: " << server.read("logs/evserve.pid.oldbin")
        << ", pid: " << server.read("logs/evserve.pid") << "\n"
        << server.error_log();
    server.adopt(new_master);
    const auto st = proc_stat(new_master);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->parent, old_master);
    EXPECT_TRUE(wait_until([&] { return child_pids(new_master).size() == 1; }, 5s))
        << "the new master started no worker";
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(status_of(port, "/"), 200) << "request " << i << " with both masters";
    }

    ASSERT_TRUE(server.signal(SIGQUIT));
    const auto status = server.wait_exit(10s);
    ASSERT_TRUE(status.has_value()) << "the old master did not exit after QUIT";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_status(*status);
    EXPECT_FALSE(process_alive(old_workers.front()));
    EXPECT_TRUE(process_alive(new_master));
    EXPECT_EQ(server.pid_in_file("logs/evserve.pid"), new_master);
    EXPECT_FALSE(file_exists(server.path("logs/evserve.pid.oldbin")));
    for (int i = 0; i < 20; ++i) {
        std::string why;
        const auto r = fetch(port, http_get("/"), &why);
        ASSERT_TRUE(r.has_value()) << "request " << i << " after the old master exited: " << why;
        EXPECT_EQ(r->status, 200);
    }

    // The new master stops as any master does.
    ASSERT_EQ(::kill(new_master, SIGQUIT), 0);
    EXPECT_TRUE(server.wait_adopted_exit(new_master, 10s)) << "the new master did not exit";
    EXPECT_FALSE(file_exists(server.pid_path()));
    server.expect_no_sanitizer_reports();
}

}  // namespace
}  // namespace evs::test
