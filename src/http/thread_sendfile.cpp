// The writers' sendfile() in the loop or in a thread pool (see thread_sendfile.hpp):
// the per-request state, the thread hop and how its result is applied.

#include "http/thread_sendfile.hpp"

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "event/file_thread_send.hpp"
#include "event/io.hpp"
#include "event/loop.hpp"

namespace evs::http {

using core::LogLevel;

// One request's sending state, in its arena. `op` is null when the duplicates could
// not be made: that response is sent from the loop, as without the pool.
struct ThreadSendState {
    Request* r = nullptr;
    event::ThreadSendfile* sender = nullptr;
    event::FileRead* op = nullptr;
};

namespace {

thread_local std::vector<std::pair<std::string, event::ThreadSendfile*>> g_senders;

event::ThreadSendfile* sender_for(const LocationConfig& loc) {
    for (const auto& [name, sender] : g_senders) {
        if (name == loc.aio_thread_pool) {
            return sender;
        }
    }
    return nullptr;  // a worker without pools (a test harness): sendfile in the loop
}

void release_cleanup(void* data) {
    auto* st = static_cast<ThreadSendState*>(data);
    st->sender->release_send(st->op);
    st->op = nullptr;
}

// The task is back: the output goes on, and its next send_file_chunk() takes the
// result.
void on_send_complete(event::FileRead* op) {
    send_response(static_cast<ThreadSendState*>(op->data)->r);
}

ThreadSendState* start(Request* r, event::ThreadSendfile* sender) {
    auto* st = r->arena->make<ThreadSendState>();
    if (st == nullptr || !r->arena->add_cleanup(release_cleanup, st)) {
        errno = ENOMEM;
        return nullptr;
    }
    st->r = r;
    st->sender = sender;
    st->op = sender->acquire_send(r->c, r->fd);
    r->thread_send = st;
    event::Loop& loop = *r->c->loop;
    if (st->op == nullptr) {
        // EMFILE under load: this response goes out from the loop instead of failing.
        event::stat_add<std::uint64_t>(loop.file_io_stats().threads.fallback, 1);
        loop.log().write_conn(LogLevel::error, errno, r->c->number, request_log_context, r,
                              "thread sendfile: cannot duplicate the descriptors, "
                              "sending from the worker");
        return st;
    }
    st->op->handler = on_send_complete;
    st->op->data = st;
    return st;
}

}  // namespace

ssize_t send_file_chunk(Request* r, off_t* pos, std::size_t size) {
    event::Connection* c = r->c;
    ThreadSendState* st = r->thread_send;
    if (st == nullptr) {
        const LocationConfig& loc = r->loc != nullptr ? *r->loc : r->server->location;
        event::ThreadSendfile* sender = loc.aio == AioMode::threads ? sender_for(loc) : nullptr;
        if (sender == nullptr) {
            return event::sendfile(c, r->fd, pos, size);
        }
        st = start(r, sender);
        if (st == nullptr) {
            return event::k_io_error;
        }
    }
    event::FileRead* op = st->op;
    if (op == nullptr) {
        return event::sendfile(c, r->fd, pos, size);
    }
    event::Event* wev = &c->write;
    if (op->event.active) {
        return event::k_io_again;  // the completion resumes the output
    }
    if (op->event.complete) {
        // A write event that came while the thread was sending has set `ready`.
        const bool woke = wev->ready;
        const off_t at = op->offset;
        const std::size_t asked = op->size;
        const ssize_t n = st->sender->read(op);
        const int err = errno;
        event::Loop& loop = *c->loop;
        if (loop.log().enabled(LogLevel::debug)) {
            loop.log().write_conn(LogLevel::debug, 0, c->number, nullptr, nullptr,
                                  "thread sendfile: %zd of %zu bytes at %lld sent%s", n, asked,
                                  static_cast<long long>(at), woke ? ", writable since" : "");
        }
        errno = err;
        if (at != *pos) {
            // The writers ask again for the same range; anything else is a bug that
            // would corrupt the response, so it ends it.
            loop.log().write_conn(LogLevel::alert, 0, c->number, nullptr, nullptr,
                                  "thread sendfile: a result for offset %lld taken at %lld",
                                  static_cast<long long>(at), static_cast<long long>(*pos));
            errno = EINVAL;
            return event::k_io_error;
        }
        if (n >= 0) {
            *pos += n;
            c->sent += static_cast<std::uint64_t>(n);
            // Everything taken: the socket may take more. Less: it was full when
            // the thread sent, unless a write event has said otherwise since.
            wev->ready = static_cast<std::size_t>(n) == asked || woke;
            return n;
        }
        if (errno != EAGAIN) {
            wev->ready = 0;
            wev->error = 1;
            return event::k_io_error;
        }
        if (!woke) {
            wev->ready = 0;
            return event::k_io_again;  // the write event resumes the output
        }
        // Full when the thread tried, writable since: one more task.
    }
    if (!wev->ready) {
        // Full after the last task: no thread hop only to hear EAGAIN again.
        return event::k_io_again;
    }
    op->offset = *pos;
    op->size = size;
    wev->ready = 0;
    const ssize_t n = st->sender->read(op);
    if (n == event::k_io_again) {
        return n;
    }
    // The pool's queue is full (logged there as "thread pool ... queue overflow"):
    // this response fails, the worker goes on. errno is EAGAIN: pool_refused().
    errno = EAGAIN;
    return event::k_io_error;
}

bool thread_send_busy(const Request* r) {
    return r->thread_send != nullptr && r->thread_send->op != nullptr &&
           r->thread_send->op->event.active;
}

void add_thread_sendfile(std::string_view name, event::ThreadSendfile* sender) {
    g_senders.emplace_back(std::string(name), sender);
}

void release_thread_sendfiles() {
    g_senders.clear();
}

}  // namespace evs::http
