#pragma once

// Helpers shared by the file I/O tests of the thread pool (reads and sendfile): a
// temporary file of known random bytes, a completion counter, and a Gate that holds a pool's thread
// so that the tasks posted after it wait in the queue (in flight, and able to fill it). Thread: the
// test's; the Gate's task runs in a pool thread.

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "event/file_read.hpp"
#include "event/thread_pool.hpp"

namespace evs::test {

// A file of random bytes on the file system of /tmp, removed at the end.
class TempFile {
public:
    explicit TempFile(std::size_t size) {
        char pattern[] = "/tmp/evs-thread-file-XXXXXX";
        fd_ = ::mkstemp(pattern);
        path_ = pattern;
        std::mt19937_64 random(size + 1);
        bytes_.resize(size);
        for (char& b : bytes_) {
            b = static_cast<char>(random());
        }
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::write(fd_, bytes_.data() + done, size - done);
            if (n <= 0) {
                break;
            }
            done += static_cast<std::size_t>(n);
        }
        EXPECT_EQ(done, size);
        ::fsync(fd_);
    }
    ~TempFile() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    int fd() const { return fd_; }
    // A descriptor opened with O_DIRECT, or -1 where the file system refuses it.
    int open_direct() const { return ::open(path_.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC); }
    std::string slice(std::size_t offset, std::size_t size) const {
        return bytes_.substr(offset, size);
    }

private:
    int fd_ = -1;
    std::string path_;
    std::string bytes_;
};

// An operation's handler for tests: counts its calls and notes the thread.
struct Completion {
    int calls = 0;
    std::thread::id thread;
};

inline void count_completion(event::FileRead* op) {
    auto* done = static_cast<Completion*>(op->data);
    ++done->calls;
    done->thread = std::this_thread::get_id();
}

// A task that holds one of the pool's threads until open() (or destruction).
class Gate {
public:
    Gate() {
        task_.run = wait_at_gate;
        task_.ctx = this;
        task_.event.handler = [](event::Event*) {};
    }
    ~Gate() { open(); }
    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;

    // Posts the task and waits until a thread runs it: the pool's queue is then empty.
    bool close(event::ThreadPool& pool, event::Loop& loop) {
        if (pool.post(loop, &task_) != core::Status::ok) {
            return false;
        }
        while (!entered_) {
            std::this_thread::yield();
        }
        return true;
    }
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }

private:
    static void wait_at_gate(void* ctx) {
        auto* gate = static_cast<Gate*>(ctx);
        gate->entered_ = true;
        std::unique_lock lock(gate->mutex_);
        gate->cv_.wait(lock, [&] { return gate->open_; });
    }

    event::ThreadTask task_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
    std::atomic<bool> entered_{false};
};

}  // namespace evs::test
