// OpenFileCache: hits without system calls, nginx's max / inactive / valid /
// min_uses / errors, and evserve's inotify invalidation (write, truncate, replace
// by rename, delete, a directory renamed above the file), and descriptors kept
// alive for a response that still sends from them.

#include "http/open_file_cache.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "unit/event/loop_fixture.hpp"

namespace evs::test {
namespace {

using http::FileInfo;
using http::OpenFileCache;
using http::OpenFileCacheConfig;
using http::OpenFileOptions;

bool fd_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

class OpenFileCacheTest : public ::testing::Test {
protected:
    void SetUp() override {
        config_.backend = "epoll";
        config_.connections = 16;
        loop_ = std::make_unique<event::Loop>(config_, captured_.log());
        ASSERT_EQ(loop_->init(), core::Status::ok) << captured_.text();
        char pattern[] = "/tmp/evs-ofc-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        root_ = dir_ + "/html";
        std::filesystem::create_directories(root_ + "/sub");
        options_.watch_from = dir_;
        options_.body_max = 16384;
        options_.valid = 60000;
    }

    void TearDown() override {
        cache_.reset();
        http::release_open_file_caches();
        loop_.reset();
        core::clock().set_msec_offset(0);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    OpenFileCache& make_cache(std::size_t max, core::Msec inactive = 60000) {
        cache_ = std::make_unique<OpenFileCache>(*loop_, OpenFileCacheConfig{max, inactive});
        return *cache_;
    }

    void write(const std::string& relative, const std::string& content) {
        std::ofstream out(root_ + "/" + relative, std::ios::binary | std::ios::trunc);
        out << content;
    }

    // A lookup whose reference (or owned descriptor) is given back at once.
    FileInfo get(const std::string& relative, std::string* content = nullptr) {
        OpenFileCache::Entry* entry = nullptr;
        bool owned = false;
        FileInfo info = cache_->lookup(root_ + "/" + relative, options_, &entry, &owned);
        if (content != nullptr) {
            content->clear();
            if (info.body != nullptr) {
                content->assign(info.body, static_cast<std::size_t>(info.size));
            } else if (info.fd >= 0) {
                content->resize(static_cast<std::size_t>(info.size));
                const ssize_t n = ::pread(info.fd, content->data(), content->size(), 0);
                content->resize(n > 0 ? static_cast<std::size_t>(n) : 0);
            }
        }
        if (entry != nullptr) {
            OpenFileCache::release(entry);
        }
        if (owned) {
            ::close(info.fd);
        }
        return info;
    }

    // Turns the loop until `done`, at most `turns` turns of 20 ms.
    bool turn_until(const std::function<bool()>& done, int turns = 150) {
        for (int i = 0; i < turns && !done(); ++i) {
            event::Event tick;
            tick.handler = [](event::Event*) {};
            loop_->add_timer(&tick, 20);
            loop_->process_events_and_timers();
            loop_->del_timer(&tick);
        }
        return done();
    }

    CapturedLog captured_;
    event::LoopConfig config_;
    std::unique_ptr<event::Loop> loop_;
    std::unique_ptr<OpenFileCache> cache_;
    OpenFileOptions options_;
    std::string dir_;
    std::string root_;
};

TEST_F(OpenFileCacheTest, SecondLookupIsAHitWithTheSameDescriptorAndBody) {
    make_cache(10);
    write("a.txt", "hello");
    std::string content;
    const FileInfo first = get("a.txt", &content);
    ASSERT_EQ(first.err, 0);
    EXPECT_TRUE(first.is_file);
    EXPECT_EQ(first.size, 5);
    EXPECT_EQ(content, "hello");
    ASSERT_NE(first.body, nullptr);
    const FileInfo second = get("a.txt", &content);
    EXPECT_EQ(second.fd, first.fd);
    EXPECT_EQ(second.body, first.body);
    EXPECT_EQ(content, "hello");
    EXPECT_EQ(cache_->size(), 1u);
    EXPECT_EQ(cache_->open_fds(), 1u);
    EXPECT_TRUE(http::open_file_cache_watching());
}

TEST_F(OpenFileCacheTest, LargeFileKeepsNoBody) {
    make_cache(10);
    write("big.bin", std::string(20000, 'x'));
    const FileInfo info = get("big.bin");
    ASSERT_EQ(info.err, 0);
    EXPECT_EQ(info.body, nullptr);
    EXPECT_GE(info.fd, 0);
    options_.body_max = 0;
    write("small.txt", "abc");
    EXPECT_EQ(get("small.txt").body, nullptr);
}

TEST_F(OpenFileCacheTest, WriteInPlaceIsSeenAtOnce) {
    make_cache(10);
    write("a.txt", "old");
    ASSERT_EQ(get("a.txt").size, 3);
    write("a.txt", "newer");
    ASSERT_TRUE(turn_until([&] { return cache_->size() == 0; })) << "entry not invalidated";
    std::string content;
    EXPECT_EQ(get("a.txt", &content).size, 5);
    EXPECT_EQ(content, "newer");
}

TEST_F(OpenFileCacheTest, ReplaceByRenameIsSeenAtOnce) {
    make_cache(10);
    write("a.txt", "old");
    ASSERT_EQ(get("a.txt").size, 3);
    write("a.txt.new", "deployed");
    ASSERT_EQ(::rename((root_ + "/a.txt.new").c_str(), (root_ + "/a.txt").c_str()), 0);
    ASSERT_TRUE(turn_until([&] { return cache_->size() == 0; }));
    std::string content;
    get("a.txt", &content);
    EXPECT_EQ(content, "deployed");
}

TEST_F(OpenFileCacheTest, DeletedFileIsDropped) {
    make_cache(10);
    write("sub/b.txt", "b");
    ASSERT_EQ(get("sub/b.txt").err, 0);
    ASSERT_EQ(::unlink((root_ + "/sub/b.txt").c_str()), 0);
    ASSERT_TRUE(turn_until([&] { return cache_->size() == 0; }));
    EXPECT_EQ(get("sub/b.txt").err, ENOENT);
}

TEST_F(OpenFileCacheTest, DirectoryRenamedAboveTheFileDropsIt) {
    make_cache(10);
    write("sub/b.txt", "one");
    write("c.txt", "c");
    ASSERT_EQ(get("sub/b.txt").err, 0);
    ASSERT_EQ(get("c.txt").err, 0);
    // A release directory swapped in, as deploys do.
    std::filesystem::create_directories(root_ + "/sub2");
    write("sub2/b.txt", "two!");
    ASSERT_EQ(::rename((root_ + "/sub").c_str(), (root_ + "/old").c_str()), 0);
    ASSERT_EQ(::rename((root_ + "/sub2").c_str(), (root_ + "/sub").c_str()), 0);
    ASSERT_TRUE(turn_until([&] { return cache_->size() == 1; }));
    std::string content;
    get("sub/b.txt", &content);
    EXPECT_EQ(content, "two!");
    EXPECT_EQ(cache_->size(), 2u);  // c.txt stayed
    // The new directory is watched, not the old one still under the same name.
    write("sub/b.txt", "three");
    ASSERT_TRUE(turn_until([&] { return cache_->size() == 1; }));
    get("sub/b.txt", &content);
    EXPECT_EQ(content, "three");
}

TEST_F(OpenFileCacheTest, RootSymlinkSwapIsSeen) {
    make_cache(10);
    // root is a symlink to a release; the swap happens in the root's parent.
    std::filesystem::create_directories(dir_ + "/r1");
    std::filesystem::create_directories(dir_ + "/r2");
    std::ofstream(dir_ + "/r1/i.txt") << "r1";
    std::ofstream(dir_ + "/r2/i.txt") << "r2-new";
    std::filesystem::create_directory_symlink(dir_ + "/r1", dir_ + "/current");
    OpenFileCache::Entry* entry = nullptr;
    bool owned = false;
    FileInfo info = cache_->lookup(dir_ + "/current/i.txt", options_, &entry, &owned);
    ASSERT_EQ(info.size, 2);
    OpenFileCache::release(entry);
    std::filesystem::create_directory_symlink(dir_ + "/r2", dir_ + "/current.tmp");
    ASSERT_EQ(::rename((dir_ + "/current.tmp").c_str(), (dir_ + "/current").c_str()), 0);
    ASSERT_TRUE(turn_until([&] { return cache_->size() == 0; }));
    info = cache_->lookup(dir_ + "/current/i.txt", options_, &entry, &owned);
    EXPECT_EQ(info.size, 6);
    OpenFileCache::release(entry);
}

TEST_F(OpenFileCacheTest, ErrorsAreCachedOnlyWhenAsked) {
    make_cache(10);
    EXPECT_EQ(get("missing.txt").err, ENOENT);
    EXPECT_EQ(cache_->size(), 0u);
    options_.errors = true;
    EXPECT_EQ(get("missing.txt").err, ENOENT);
    EXPECT_EQ(cache_->size(), 1u);
    EXPECT_EQ(get("missing.txt").err, ENOENT);
    // Creating the file drops the cached error.
    write("missing.txt", "here");
    ASSERT_TRUE(turn_until([&] { return cache_->size() == 0; }));
    EXPECT_EQ(get("missing.txt").err, 0);
}

TEST_F(OpenFileCacheTest, MissingDirectoryCreatedLaterIsSeen) {
    make_cache(10);
    options_.errors = true;
    EXPECT_EQ(get("new/deep/x.txt").err, ENOENT);
    std::filesystem::create_directories(root_ + "/new/deep");
    write("new/deep/x.txt", "x");
    ASSERT_TRUE(turn_until([&] { return cache_->size() == 0; }));
    EXPECT_EQ(get("new/deep/x.txt").err, 0);
}

TEST_F(OpenFileCacheTest, WithoutEventsAnEntryLivesUntilValid) {
    make_cache(10);
    options_.events = false;
    options_.errors = true;
    options_.valid = 1000;
    write("a.txt", "old");
    EXPECT_EQ(get("a.txt").err, 0);
    EXPECT_EQ(get("gone.txt").err, ENOENT);
    write("a.txt", "newer");
    write("gone.txt", "now here");
    turn_until([] { return false; }, 10);  // nothing may arrive: no watches
    std::string content;
    EXPECT_EQ(get("a.txt", &content).size, 3) << "nginx's behaviour within valid";
    EXPECT_EQ(get("gone.txt").err, ENOENT);
    core::clock().set_msec_offset(1500);
    loop_->time().update();
    EXPECT_EQ(get("a.txt", &content).size, 5);
    EXPECT_EQ(content, "newer");
    EXPECT_EQ(get("gone.txt").err, 0);
}

TEST_F(OpenFileCacheTest, UnchangedFileKeepsItsDescriptorAfterValid) {
    make_cache(10);
    options_.valid = 1000;
    write("a.txt", "same");
    const int fd = get("a.txt").fd;
    core::clock().set_msec_offset(1500);
    loop_->time().update();
    EXPECT_EQ(get("a.txt").fd, fd);
}

TEST_F(OpenFileCacheTest, MaxEvictsTheLeastRecentlyUsed) {
    make_cache(2);
    write("a.txt", "a");
    write("b.txt", "b");
    write("c.txt", "c");
    const int a = get("a.txt").fd;
    const int b = get("b.txt").fd;
    get("a.txt");  // b is now the least recently used
    get("c.txt");
    EXPECT_EQ(cache_->size(), 2u);
    EXPECT_FALSE(fd_open(b)) << "the evicted entry's descriptor is closed";
    EXPECT_EQ(get("a.txt").fd, a);
    EXPECT_EQ(cache_->size(), 2u);
    EXPECT_EQ(cache_->open_fds(), 2u);
}

TEST_F(OpenFileCacheTest, InactiveEntriesExpire) {
    make_cache(10, 100);
    write("a.txt", "a");
    write("b.txt", "b");
    get("a.txt");
    core::clock().set_msec_offset(500);
    loop_->time().update();
    get("b.txt");
    EXPECT_EQ(cache_->size(), 1u);
    EXPECT_EQ(cache_->open_fds(), 1u) << "a.txt's descriptor is closed";
}

TEST_F(OpenFileCacheTest, MinUsesKeepsTheDescriptorFromTheNthUse) {
    make_cache(10);
    options_.min_uses = 2;
    write("a.txt", "a");
    OpenFileCache::Entry* entry = nullptr;
    bool owned = false;
    FileInfo info = cache_->lookup(root_ + "/a.txt", options_, &entry, &owned);
    EXPECT_TRUE(owned);
    EXPECT_EQ(entry, nullptr);
    ::close(info.fd);
    EXPECT_EQ(cache_->open_fds(), 0u);
    info = cache_->lookup(root_ + "/a.txt", options_, &entry, &owned);
    EXPECT_FALSE(owned);
    ASSERT_NE(entry, nullptr);
    OpenFileCache::release(entry);
    EXPECT_EQ(cache_->open_fds(), 1u);
}

TEST_F(OpenFileCacheTest, DescriptorInUseOutlivesItsEntry) {
    make_cache(10);
    write("a.txt", "abc");
    OpenFileCache::Entry* entry = nullptr;
    bool owned = false;
    const FileInfo info = cache_->lookup(root_ + "/a.txt", options_, &entry, &owned);
    ASSERT_NE(entry, nullptr);
    ASSERT_EQ(::unlink((root_ + "/a.txt").c_str()), 0);
    ASSERT_TRUE(turn_until([&] { return cache_->size() == 0; }));
    // The response still sending from it can read it.
    char buf[4] = {};
    EXPECT_EQ(::pread(info.fd, buf, 3, 0), 3);
    EXPECT_STREQ(buf, "abc");
    EXPECT_EQ(std::string(info.body, 3), "abc");
    OpenFileCache::release(entry);
    EXPECT_FALSE(fd_open(info.fd));
}

TEST_F(OpenFileCacheTest, DirectoriesAreCachedWithoutDescriptor) {
    make_cache(10);
    const FileInfo info = get("sub");
    EXPECT_TRUE(info.is_dir);
    EXPECT_EQ(info.fd, -1);
    EXPECT_EQ(cache_->size(), 1u);
    EXPECT_EQ(cache_->open_fds(), 0u);
}

TEST_F(OpenFileCacheTest, ReadingFilesDoesNotInvalidateThem) {
    make_cache(10);
    write("a.txt", "a");
    const int fd = get("a.txt").fd;
    char c;
    ASSERT_EQ(::pread(fd, &c, 1, 0), 1);
    std::ifstream in(root_ + "/a.txt");
    in >> c;
    in.close();
    turn_until([] { return false; }, 10);
    EXPECT_EQ(cache_->size(), 1u);
    EXPECT_EQ(get("a.txt").fd, fd);
}

}  // namespace
}  // namespace evs::test
