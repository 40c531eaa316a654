#pragma once

// ChildProcess: a real binary started for an integration test, with its stdout on a
// pipe the test reads (line by line, with a time limit) and its stderr captured in a
// memory file, printed if the test fails. Every wait is bounded: a test that goes
// wrong fails, it does not hang. The destructor kills (SIGKILL) and reaps a child
// still running, so an ASSERT that returns early leaves no process behind.
// Thread: the test's thread.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

extern char** environ;

namespace evs::test {

class ChildProcess {
public:
    ChildProcess() = default;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    ~ChildProcess() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        if (::testing::Test::HasFailure() && stderr_fd_ >= 0) {
            const std::string text = stderr_text();
            if (!text.empty()) {
                std::fprintf(stderr, "--- stderr of %s ---\n%s--- end ---\n", path_.c_str(),
                             text.c_str());
            }
        }
        close_fd(stdout_fd_);
        close_fd(stderr_fd_);
    }

    // Starts `path` with `args` (argv[1...]); false (with a gtest failure) on error.
    bool start(const std::string& path, const std::vector<std::string>& args) {
        path_ = path;
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) {
            ADD_FAILURE() << "pipe2: " << std::strerror(errno);
            return false;
        }
        stdout_fd_ = out[0];
        stderr_fd_ = ::memfd_create("evs-child-stderr", MFD_CLOEXEC);

        std::vector<std::string> storage{path};
        storage.insert(storage.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (std::string& s : storage) {
            argv.push_back(s.data());
        }
        argv.push_back(nullptr);

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        if (stderr_fd_ >= 0) {
            posix_spawn_file_actions_adddup2(&actions, stderr_fd_, STDERR_FILENO);
        }
        // The child starts with no signal blocked and default dispositions, whatever
        // the test runner did to its own.
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none;
        sigset_t defaults;
        sigemptyset(&none);
        sigemptyset(&defaults);
        for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGCHLD}) {
            sigaddset(&defaults, sig);
        }
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

        const int rc = ::posix_spawn(&pid_, path.c_str(), &actions, &attr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        ::close(out[1]);
        if (rc != 0) {
            pid_ = -1;
            ADD_FAILURE() << "posix_spawn " << path << ": " << std::strerror(rc);
            return false;
        }
        return true;
    }

    pid_t pid() const { return pid_; }

    // The next line of stdout without its newline, or nothing if none arrives within
    // `timeout` or stdout ends first.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto newline = pending_.find('\n');
            if (newline != std::string::npos) {
                std::string line = pending_.substr(0, newline);
                pending_.erase(0, newline + 1);
                return line;
            }
            if (!read_some(deadline)) {
                return std::nullopt;
            }
        }
    }

    // Everything the child writes to stdout until it closes it, or nothing if that
    // takes longer than `timeout`.
    std::optional<std::string> read_all(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!stdout_closed_) {
            if (!read_some(deadline) && !stdout_closed_) {
                return std::nullopt;
            }
        }
        return std::exchange(pending_, std::string());
    }

    bool signal(int sig) { return pid_ > 0 && ::kill(pid_, sig) == 0; }

    // The wait status once the child has exited, or nothing if it is still running
    // after `timeout` (it is then left to the destructor to kill).
    std::optional<int> wait(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (pid_ > 0) {
            int status = 0;
            const pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                return status;
            }
            if (r < 0 && errno != EINTR) {
                return std::nullopt;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                return std::nullopt;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return std::nullopt;
    }

    std::string stderr_text() const {
        std::string text;
        char buf[4096];
        off_t offset = 0;
        ssize_t n;
        while (stderr_fd_ >= 0 && (n = ::pread(stderr_fd_, buf, sizeof(buf), offset)) > 0) {
            text.append(buf, static_cast<std::size_t>(n));
            offset += n;
        }
        return text;
    }

private:
    // Reads what stdout has; false at the deadline or at end of stream.
    bool read_some(std::chrono::steady_clock::time_point deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || stdout_closed_) {
            return false;
        }
        pollfd p{stdout_fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            return true;
        }
        if (ready <= 0) {
            return false;
        }
        char buf[4096];
        const ssize_t n = ::read(stdout_fd_, buf, sizeof(buf));
        if (n <= 0) {
            stdout_closed_ = n == 0 || errno != EINTR;
            return !stdout_closed_;
        }
        pending_.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    static void close_fd(int fd) {
        if (fd >= 0) {
            ::close(fd);
        }
    }

    std::string path_;
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    int stderr_fd_ = -1;
    bool stdout_closed_ = false;
    std::string pending_;
};

// "exited with status 0", "killed by signal 9": for assertion messages.
inline std::string describe_status(int status) {
    if (WIFEXITED(status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return "killed by signal " + std::to_string(WTERMSIG(status));
    }
    return "wait status " + std::to_string(status);
}

}  // namespace evs::test
