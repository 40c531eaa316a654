#pragma once

// Loop: one worker's event loop. It owns the backend, the connection pool, the
// timer wheel and the posted queues, and runs nginx's turn in a fixed order
// (ngx_process_events_and_timers):
//
//   1. timer = timer_resolution ? infinite : time to the nearest timer
//   2. accept mutex: skip while accept_disabled > 0 (and decrement it), else
//      trylock; holding it adds k_post_events, not holding it caps the timer at
//      accept_mutex_delay
//   3. events posted for "next turn" move to the posted queue (timer = 0)
//   4. backend process_events (wait, dispatch or post)
//   5. run posted accept events
//   6. unlock the accept mutex (listeners stay registered while we keep winning)
//   7. expire timers
//   8. run posted events
//
// Accepting first and releasing the mutex before the (possibly long) work of step
// 8 keeps the lock held for as short a time as possible.
//
// Ownership: the Loop owns its backend, pool and wheel. It does not own the Log,
// the Listening objects or the AcceptMutex. Thread: everything runs on the thread
// that constructed the Loop, except notify(), which any thread may call.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/list.hpp"
#include "core/log.hpp"
#include "core/status.hpp"
#include "core/time_cache.hpp"
#include "event/backends/backend.hpp"
#include "event/connection.hpp"
#include "event/connection_pool.hpp"
#include "event/event.hpp"
#include "event/stats.hpp"
#include "event/timer_wheel.hpp"

namespace evs::event {

struct Listening;
class CompletedTasks;

struct LoopConfig {
    std::size_t connections = 512;  // worker_connections
    std::string backend = "epoll";  // use: epoll | poll
    int epoll_events = 512;
    core::Msec timer_resolution = 0;
    bool multi_accept = false;
    core::Msec accept_mutex_delay = 500;
};

// The cross-process accept lock; the process layer supplies one in shared memory.
class AcceptMutex {
public:
    virtual ~AcceptMutex() = default;
    virtual bool try_lock() = 0;
    virtual void unlock() = 0;
};

// Something any thread can ask the loop to run on its own thread. Register it once
// (loop thread), then notify() it from anywhere: notifications that arrive before
// the loop gets to them are coalesced into one call.
struct Notification {
    void (*handler)(void* data) = nullptr;
    void* data = nullptr;
    std::atomic<bool> pending{false};
    Notification* next = nullptr;
};

enum class PostedQueue { accept, normal, next };

class Loop {
public:
    Loop(const LoopConfig& config, core::Log& log);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // Creates the backend and the pool; false (logged) on failure.
    core::Status init();

    // One turn, in the order documented above.
    void process_events_and_timers();
    // Turns until stop() is called.
    void run();
    void stop() { stopped_ = true; }
    bool stopped() const { return stopped_; }

    // Timers. Re-arming within 300 ms of the current deadline keeps the old one.
    static constexpr core::Msec k_lazy_delay = 300;
    // Inline up to the lazy check: most calls refresh an idle timeout that is set
    // already (a read arriving), and return there, without a call.
    void add_timer(Event* ev, core::Msec delay) {
        delay = delay < TimerWheel::k_max_duration ? delay : TimerWheel::k_max_duration;
        const std::uint32_t deadline = now32() + static_cast<std::uint32_t>(delay);
        if (ev->timer_set) {
            // Most re-arms move a deadline by a few milliseconds (a read refreshing an
            // idle timeout): keeping the old one saves the unlink and relink.
            const auto diff = static_cast<std::int32_t>(deadline - ev->deadline);
            if (diff < static_cast<std::int32_t>(k_lazy_delay) &&
                diff > -static_cast<std::int32_t>(k_lazy_delay)) {
                return;
            }
        }
        set_timer(ev, deadline);
    }
    void del_timer(Event* ev);
    std::size_t timer_count() const { return timers_.size(); }
    bool only_cancelable_timers_left() { return timers_.only_cancelable_left(); }

    void post(Event* ev, PostedQueue queue = PostedQueue::normal);
    void delete_posted(Event* ev);

    // nginx's ngx_handle_read_event / ngx_handle_write_event: after an I/O attempt,
    // make sure the backend will tell us when to try again (edge: register once;
    // level: register while not ready, unregister while ready).
    core::Status handle_read_event(Event* rev, unsigned flags = 0);
    core::Status handle_write_event(Event* wev, unsigned flags = 0);

    // Unregisters, cancels timers and posted events, frees the slot, closes the fd.
    void close_connection(Connection* c);

    // Any thread.
    void notify(Notification* n);
    // Loop thread: n will run when notified. n must outlive the loop or be removed.
    void add_notification(Notification* n);
    void remove_notification(Notification* n);
    // Called by the backend when its notify descriptor fires.
    void run_notifications();

    // Accepting.
    core::Status add_listening(Listening* ls);
    core::Status enable_accept_events();
    core::Status disable_accept_events();
    void set_accept_mutex(AcceptMutex* mutex) { accept_mutex_ = mutex; }
    bool has_accept_mutex() const { return accept_mutex_ != nullptr; }
    bool accept_mutex_held() const { return accept_mutex_held_; }
    // Unlocks at once and forgets that we held it (EMFILE while holding it).
    void release_accept_mutex();
    std::int64_t accept_disabled = 0;  // nginx's ngx_accept_disabled

    // Where thread pools hand back this loop's finished tasks.
    CompletedTasks& completed_tasks() { return *completed_tasks_; }

    // Counters for the whole server and for this worker; both default to a private
    // instance. The server points them into its shared zone before running.
    void set_stats(ConnectionStats* server, ConnectionStats* worker) {
        server_stats_ = server;
        worker_stats_ = worker;
    }
    // Response counts and file I/O counters, server-wide only.
    void set_server_counters(HttpResponseStats* responses, FileIoStats* file_io) {
        response_stats_ = responses;
        file_io_stats_ = file_io;
    }
    HttpResponseStats& response_stats() { return *response_stats_; }
    FileIoStats& file_io_stats() { return *file_io_stats_; }
    ConnectionStats& server_stats() { return *server_stats_; }
    ConnectionStats& worker_stats() { return *worker_stats_; }
    // Moves a stub_status gauge (reading, writing, waiting) in both sets.
    void add_gauge(std::atomic<std::int64_t> ConnectionStats::*gauge, std::int64_t delta) {
        stat_add<std::int64_t>(server_stats_->*gauge, delta);
        if (worker_stats_ != server_stats_) {
            stat_add<std::int64_t>(worker_stats_->*gauge, delta);
        }
    }

    core::Log& log() { return log_; }
    core::TimeCache& time() { return time_; }
    std::uint32_t now32() const { return static_cast<std::uint32_t>(time_.msec()); }
    const LoopConfig& config() const { return config_; }
    ConnectionPool& pool() { return *pool_; }
    Backend& backend() { return *backend_; }
    // The backend's capabilities, copied at init.
    unsigned capabilities() const { return capabilities_; }
    // What recv() may conclude from a short read, derived from the capabilities at
    // init (read on every recv(), so one test each instead of a mask and compare):
    // k_read_rdhup: edge-triggered with EPOLLRDHUP reported, so a short read means
    // drained, and until a new edge (`available`) there is nothing to read;
    // k_read_short_drains: a short read means drained (k_read_rdhup, or a
    // level-triggered backend, which reports the socket again if not).
    static constexpr unsigned k_read_rdhup = 0x1;
    static constexpr unsigned k_read_short_drains = 0x2;
    unsigned read_hints() const { return read_hints_; }

private:
    // Moves `ev` (set or not) to `deadline` in the wheel.
    void set_timer(Event* ev, std::uint32_t deadline);
    core::Status trylock_accept_mutex();
    void run_posted(core::List& queue);
    core::Status start_time_alarm();
    static void on_time_alarm(Event* ev);

    LoopConfig config_;
    core::Log& log_;
    core::TimeCache& time_;
    std::unique_ptr<ConnectionPool> pool_;
    std::unique_ptr<Backend> backend_;
    TimerWheel timers_;
    core::List posted_accept_;
    core::List posted_;
    core::List posted_next_;
    bool stopped_ = false;
    unsigned capabilities_ = 0;
    unsigned read_hints_ = 0;

    Notification* notifications_ = nullptr;

    Listening* listeners_ = nullptr;  // intrusive via Listening::next_in_loop
    AcceptMutex* accept_mutex_ = nullptr;
    bool accept_mutex_held_ = false;

    Connection* time_alarm_ = nullptr;  // timerfd for timer_resolution
    std::unique_ptr<CompletedTasks> completed_tasks_;
    ConnectionStats own_stats_;
    ConnectionStats* server_stats_ = &own_stats_;
    ConnectionStats* worker_stats_ = &own_stats_;
    HttpResponseStats own_response_stats_;
    FileIoStats own_file_io_stats_;
    HttpResponseStats* response_stats_ = &own_response_stats_;
    FileIoStats* file_io_stats_ = &own_file_io_stats_;
};

}  // namespace evs::event
