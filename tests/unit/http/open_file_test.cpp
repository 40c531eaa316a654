// open_checked (disable_symlinks) on a real directory tree: links refused anywhere in
// the path with ELOOP, if_not_owner comparing the link's owner with its target's, the
// from= part opened unchecked, and nginx's rule for which from= values count.

#include "http/open_file.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace evs::test {
namespace {

using http::open_checked;
using http::symlink_policy;
using http::SymlinkCheck;
using http::SymlinkPolicy;

class OpenFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/evs-open-file-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
        std::filesystem::create_directories(root_ + "/dir/sub");
        std::ofstream(root_ + "/dir/sub/f.txt") << "f";
        std::ofstream(root_ + "/file.txt") << "x";
        ASSERT_EQ(::symlink("file.txt", (root_ + "/link.txt").c_str()), 0);
        ASSERT_EQ(::symlink("dir", (root_ + "/dirlink").c_str()), 0);
    }
    void TearDown() override { std::filesystem::remove_all(root_); }

    // The errno of opening `path` under `policy`, 0 when it opened.
    int error_of(const std::string& path, SymlinkPolicy policy, const char** call = nullptr) {
        const char* failed = nullptr;
        const int fd = open_checked(path.c_str(), O_RDONLY | O_NONBLOCK, policy, &failed);
        if (call != nullptr) {
            *call = failed;
        }
        if (fd >= 0) {
            ::close(fd);
            return 0;
        }
        return -fd;
    }

    std::string root_;
};

TEST_F(OpenFileTest, OffFollowsEverything) {
    const SymlinkPolicy off{};
    EXPECT_EQ(error_of(root_ + "/link.txt", off), 0);
    EXPECT_EQ(error_of(root_ + "/dirlink/sub/f.txt", off), 0);
    const char* call = nullptr;
    EXPECT_EQ(error_of(root_ + "/none", off, &call), ENOENT);
    EXPECT_STREQ(call, "open()");
}

TEST_F(OpenFileTest, OnRefusesLinksInAnyComponent) {
    const SymlinkPolicy on{SymlinkCheck::on, 0};
    EXPECT_EQ(error_of(root_ + "/file.txt", on), 0);
    EXPECT_EQ(error_of(root_ + "/dir/sub/f.txt", on), 0);
    EXPECT_EQ(error_of(root_ + "//dir//sub/f.txt", on), 0);
    const char* call = nullptr;
    EXPECT_EQ(error_of(root_ + "/link.txt", on, &call), ELOOP);
    EXPECT_STREQ(call, "openat()");
    EXPECT_EQ(error_of(root_ + "/dirlink/sub/f.txt", on), ELOOP);
    EXPECT_EQ(error_of(root_ + "/dirlink", on), ELOOP);
    EXPECT_EQ(error_of(root_ + "/dir/", on), 0);
    EXPECT_EQ(error_of(root_ + "/none/f.txt", on), ENOENT);
    EXPECT_EQ(error_of(root_ + "/file.txt/x", on), ENOTDIR);
}

TEST_F(OpenFileTest, FromPartIsOpenedUnchecked) {
    const std::string path = root_ + "/dirlink/sub/f.txt";
    EXPECT_EQ(error_of(path, symlink_policy(SymlinkCheck::on, path, root_ + "/dirlink")), 0);
    EXPECT_EQ(error_of(path, symlink_policy(SymlinkCheck::on, path, root_ + "/dirlink/")), 0);
    EXPECT_EQ(error_of(path, symlink_policy(SymlinkCheck::on, path, root_)), ELOOP);
}

TEST(SymlinkPolicyTest, FromCountsOnlyAtAComponentBoundary) {
    using P = SymlinkPolicy;
    EXPECT_EQ(symlink_policy(SymlinkCheck::on, "/a/b/c", "/a/b"), (P{SymlinkCheck::on, 4}));
    EXPECT_EQ(symlink_policy(SymlinkCheck::on, "/a/b/c", "/a/b/"), (P{SymlinkCheck::on, 4}));
    EXPECT_EQ(symlink_policy(SymlinkCheck::on, "/a/bc/d", "/a/b"), (P{SymlinkCheck::on, 0}));
    EXPECT_EQ(symlink_policy(SymlinkCheck::on, "/a/b/c", "/x"), (P{SymlinkCheck::on, 0}));
    EXPECT_EQ(symlink_policy(SymlinkCheck::on, "/a/b", "/a/b"), (P{SymlinkCheck::off, 0}));
    EXPECT_EQ(symlink_policy(SymlinkCheck::on, "/a/b", ""), (P{SymlinkCheck::on, 0}));
}

TEST_F(OpenFileTest, IfNotOwnerComparesTheLinkWithItsTarget) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to lchown a link";
    }
    const SymlinkPolicy owner{SymlinkCheck::if_not_owner, 0};
    EXPECT_EQ(error_of(root_ + "/link.txt", owner), 0);
    EXPECT_EQ(error_of(root_ + "/dirlink/sub/f.txt", owner), 0);
    ASSERT_EQ(::lchown((root_ + "/link.txt").c_str(), 65534, 65534), 0);
    EXPECT_EQ(error_of(root_ + "/link.txt", owner), ELOOP);
    ASSERT_EQ(::lchown((root_ + "/dirlink").c_str(), 65534, 65534), 0);
    EXPECT_EQ(error_of(root_ + "/dirlink/sub/f.txt", owner), ELOOP);
}

}  // namespace
}  // namespace evs::test
