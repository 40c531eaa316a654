#include "event/thread_pool.hpp"

#include <pthread.h>

#include <string>

namespace evs::event {

CompletedTasks::CompletedTasks(Loop& loop) : loop_(loop) {
    notification_.handler = drain;
    notification_.data = this;
    loop_.add_notification(&notification_);
}

CompletedTasks::~CompletedTasks() {
    loop_.remove_notification(&notification_);
}

void CompletedTasks::push(ThreadTask* task) {
    task->next = nullptr;
    {
        std::lock_guard lock(mutex_);
        *tail_ = task;
        tail_ = &task->next;
    }
    loop_.notify(&notification_);
}

void CompletedTasks::drain(void* self) {
    auto* queue = static_cast<CompletedTasks*>(self);
    ThreadTask* task;
    {
        std::lock_guard lock(queue->mutex_);
        task = queue->head_;
        queue->head_ = nullptr;
        queue->tail_ = &queue->head_;
    }
    while (task != nullptr) {
        ThreadTask* next = task->next;  // the handler may reuse or free the task
        task->event.complete = 1;
        task->event.active = 0;
        task->event.handler(&task->event);
        task = next;
    }
}

ThreadPool::ThreadPool(std::string name, unsigned threads, std::size_t max_queue, core::Log& log)
    : name_(std::move(name)), thread_count_(threads), max_queue_(max_queue), log_(log) {}

ThreadPool::~ThreadPool() {
    stop();
}

core::Status ThreadPool::start() {
    try {
        for (unsigned i = 0; i < thread_count_; ++i) {
            workers_.emplace_back([this] {
                // "evs/<pool>" in top -H, ps -L and /proc/<pid>/task/*/comm (15 bytes).
                const std::string comm = ("evs/" + name_).substr(0, 15);
                ::pthread_setname_np(::pthread_self(), comm.c_str());
                work();
            });
        }
    } catch (const std::system_error& e) {
        log_.write(core::LogLevel::alert, e.code().value(), "thread pool \"%s\": cannot start",
                   name_.c_str());
        stop();
        return core::Status::error;
    }
    return core::Status::ok;
}

void ThreadPool::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wakeup_.notify_all();
    for (std::thread& t : workers_) {
        t.join();
    }
    workers_.clear();
}

core::Status ThreadPool::post(Loop& loop, ThreadTask* task) {
    if (task->event.active) {
        log_.write(core::LogLevel::alert, 0, "task #%llu already active",
                   static_cast<unsigned long long>(task->id));
        return core::Status::error;
    }
    {
        std::lock_guard lock(mutex_);
        if (waiting_ >= max_queue_) {
            log_.write(core::LogLevel::error, 0,
                       "thread pool \"%s\" queue overflow: %zu tasks waiting", name_.c_str(),
                       waiting_);
            return core::Status::error;
        }
        task->event.active = 1;
        task->event.complete = 0;
        task->loop = &loop;
        task->id = next_id_++;
        task->next = nullptr;
        *tail_ = task;
        tail_ = &task->next;
        ++waiting_;
    }
    wakeup_.notify_one();
    return core::Status::ok;
}

void ThreadPool::work() {
    for (;;) {
        ThreadTask* task;
        {
            std::unique_lock lock(mutex_);
            wakeup_.wait(lock, [this] { return stopping_ || head_ != nullptr; });
            if (stopping_) {
                return;
            }
            task = head_;
            head_ = task->next;
            if (head_ == nullptr) {
                tail_ = &head_;
            }
            --waiting_;
        }
        task->run(task->ctx);
        task->loop->completed_tasks().push(task);
    }
}

}  // namespace evs::event
