#pragma once

// Status and Result: how evserve reports outcomes without exceptions.
//
// Handlers on the event and I/O paths return a Status, as nginx's handlers return
// NGX_OK / NGX_AGAIN / NGX_DONE / NGX_DECLINED / NGX_ERROR. System-call wrappers
// return a Result<T>: either a value or the errno that the call failed with.

#include <cerrno>
#include <utility>

namespace evs::core {

enum class Status : signed char {
    ok = 0,
    again = 1,     // not finished; the caller waits for an event and calls again
    done = 2,      // finished, and someone else now owns what comes next
    declined = 3,  // this handler does not apply; try the next one
    error = -1,
};

// A value, or the errno of the system call that failed. Never throws.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)), errno_(0) {}  // NOLINT: implicit by design
    static Result failure(int err) { return Result(err, Tag{}); }
    static Result from_errno() { return Result(errno, Tag{}); }

    bool ok() const { return errno_ == 0; }
    explicit operator bool() const { return ok(); }
    int error() const { return errno_; }
    T& value() { return value_; }
    const T& value() const { return value_; }
    T& operator*() { return value_; }
    const T& operator*() const { return value_; }

private:
    struct Tag {};
    Result(int err, Tag) : value_(), errno_(err) {}
    T value_;
    int errno_;
};

// Result<void>: success, or an errno.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() : errno_(0) {}
    static Result failure(int err) { return Result(err); }
    static Result from_errno() { return Result(errno); }
    bool ok() const { return errno_ == 0; }
    explicit operator bool() const { return ok(); }
    int error() const { return errno_; }

private:
    explicit Result(int err) : errno_(err) {}
    int errno_;
};

}  // namespace evs::core
