// The main and events directives that shape the processes, checked on the real binary
// through /proc: daemon, worker_shutdown_timeout, worker_cpu_affinity,
// timer_resolution, worker_rlimit_nofile, user, and error_log with several files and
// levels. A normal start, reload and stop must leave no [alert] line in the error log.
// Each test writes its own configuration into a temporary prefix and talks HTTP over
// 127.0.0.1 (see server_fixture.hpp).

#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

// A server block on `port` serving html/.
std::string site(std::uint16_t port, std::string_view extra = "") {
    std::string text = "    access_log logs/access.log;\n";
    text.append(extra);
    text += "    server {\n        listen 127.0.0.1:" + std::to_string(port) +
            ";\n        server_name localhost;\n        root html;\n    }\n";
    return text;
}

std::string proc_file(pid_t pid, std::string_view name) {
    return read_file("/proc/" + std::to_string(pid) + "/" + std::string(name));
}

// The value of a "Name:\tvalue" line of /proc/<pid>/status, or "".
std::string status_field(pid_t pid, std::string_view name) {
    for (const std::string& line : split_lines(proc_file(pid, "status"))) {
        if (line.starts_with(name) && line.size() > name.size() && line[name.size()] == ':') {
            const std::size_t value = line.find_first_not_of(" \t", name.size() + 1);
            return value == std::string::npos ? "" : line.substr(value);
        }
    }
    return "";
}

// The first number of the Uid: or Gid: line (the real id).
long real_id(pid_t pid, std::string_view field) {
    const std::string value = status_field(pid, field);
    return value.empty() ? -1 : std::atol(value.c_str());
}

// The session of a process, from /proc/<pid>/stat (state ppid pgrp session ...).
pid_t session_of(pid_t pid) {
    const std::string text = proc_file(pid, "stat");
    const std::size_t paren = text.rfind(')');
    if (paren == std::string::npos) {
        return -1;
    }
    std::istringstream rest(text.substr(paren + 2));
    char state = 0;
    long parent = 0;
    long group = 0;
    long session = -1;
    rest >> state >> parent >> group >> session;
    return static_cast<pid_t>(session);
}

// What a descriptor of a process points at ("/dev/null", "anon_inode:[timerfd]"...).
std::string fd_target(pid_t pid, int fd) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(
        "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec);
    return ec ? "" : target.string();
}

// The soft and hard "Max open files" of /proc/<pid>/limits.
std::pair<std::string, std::string> nofile_limits(pid_t pid) {
    for (const std::string& line : split_lines(proc_file(pid, "limits"))) {
        if (line.starts_with("Max open files")) {
            std::istringstream rest(line.substr(std::strlen("Max open files")));
            std::string soft;
            std::string hard;
            rest >> soft >> hard;
            return {soft, hard};
        }
    }
    return {};
}

// Reaps a process this test is the subreaper of, once it has exited.
bool wait_reaped(pid_t pid, std::chrono::milliseconds timeout) {
    return wait_until(
        [&] {
            int status = 0;
            const pid_t r = ::waitpid(pid, &status, WNOHANG);
            return r == pid || (r < 0 && errno == ECHILD && !process_alive(pid));
        },
        timeout);
}

// A normal run writes nothing at alert or emerg.
void expect_no_alert(const std::string& log) {
    EXPECT_EQ(log.find("[alert]"), std::string::npos) << log;
    EXPECT_EQ(log.find("[emerg]"), std::string::npos) << log;
}

// ---------------------------------------------------------------------------
// daemon on

// Started without -g "daemon off;": the command returns at once, and the master it
// leaves behind is detached (a new session, adopted by us as the subreaper, stdin
// and stdout on /dev/null, stderr on the error log as nginx does), serves, and stops
// with -s quit, removing its pid file.
TEST(DaemonTest, DetachesServesAndQuits) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(site(port), 1, "worker_connections 256;",
                                                    "daemon on;\nmaster_process on;")));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));

    // Bounded, not timed: a master that did not detach would never return.
    const RunResult started = server.run_with_conf({}, 10s);
    ASSERT_TRUE(started.exited) << "the starting command did not return";
    EXPECT_EQ(started.exit_code(), 0) << describe_status(started.status) << started.err;
    EXPECT_EQ(started.out, "");

    ASSERT_TRUE(wait_until([&] { return server.pid_in_file("logs/evserve.pid") > 0; }, 5s))
        << "no pid file";
    const pid_t master = server.pid_in_file("logs/evserve.pid");
    server.adopt(master);  // killed at the end whatever happens
    ASSERT_TRUE(process_alive(master));
    const auto st = proc_stat(master);
    ASSERT_TRUE(st.has_value());
    // The starting process has exited: the master was adopted by the nearest
    // subreaper, this test (or by init where there is none).
    EXPECT_TRUE(st->parent == ::getpid() || st->parent == 1) << "parent " << st->parent;
    EXPECT_EQ(session_of(master), master) << "setsid() was not called";
    EXPECT_EQ(fd_target(master, 0), "/dev/null");
    EXPECT_EQ(fd_target(master, 1), "/dev/null");
    EXPECT_EQ(fd_target(master, 2), server.path("logs/error.log"))
        << "stderr should go to the error log, as nginx's ngx_log_redirect_stderr() does";

    // The pid file is written once the sockets listen, before the worker is forked.
    std::vector<pid_t> workers;
    ASSERT_TRUE(wait_until(
        [&] {
            workers = child_pids(master);
            return workers.size() == 1;
        },
        5s))
        << "workers: " << workers.size();
    EXPECT_EQ(session_of(workers[0]), master);
    EXPECT_EQ(status_of(port, "/"), 200);

    // Reopening the logs (USR1) after the file was moved away takes stderr along, in
    // the master and in the worker (nginx's ngx_reopen_files()).
    ASSERT_EQ(
        ::rename(server.path("logs/error.log").c_str(), server.path("logs/error.log.1").c_str()),
        0);
    EXPECT_EQ(fd_target(master, 2), server.path("logs/error.log.1"));
    const RunResult reopen = server.run_with_conf({"-s", "reopen"}, 5s);
    EXPECT_EQ(reopen.exit_code(), 0) << reopen.err;
    EXPECT_TRUE(wait_until(
        [&] {
            return fd_target(master, 2) == server.path("logs/error.log") &&
                   fd_target(workers[0], 2) == server.path("logs/error.log");
        },
        5s))
        << "master stderr -> " << fd_target(master, 2) << ", worker stderr -> "
        << fd_target(workers[0], 2);

    const RunResult quit = server.run_with_conf({"-s", "quit"}, 5s);
    EXPECT_EQ(quit.exit_code(), 0) << quit.err;
    EXPECT_TRUE(wait_reaped(master, 10s)) << "the master did not exit after -s quit";
    EXPECT_FALSE(process_alive(workers[0]));
    EXPECT_FALSE(file_exists(server.pid_path()));
    const std::string log = server.error_log();
    EXPECT_NE(log.find("[notice] " + std::to_string(master) + "#0: exit"), std::string::npos)
        << log;
    expect_no_alert(log);
}

// ---------------------------------------------------------------------------
// worker_shutdown_timeout

// A client that asks for a large file and never reads it keeps a response in flight
// that cannot finish: after QUIT the worker waits for it, for ever without
// worker_shutdown_timeout, about the timeout with it.
class ShutdownTimeoutTest : public ::testing::TestWithParam<bool> {};

TEST_P(ShutdownTimeoutTest, StuckResponseAfterQuit) {
    const bool with_timeout = GetParam();
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(
        TestServer::config(site(port, "    send_timeout 60s;\n"), 1, "worker_connections 256;",
                           with_timeout ? "worker_shutdown_timeout 1s;" : "")));
    // Far more than the socket buffers of both ends hold.
    ASSERT_TRUE(server.write("html/big.bin", std::string(48u << 20, 'x')));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> workers = server.wait_workers(1);
    ASSERT_EQ(workers.size(), 1u);

    HttpClient stuck(port);
    ASSERT_TRUE(stuck.ok()) << stuck.error();
    ASSERT_TRUE(stuck.send(http_get("/big.bin")));
    // The response has started: bytes wait in our receive buffer.
    ASSERT_TRUE(wait_until(
        [&] {
            int queued = 0;
            return ::ioctl(stuck.fd(), FIONREAD, &queued) == 0 && queued > 0;
        },
        5s));

    ASSERT_TRUE(server.signal(SIGQUIT));
    const auto quit_at = Clock::now();
    if (with_timeout) {
        ASSERT_TRUE(wait_until([&] { return !process_alive(workers[0]); }, 10s))
            << "the worker did not exit within 10 s of QUIT";
        const double took = seconds_since(quit_at);
        EXPECT_GE(took, 0.8);
        EXPECT_LE(took, 5.0);
        // The connection was closed, not finished: it ends short of 48 MB.
        std::string rest;
        EXPECT_TRUE(stuck.wait_closed(10s, &rest)) << "the connection stayed open";
        EXPECT_LT(rest.size(), 48u << 20);
        const auto status = server.wait_exit(10s);
        ASSERT_TRUE(status.has_value()) << "the master did not exit";
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_status(*status);
        EXPECT_TRUE(server.wait_for_text("logs/error.log", "shutdown timeout", 1s));
    } else {
        std::this_thread::sleep_for(2s);
        EXPECT_TRUE(process_alive(workers[0])) << "the worker gave up on a response in flight";
        EXPECT_TRUE(process_alive(server.master()));
        server.stop(SIGTERM);
    }
    expect_no_alert(server.error_log());
    server.expect_no_sanitizer_reports();
}

INSTANTIATE_TEST_SUITE_P(Directive, ShutdownTimeoutTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "OneSecond" : "None"; });

// An unfinished request body keeps the worker too (answered, the connection lingers
// to drain the body, here for up to 30 s); the timeout closes it.
TEST(ShutdownTimeoutBodyTest, UnfinishedRequestBodyIsClosedAtTheTimeout) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(
        TestServer::config(site(port,
                                "    client_body_timeout 60s;\n    lingering_time 60s;\n"
                                "    lingering_timeout 30s;\n"),
                           1, "worker_connections 256;", "worker_shutdown_timeout 1s;")));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> workers = server.wait_workers(1);
    ASSERT_EQ(workers.size(), 1u);

    HttpClient client(port);
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(
        client.send("POST /index.html HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Length: 100000\r\n\r\npart of the body"));
    // Let the worker read the head before QUIT (nothing outside shows when it has).
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(server.signal(SIGQUIT));
    const auto quit_at = Clock::now();
    ASSERT_TRUE(wait_until([&] { return !process_alive(workers[0]); }, 10s));
    const double took = seconds_since(quit_at);
    EXPECT_GE(took, 0.8);
    EXPECT_LE(took, 5.0);
    EXPECT_TRUE(client.wait_closed(5s));
    const auto status = server.wait_exit(10s);
    ASSERT_TRUE(status.has_value());
    expect_no_alert(server.error_log());
}

// ---------------------------------------------------------------------------
// worker_cpu_affinity

// Whether this process may run on every CPU in `cpus`.
bool cpus_allowed(std::initializer_list<int> cpus) {
    cpu_set_t mine;
    CPU_ZERO(&mine);
    if (::sched_getaffinity(0, sizeof(mine), &mine) != 0) {
        return false;
    }
    for (int cpu : cpus) {
        if (!CPU_ISSET(cpu, &mine)) {
            return false;
        }
    }
    return true;
}

struct AffinityCase {
    const char* name;
    const char* directive;
    const char* expected[2];  // Cpus_allowed_list of worker 0 and worker 1
};

void PrintTo(const AffinityCase& c, std::ostream* os) {
    *os << c.name;
}

class CpuAffinityTest : public ::testing::TestWithParam<AffinityCase> {};

// Worker numbers are not visible from outside, but the master starts worker 0 first
// and logs "start worker process <pid>" for each in turn. Each worker binds itself
// right after fork(): /proc is polled until it shows the expected CPUs.
TEST_P(CpuAffinityTest, WorkersRunOnTheirCpus) {
    const AffinityCase& c = GetParam();
    if (!cpus_allowed({0, 1})) {
        GTEST_SKIP() << "needs CPUs 0 and 1 (this machine has " << ::sysconf(_SC_NPROCESSORS_ONLN)
                     << " online, allowed: " << status_field(::getpid(), "Cpus_allowed_list")
                     << ")";
    }
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(
        TestServer::config(site(port), 2, "worker_connections 256;", c.directive)));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> workers = server.wait_workers(2);
    ASSERT_EQ(workers.size(), 2u);
    ASSERT_TRUE(server.wait_for_text("logs/error.log", "start worker process ", 5s, 2));

    std::vector<pid_t> by_number;
    for (const std::string& line : split_lines(server.error_log())) {
        constexpr std::string_view k_started = "start worker process ";
        const std::size_t at = line.find(k_started);
        if (at != std::string::npos) {
            by_number.push_back(
                static_cast<pid_t>(std::atol(line.c_str() + at + k_started.size())));
        }
    }
    ASSERT_EQ(by_number.size(), 2u) << server.error_log();
    // nginx's notice for each CPU a worker binds itself to, written just before the
    // call: once it is there, /proc soon shows the result (a mask of every CPU looks
    // like no binding at all, so the notice is what says the worker got there).
    const auto notice = [&](int n) {
        return "[notice] " + std::to_string(by_number[static_cast<std::size_t>(n)]) +
               "#0: sched_setaffinity(): using cpu #";
    };
    const auto bound = [&](int n) {
        return server.error_log().find(notice(n)) != std::string::npos &&
               status_field(by_number[static_cast<std::size_t>(n)], "Cpus_allowed_list") ==
                   c.expected[n];
    };
    wait_until([&] { return bound(0) && bound(1); }, 5s);
    for (int n = 0; n < 2; ++n) {
        const pid_t pid = by_number[static_cast<std::size_t>(n)];
        EXPECT_TRUE(std::find(workers.begin(), workers.end(), pid) != workers.end());
        EXPECT_NE(server.error_log().find(notice(n)), std::string::npos) << server.error_log();
        EXPECT_EQ(status_field(pid, "Cpus_allowed_list"), c.expected[n]) << "worker " << n;
    }
    // The master is not bound.
    EXPECT_EQ(status_field(server.master(), "Cpus_allowed_list"),
              status_field(::getpid(), "Cpus_allowed_list"));
    EXPECT_EQ(status_of(port, "/"), 200);
    server.stop(SIGQUIT);
    expect_no_alert(server.error_log());
}

const AffinityCase k_affinity_cases[] = {
    {"Masks", "worker_cpu_affinity 01 10;", {"0", "1"}},
    {"BothCpusEach", "worker_cpu_affinity 11;", {"0-1", "0-1"}},
    {"LastMaskRepeats", "worker_cpu_affinity 10;", {"1", "1"}},
    {"Auto", "worker_cpu_affinity auto;", {"0", "1"}},
    // auto with a mask takes the CPUs of the mask in turn.
    {"AutoWithMask", "worker_cpu_affinity auto 10;", {"1", "1"}},
};

INSTANTIATE_TEST_SUITE_P(Directive, CpuAffinityTest, ::testing::ValuesIn(k_affinity_cases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(CpuAffinityConfigTest, BadMasksAreConfigErrors) {
    struct Case {
        const char* directive;
        const char* message;
    };
    const Case cases[] = {
        {"worker_cpu_affinity 012;", "invalid character \"2\" in \"worker_cpu_affinity\""},
        {"worker_cpu_affinity auto 01 10;",
         "invalid number of arguments in \"worker_cpu_affinity\" directive"},
    };
    for (const Case& c : cases) {
        TestServer server;
        ASSERT_TRUE(server.configure(
            TestServer::config(site(free_port()), 2, "worker_connections 256;", c.directive)));
        // config(): the main directives come on line 4.
        EXPECT_TRUE(config_test_fails(server, emerg_at(c.message, server.conf_path(), 4)))
            << c.directive;
    }
}

// ---------------------------------------------------------------------------
// timer_resolution

// The timerfd's settings, from /proc/<pid>/fdinfo: "it_interval: (0, 100000000)".
std::string timerfd_interval(pid_t pid) {
    for (int fd = 0; fd < 64; ++fd) {
        if (fd_target(pid, fd) != "anon_inode:[timerfd]") {
            continue;
        }
        for (const std::string& line :
             split_lines(proc_file(pid, "fdinfo/" + std::to_string(fd)))) {
            if (line.starts_with("it_interval:")) {
                return line.substr(line.find('('));
            }
        }
    }
    return "";
}

// The timeouts of the epoll_wait calls strace saw in `pid` for about `duration`.
std::vector<std::string> epoll_wait_timeouts(pid_t pid, std::chrono::milliseconds duration,
                                             std::string* raw) {
    char pattern[] = "/tmp/evs-strace-XXXXXX";
    const int fd = ::mkstemp(pattern);
    if (fd < 0) {
        return {};
    }
    ::close(fd);
    ChildProcess strace;
    std::vector<std::string> timeouts;
    if (strace.start("/usr/bin/strace",
                     {"-qq", "-e", "trace=epoll_wait", "-o", pattern, "-p", std::to_string(pid)})) {
        std::this_thread::sleep_for(duration);
        strace.signal(SIGINT);  // detaches
        strace.wait(5s);
    }
    *raw = read_file(pattern);
    ::unlink(pattern);
    // epoll_wait(5, [...], 512, -1) = 1; an unfinished call has no timeout yet.
    for (const std::string& line : split_lines(*raw)) {
        const std::size_t open = line.find("epoll_wait(");
        const std::size_t close = line.find(") = ");
        if (open == std::string::npos || close == std::string::npos) {
            continue;
        }
        const std::size_t comma = line.rfind(", ", close);
        timeouts.push_back(line.substr(comma + 2, close - comma - 2));
    }
    return timeouts;
}

TEST(TimerResolutionTest, TimerfdTicksAndWaitsHaveNoTimeout) {
    if (!file_exists("/usr/bin/strace")) {
        GTEST_SKIP() << "strace is not installed (scripts/deps.sh test installs it)";
    }
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(
        server.configure(TestServer::config(site(port, "    keepalive_timeout 1s;\n"), 1,
                                            "worker_connections 256;", "timer_resolution 100ms;")));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> workers = server.wait_workers(1);
    ASSERT_EQ(workers.size(), 1u);

    // An idle keepalive connection: its timer is pending while strace watches, yet
    // the worker waits without a timeout (the timerfd wakes it).
    HttpClient idle(port);
    ASSERT_TRUE(idle.ok());
    ASSERT_TRUE(idle.send(http_get("/")));
    const auto r = idle.read_response();
    ASSERT_TRUE(r.has_value()) << idle.error();
    ASSERT_EQ(r->status, 200);
    const auto served_at = Clock::now();
    // The worker is serving, so its loop is set up.
    EXPECT_EQ(timerfd_interval(workers[0]), "(0, 100000000)");
    EXPECT_EQ(timerfd_interval(server.master()), "") << "the master has no timer_resolution";

    std::string raw;
    const std::vector<std::string> timeouts = epoll_wait_timeouts(workers[0], 600ms, &raw);
    // With a 100 ms tick, 600 ms give several wake-ups even on a busy machine.
    EXPECT_GE(timeouts.size(), 2u) << raw;
    for (const std::string& t : timeouts) {
        EXPECT_EQ(t, "-1") << raw;
    }

    // The keepalive timer still fires, on a tick.
    EXPECT_TRUE(idle.wait_closed(5s)) << "the idle keepalive connection was not closed";
    const double idle_for = seconds_since(served_at);
    EXPECT_GE(idle_for, 0.9);
    EXPECT_LE(idle_for, 2.5);
    server.stop(SIGQUIT);
    expect_no_alert(server.error_log());
}

// Without timer_resolution the same idle connection bounds the wait: the contrast
// shows the strace check above can fail.
TEST(TimerResolutionTest, WithoutItWaitsAreBoundedByTimers) {
    if (!file_exists("/usr/bin/strace")) {
        GTEST_SKIP() << "strace is not installed (scripts/deps.sh test installs it)";
    }
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(site(port, "    keepalive_timeout 2s;\n"))));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> workers = server.wait_workers(1);
    ASSERT_EQ(workers.size(), 1u);

    HttpClient idle(port);
    ASSERT_TRUE(idle.ok());
    ASSERT_TRUE(idle.send(http_get("/")));
    ASSERT_TRUE(idle.read_response().has_value()) << idle.error();
    EXPECT_EQ(timerfd_interval(workers[0]), "");
    // A request on another connection makes the worker wait again while traced.
    std::string raw;
    std::thread poke([&] {
        std::this_thread::sleep_for(200ms);
        status_of(port, "/");
    });
    const std::vector<std::string> timeouts = epoll_wait_timeouts(workers[0], 600ms, &raw);
    poke.join();
    ASSERT_FALSE(timeouts.empty()) << raw;
    for (const std::string& t : timeouts) {
        EXPECT_NE(t, "-1") << raw;
    }
    server.stop(SIGQUIT);
}

// ---------------------------------------------------------------------------
// worker_rlimit_nofile

TEST(RlimitNofileTest, WorkersGetTheLimitMasterKeepsItsOwn) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(site(port), 2, "worker_connections 256;",
                                                    "worker_rlimit_nofile 1234;")));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> workers = server.wait_workers(2);
    ASSERT_EQ(workers.size(), 2u);
    const auto wanted = std::make_pair(std::string("1234"), std::string("1234"));
    for (pid_t w : workers) {
        // nginx sets both the soft and the hard limit. wait_workers() returns once the
        // workers are forked, before they set their limits: poll, bounded.
        EXPECT_TRUE(wait_until([&] { return nofile_limits(w) == wanted; }, 5s))
            << proc_file(w, "limits");
    }
    EXPECT_EQ(nofile_limits(server.master()), nofile_limits(::getpid()));
    EXPECT_EQ(status_of(port, "/"), 200);

    // A reload starts workers with the limit too.
    const std::vector<pid_t> old = workers;
    ASSERT_TRUE(server.signal(SIGHUP));
    const std::vector<pid_t> fresh = server.wait_workers(2, 10s, [&](const auto& found) {
        return std::none_of(found.begin(), found.end(), [&](pid_t p) {
            return std::find(old.begin(), old.end(), p) != old.end();
        });
    });
    ASSERT_EQ(fresh.size(), 2u);
    for (pid_t w : fresh) {
        EXPECT_TRUE(wait_until([&] { return nofile_limits(w) == wanted; }, 5s))
            << proc_file(w, "limits");
    }
    server.stop(SIGQUIT);
    expect_no_alert(server.error_log());
}

// ---------------------------------------------------------------------------
// user

struct UserCase {
    const char* name;
    const char* directive;
    const char* user;   // expected
    const char* group;  // expected; null: the user's own group
};

void PrintTo(const UserCase& c, std::ostream* os) {
    *os << c.name;
}

class UserTest : public ::testing::TestWithParam<UserCase> {};

TEST_P(UserTest, WorkersDropPrivilegesMasterStaysRoot) {
    const UserCase& c = GetParam();
    if (::geteuid() != 0) {
        GTEST_SKIP() << "the user directive takes effect only when started as root";
    }
    const passwd* pw = ::getpwnam(c.user);
    if (pw == nullptr) {
        GTEST_SKIP() << "no user " << c.user << " on this machine";
    }
    const long uid = pw->pw_uid;
    long gid = pw->pw_gid;
    if (c.group != nullptr) {
        const group* gr = ::getgrnam(c.group);
        if (gr == nullptr) {
            GTEST_SKIP() << "no group " << c.group << " on this machine";
        }
        gid = gr->gr_gid;
    }
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(
        TestServer::config(site(port), 2, "worker_connections 256;", c.directive)));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const std::vector<pid_t> workers = server.wait_workers(2);
    ASSERT_EQ(workers.size(), 2u);
    const std::string id = std::to_string(uid);
    const std::string ids = id + "\t" + id + "\t" + id + "\t" + id;
    // A worker switches right after fork(): give it the time to get there.
    wait_until(
        [&] {
            return std::all_of(workers.begin(), workers.end(),
                               [&](pid_t w) { return status_field(w, "Uid") == ids; });
        },
        5s);
    for (pid_t w : workers) {
        // Real, effective, saved and file-system ids alike: no way back to root.
        EXPECT_EQ(status_field(w, "Uid"), ids) << w;
        EXPECT_EQ(real_id(w, "Gid"), gid);
        // initgroups(): none of root's supplementary groups is left.
        std::istringstream groups(status_field(w, "Groups"));
        for (std::string g; groups >> g;) {
            EXPECT_NE(g, "0") << "worker " << w << " kept root's group";
        }
    }
    EXPECT_EQ(real_id(server.master(), "Uid"), 0);
    EXPECT_EQ(real_id(server.master(), "Gid"), 0);
    // The workers can still serve and log.
    EXPECT_EQ(status_of(port, "/"), 200);
    EXPECT_TRUE(server.wait_for_text("logs/access.log", "\"GET / HTTP/1.1\" 200"));
    server.stop(SIGQUIT);
    expect_no_alert(server.error_log());
}

const UserCase k_user_cases[] = {
    {"DefaultIsNobody", "", "nobody", "nogroup"},
    {"Explicit", "user nobody nogroup;", "nobody", "nogroup"},
    {"UserOnlyTakesItsGroup", "user daemon;", "daemon", nullptr},
};

INSTANTIATE_TEST_SUITE_P(Directive, UserTest, ::testing::ValuesIn(k_user_cases),
                         [](const auto& p) { return std::string(p.param.name); });

// An unknown user or group is found while reading the configuration, with its
// file:line, as nginx reports it: not by workers that die at start.
TEST(UserConfigTest, UnknownUserOrGroupIsAConfigError) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "the user directive is checked only when started as root";
    }
    struct Case {
        const char* directive;
        const char* message;
    };
    const Case cases[] = {
        {"user evs_no_such_user;", "getpwnam(\"evs_no_such_user\") failed"},
        {"user nobody evs_no_such_group;", "getgrnam(\"evs_no_such_group\") failed"},
    };
    for (const Case& c : cases) {
        TestServer server;
        ASSERT_TRUE(server.configure(
            TestServer::config(site(free_port()), 1, "worker_connections 256;", c.directive)));
        // config(): the main directives come on line 4.
        const std::string expected = emerg_at(c.message, server.conf_path(), 4);
        EXPECT_TRUE(config_test_fails(server, expected)) << c.directive;
        EXPECT_TRUE(config_start_fails(server, expected)) << c.directive;
    }
}

// ---------------------------------------------------------------------------
// error_log

// Three logs at three levels: a line lands in each log whose level allows it.
TEST(ErrorLogTest, EachLogGetsWhatItsLevelAllows) {
    TestServer server;
    const std::uint16_t port = free_port();
    ASSERT_TRUE(server.configure(TestServer::config(
        site(port), 1, "worker_connections 256;",
        "error_log logs/a.log info;\nerror_log logs/b.log warn;\nerror_log logs/c.log crit;")));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    ASSERT_EQ(server.wait_workers(1).size(), 1u);

    // [info]: a request line the parser refuses (nginx logs it at info).
    const auto bad = fetch(port, "G@T / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->status, 400);
    // [error]: a file that is not there.
    EXPECT_EQ(status_of(port, "/missing.html"), 404);
    ASSERT_TRUE(server.wait_for_text("logs/a.log", "open() \""));
    ASSERT_TRUE(server.wait_for_text("logs/b.log", "open() \""));
    // The master writes its notice after fork() returns, maybe after the worker served.
    ASSERT_TRUE(server.wait_for_text("logs/a.log", "start worker process"));
    ASSERT_TRUE(server.wait_for_text("logs/a.log", "client sent invalid method"));

    const std::string a = server.read("logs/a.log");
    const std::string b = server.read("logs/b.log");
    const std::string c = server.read("logs/c.log");
    EXPECT_NE(a.find("[notice]"), std::string::npos) << a;
    EXPECT_NE(a.find("[info]"), std::string::npos) << a;
    EXPECT_NE(a.find("client sent invalid method"), std::string::npos) << a;
    EXPECT_NE(a.find("start worker process"), std::string::npos) << a;
    EXPECT_NE(a.find("[error]"), std::string::npos) << a;

    EXPECT_NE(b.find("[error]"), std::string::npos) << b;
    EXPECT_EQ(b.find("[notice]"), std::string::npos) << b;
    EXPECT_EQ(b.find("[info]"), std::string::npos) << b;
    EXPECT_EQ(b.find("start worker process"), std::string::npos) << b;
    EXPECT_EQ(b.find("client sent invalid method"), std::string::npos) << b;

    EXPECT_EQ(c, "") << "nothing at crit or above happened";

    // A reload and a reopen keep every log at its level.
    ASSERT_TRUE(server.signal(SIGHUP));
    EXPECT_TRUE(server.wait_for_text("logs/a.log", "reconfiguring"));
    ASSERT_TRUE(server.signal(SIGUSR1));
    EXPECT_TRUE(server.wait_for_text("logs/a.log", "reopening logs"));
    server.stop(SIGQUIT);
    EXPECT_TRUE(server.wait_for_text("logs/a.log", "exit"));
    EXPECT_EQ(server.read("logs/b.log").find("[notice]"), std::string::npos);
    EXPECT_EQ(server.read("logs/c.log"), "");
    expect_no_alert(server.read("logs/a.log"));
    expect_no_alert(server.error_log());
}

TEST(ErrorLogTest, StderrLog) {
    TestServer server;
    const std::uint16_t port = free_port();
    // No file log at all: config() would add logs/error.log.
    const std::string conf =
        "worker_processes 1;\n"
        "error_log stderr notice;\n"
        "pid logs/evserve.pid;\n"
        "events {\n    worker_connections 256;\n}\n"
        "http {\n    include mime.types;\n" +
        site(port) + "}\n";
    ASSERT_TRUE(server.configure(conf));
    ASSERT_TRUE(server.write("html/index.html", "hello\n"));
    ASSERT_TRUE(server.start());
    const pid_t master = server.master();
    ASSERT_EQ(server.wait_workers(1).size(), 1u);
    EXPECT_EQ(status_of(port, "/missing"), 404);
    ASSERT_TRUE(wait_until(
        [&] {
            const std::string err = server.server_stderr();
            return err.find("open() \"") != std::string::npos &&
                   err.find("start worker process") != std::string::npos;
        },
        5s))
        << server.server_stderr();
    server.stop(SIGQUIT);
    const std::string err = server.server_stderr();
    EXPECT_NE(err.find("[notice] " + std::to_string(master) + "#0: exit"), std::string::npos)
        << err;
    EXPECT_NE(err.find("start worker process"), std::string::npos) << err;
    EXPECT_NE(err.find("[error]"), std::string::npos) << err;
    expect_no_alert(err);
    EXPECT_FALSE(file_exists(server.path("logs/error.log"))) << "no file log was configured";
}

}  // namespace
}  // namespace evs::test
