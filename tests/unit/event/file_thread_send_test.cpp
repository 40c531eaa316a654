// ThreadSendfile (`aio threads` with `sendfile on`): sendfile() runs in a pool thread
// through duplicates of the socket and the file, completes on the loop thread, and a
// connection closed while its task waits never lets the task's bytes reach the
// client that gets the same descriptor number next. Once per backend; the suite's
// name puts it in the ThreadSanitizer run (ctest -R ThreadPool).

#include "event/file_thread_send.hpp"

#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "event/io.hpp"
#include "unit/event/file_test_support.hpp"
#include "unit/event/loop_fixture.hpp"

namespace evs::event {
namespace {

using core::Status;
using test::Completion;
using test::count_completion;
using test::Gate;
using test::TempFile;

int open_descriptors() {
    int count = 0;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (::readdir(dir) != nullptr) {
            ++count;
        }
        ::closedir(dir);
    }
    return count;
}

// Everything the peer can read now, up to its end of stream when `until_eof`.
std::string drain(int fd, bool until_eof) {
    std::string out;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), until_eof ? 0 : MSG_DONTWAIT);
        if (n <= 0) {
            return out;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

class ThreadPoolSendfileTest : public test::LoopTest {
protected:
    // A connected pair: [0] is the server's side, non-blocking, in a connection slot.
    Connection* connect(int peer[2]) {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, peer) != 0) {
            return nullptr;
        }
        return loop_->pool().get(peer[0]);
    }
};

TEST_P(ThreadPoolSendfileTest, SendsInAPoolThreadAndCompletesOnTheLoopThread) {
    TempFile file(100000);
    core::Log log;
    ThreadPool pool("send", 2, 16, log);
    ASSERT_EQ(pool.start(), Status::ok);
    int peer[2];
    Connection* c = connect(peer);
    ASSERT_NE(c, nullptr);
    const int before = open_descriptors();
    {
        ThreadSendfile sender(*loop_, pool);
        Completion done;
        FileRead* op = sender.acquire_send(c, file.fd());
        ASSERT_NE(op, nullptr);
        EXPECT_EQ(open_descriptors(), before + 2) << "the socket and the file are duplicated";
        EXPECT_NE(op->fd, file.fd());
        op->handler = count_completion;
        op->data = &done;
        op->offset = 777;
        op->size = 20000;
        ASSERT_EQ(sender.read(op), k_io_again);
        EXPECT_EQ(sender.read(op), k_io_again) << "still in flight";
        ASSERT_TRUE(run_until([&] { return done.calls > 0; }));
        EXPECT_EQ(done.thread, std::this_thread::get_id());
        EXPECT_EQ(sender.read(op), 20000);
        EXPECT_EQ(op->offset, 777) << "the loop advances the response, not the task";
        EXPECT_EQ(drain(peer[1], false), file.slice(777, 20000));
        const FileIoCounters& counters = loop_->file_io_stats().threads;
        EXPECT_EQ(counters.submitted.load(), 1u);
        EXPECT_EQ(counters.completed.load(), 1u);
        sender.release_send(op);
        EXPECT_EQ(open_descriptors(), before) << "the duplicates are closed on release";
        pool.stop();
    }
    loop_->close_connection(c);
    ::close(peer[1]);
}

TEST_P(ThreadPoolSendfileTest, AFullSocketIsEagainFromTheThread) {
    TempFile file(4 << 20);
    core::Log log;
    ThreadPool pool("send", 1, 16, log);
    ASSERT_EQ(pool.start(), Status::ok);
    int peer[2];
    Connection* c = connect(peer);
    ASSERT_NE(c, nullptr);
    {
        ThreadSendfile sender(*loop_, pool);
        Completion done;
        FileRead* op = sender.acquire_send(c, file.fd());
        ASSERT_NE(op, nullptr);
        op->handler = count_completion;
        op->data = &done;
        op->size = 4 << 20;
        ssize_t sent = 0;
        for (int round = 0; round < 2; ++round) {
            op->offset = sent;
            ASSERT_EQ(sender.read(op), k_io_again);
            ASSERT_TRUE(run_until([&] { return done.calls > round; }));
            const ssize_t n = sender.read(op);
            if (round == 0) {
                ASSERT_GT(n, 0);
                ASSERT_LT(n, 4 << 20) << "a socket buffer is smaller than 4 MiB";
                sent = n;
            } else {
                EXPECT_EQ(n, k_io_error);
                EXPECT_EQ(errno, EAGAIN) << "nobody read: the socket is still full";
            }
        }
        EXPECT_EQ(drain(peer[1], false), file.slice(0, static_cast<std::size_t>(sent)));
        sender.release_send(op);
        pool.stop();
    }
    loop_->close_connection(c);
    ::close(peer[1]);
}

// The heart of the design: the connection closes while its task waits in the queue
// and the next connection gets the same descriptor number. The task still sends to
// the first client (through its duplicate), never to the second, and the first
// client's socket really closes once the task is done.
TEST_P(ThreadPoolSendfileTest, AClosedConnectionsTaskNeverWritesToTheNextUserOfItsNumber) {
    TempFile file(50000);
    core::Log log;
    ThreadPool pool("send", 1, 16, log);
    ASSERT_EQ(pool.start(), Status::ok);
    Gate gate;
    int first[2];
    Connection* c = connect(first);
    ASSERT_NE(c, nullptr);
    const int number = c->fd;
    const std::uint32_t generation = c->generation;
    {
        ThreadSendfile sender(*loop_, pool);
        Completion done;
        FileRead* op = sender.acquire_send(c, file.fd());
        ASSERT_NE(op, nullptr);
        op->handler = count_completion;
        op->data = &done;
        op->size = 50000;
        ASSERT_TRUE(gate.close(pool, *loop_));
        ASSERT_EQ(sender.read(op), k_io_again);

        // The owner goes away: the request releases the operation, the connection
        // closes its socket and its slot is handed out again.
        sender.release_send(op);
        loop_->close_connection(c);
        int second[2];
        Connection* next = connect(second);
        ASSERT_NE(next, nullptr);
        ASSERT_EQ(next->fd, number) << "the lowest free number is reused at once";
        EXPECT_EQ(next, c) << "the slot too";
        EXPECT_NE(next->generation, generation);

        gate.open();
        ASSERT_TRUE(run_until([&] { return sender.in_flight() == 0; }));
        run_until([] { return false; }, 50);
        EXPECT_EQ(done.calls, 0) << "a released operation reached its owner";
        EXPECT_EQ(drain(second[1], false), "") << "the bytes went to the wrong client";
        EXPECT_EQ(drain(first[1], true), file.slice(0, 50000))
            << "the first client gets the task's bytes, then its end of stream";
        loop_->close_connection(next);
        ::close(second[1]);
        pool.stop();
    }
    ::close(first[1]);
}

TEST_P(ThreadPoolSendfileTest, AFullQueueFailsThatSendAlone) {
    TempFile file(4096);
    test::CapturedLog captured;
    ThreadPool pool("tiny", 1, 1, captured.log());
    ASSERT_EQ(pool.start(), Status::ok);
    Gate gate;
    int a[2];
    int b[2];
    Connection* ca = connect(a);
    Connection* cb = connect(b);
    ASSERT_NE(ca, nullptr);
    ASSERT_NE(cb, nullptr);
    {
        ThreadSendfile sender(*loop_, pool);
        ASSERT_TRUE(gate.close(pool, *loop_));
        Completion done;
        FileRead* queued = sender.acquire_send(ca, file.fd());
        queued->handler = count_completion;
        queued->data = &done;
        queued->size = 4096;
        ASSERT_EQ(sender.read(queued), k_io_again);
        FileRead* overflow = sender.acquire_send(cb, file.fd());
        overflow->size = 4096;
        EXPECT_EQ(sender.read(overflow), k_io_error) << "max_queue 1 is full";
        EXPECT_TRUE(captured.contains("thread pool \"tiny\" queue overflow")) << captured.text();
        sender.release_send(overflow);
        gate.open();
        ASSERT_TRUE(run_until([&] { return done.calls > 0; }));
        EXPECT_EQ(sender.read(queued), 4096) << "the queued send is unaffected";
        EXPECT_EQ(drain(a[1], false), file.slice(0, 4096));
        EXPECT_EQ(drain(b[1], false), "");
        sender.release_send(queued);
        pool.stop();
    }
    loop_->close_connection(ca);
    loop_->close_connection(cb);
    ::close(a[1]);
    ::close(b[1]);
}

EVS_INSTANTIATE_FOR_EACH_BACKEND(ThreadPoolSendfileTest);

}  // namespace
}  // namespace evs::event
