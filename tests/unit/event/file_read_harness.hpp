#pragma once

// Shared harness for the tests of the FileReader implementations (native AIO, a
// thread pool, io_uring): a temporary file of known random bytes, a completion
// counter to hang on an operation, and a LoopTest that reads an operation to its
// result through the loop and drains what is still in flight.
//
// Ownership: a TempFile owns its descriptor and removes its file when destroyed; a
// Completion is the test's, pointed to by the operation's `data`.
// Thread: the test's thread (the loop's); count_completion runs on the loop thread
// and records which thread that was.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "event/file_read.hpp"
#include "event/io.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::test {

// A file of `size` random bytes (seeded by the size, so that a file is the same
// from run to run) in /tmp, removed at the end.
class TempFile {
public:
    explicit TempFile(std::size_t size) {
        char pattern[] = "/tmp/evs-file-read-XXXXXX";
        fd_ = ::mkstemp(pattern);
        if (fd_ < 0) {
            ADD_FAILURE() << "mkstemp failed";
            return;
        }
        path_ = pattern;
        std::mt19937_64 random(size);
        bytes_.resize(size);
        for (char& b : bytes_) {
            b = static_cast<char>(random());
        }
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::write(fd_, bytes_.data() + done, size - done);
            if (n <= 0) {
                ADD_FAILURE() << "writing " << path_ << " stopped at " << done << " bytes";
                break;
            }
            done += static_cast<std::size_t>(n);
        }
        ::fsync(fd_);
    }
    ~TempFile() {
        if (fd_ >= 0) {
            ::close(fd_);
            ::unlink(path_.c_str());
        }
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    int fd() const { return fd_; }
    const std::string& path() const { return path_; }
    // A descriptor opened with O_DIRECT (the caller closes it), or -1 where the file
    // system refuses it.
    int open_direct() const { return ::open(path_.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC); }
    // The bytes the file holds at [offset, offset + size).
    std::string slice(std::size_t offset, std::size_t size) const {
        return bytes_.substr(offset, size);
    }

private:
    int fd_ = -1;
    std::string path_;
    std::string bytes_;
};

// How often an operation's handler ran, and on which thread it last ran.
struct Completion {
    int calls = 0;
    std::thread::id thread;
};

// A FileRead handler: counts into the Completion in op->data.
inline void count_completion(event::FileRead* op) {
    auto* done = static_cast<Completion*>(op->data);
    ++done->calls;
    done->thread = std::this_thread::get_id();
}

// Plans `op` as a read of `size` bytes at `offset` of `fd`; with `done`, its
// completion is counted there.
inline void plan_read(event::FileRead* op, int fd, off_t offset, std::size_t size,
                      Completion* done = nullptr) {
    op->fd = fd;
    op->offset = offset;
    op->size = size;
    if (done != nullptr) {
        op->handler = count_completion;
        op->data = done;
    }
}

// How often `needle` occurs in `text` (lines of the captured log). The integration
// tests' server_fixture.hpp has the same count_of(); that header needs the server's
// build paths, so the unit tests keep their own.
inline std::size_t count_of(std::string_view text, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t pos = text.find(needle); pos != std::string_view::npos;
         pos = text.find(needle, pos + needle.size())) {
        ++n;
    }
    return n;
}

class FileReadTest : public LoopTest {
protected:
    // Reads `op` (already planned, counting into `done`) to its result: the first
    // call, and when that answers again, the loop until the completion and the
    // second call.
    ssize_t read_through_loop(event::FileReader& reader, event::FileRead* op, Completion& done) {
        done.calls = 0;
        const ssize_t first = reader.read(op);
        if (first != event::k_io_again) {
            return first;
        }
        if (!run_until([&] { return done.calls > 0; })) {
            ADD_FAILURE() << "the read did not complete";
            return event::k_io_error;
        }
        return reader.read(op);
    }

    // Waits until `reader` has nothing in flight, then turns the loop for `settle_ms`
    // more so that the completions it posted have run; false when operations are
    // still in flight after the wait.
    bool drain(event::FileReader& reader, core::Msec settle_ms = 50) {
        if (!run_until([&] { return reader.in_flight() == 0; })) {
            ADD_FAILURE() << reader.in_flight() << " operation(s) still in flight";
            return false;
        }
        run_until([] { return false; }, settle_ms);
        return true;
    }
};

}  // namespace evs::test
