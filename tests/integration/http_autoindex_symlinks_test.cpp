// autoindex under disable_symlinks, with the real binary and real links: as in nginx,
// a directory reached through a link is refused (403) before it is listed, and the
// entries of a real directory are listed whatever they are (links included; a request
// for a link entry is then refused by the static handler). Beyond nginx: the listed
// directory is itself opened with the disable_symlinks walk, so a directory swapped
// for a link while the open file cache still holds the earlier answers is refused,
// not listed (nginx lists it: its autoindex calls opendir() by name).
//
// One server (one worker) runs for the suite; only the swap test changes the tree,
// in a directory no other test reads.

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

class HttpAutoindexSymlinksTest : public SharedServerSuite<HttpAutoindexSymlinksTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        TestServer& s = *server_;
        const std::string t = s.path("t/");
        ASSERT_TRUE(s.write("t/list/a.txt", "a\n"));
        ASSERT_TRUE(s.write("t/list/sub/b.txt", "b\n"));
        ASSERT_TRUE(s.write("t/secret/s.txt", "secret\n"));
        ASSERT_TRUE(s.write("t/swap/x.txt", "x\n"));
        ASSERT_TRUE(s.write("html/index.html", "index\n"));
        const bool made = ::symlink("a.txt", (t + "list/link.txt").c_str()) == 0 &&
                          ::symlink("sub", (t + "list/dirlink").c_str()) == 0 &&
                          ::symlink("list", (t + "linkdir").c_str()) == 0 &&
                          ::symlink("list", (t + "nobodydir").c_str()) == 0;
        ASSERT_TRUE(made) << std::strerror(errno);
        const passwd* nobody = ::getpwnam("nobody");
        ASSERT_NE(nobody, nullptr);
        ASSERT_EQ(::lchown((t + "nobodydir").c_str(), nobody->pw_uid, nobody->pw_gid), 0)
            << std::strerror(errno);

        const std::string listed = "alias " + t + "; autoindex on;";
        const std::string http =
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        server_name localhost;\n"
            "        root html;\n"
            "        location /off/ { " +
            listed +
            " }\n"
            "        location /on/ { " +
            listed +
            " disable_symlinks on; }\n"
            "        location /owner/ { " +
            listed +
            " disable_symlinks if_not_owner; }\n"
            "        location /from/ { " +
            listed + " disable_symlinks on from=" + t +
            "linkdir; }\n"
            // The index module's checks are answered from the cache for a minute, and
            // no inotify watch tells the cache that the directory was swapped.
            "        location /cached/ { " +
            listed +
            " disable_symlinks on; open_file_cache max=10 inactive=60s; "
            "open_file_cache_valid 60s; open_file_cache_errors on; "
            "open_file_cache_events off; }\n"
            "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        ASSERT_TRUE(s.start());
        // The worker may take seconds to start on a loaded machine (see http_access_test).
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/index.html") == 200; }, 30s));
    }

    // The names of the listing's links ("a.txt", "sub/"), in order, or a failure.
    static std::string listing(std::string_view path) {
        const auto r = get(path);
        if (!r) {
            return "";
        }
        EXPECT_EQ(r->status, 200) << path;
        std::string names;
        for (std::size_t at = r->body.find("<a href=\""); at != std::string::npos;
             at = r->body.find("<a href=\"", at + 1)) {
            const std::size_t start = at + 9;
            names += r->body.substr(start, r->body.find('"', start) - start) + " ";
        }
        return names;
    }

    static int status(std::string_view path) {
        const auto r = get(path);
        return r ? r->status : -1;
    }
};

TEST_F(HttpAutoindexSymlinksTest, ARealDirectoryListsItsLinksAsNginxDoes) {
    EXPECT_EQ(listing("/on/list/"), "../ dirlink/ sub/ a.txt link.txt ");
    EXPECT_EQ(listing("/off/list/"), "../ dirlink/ sub/ a.txt link.txt ");
    // Following a listed link is the static handler's business: refused under "on".
    EXPECT_EQ(status("/on/list/link.txt"), 403);
    EXPECT_EQ(status("/on/list/dirlink/"), 403);
    EXPECT_EQ(status("/off/list/link.txt"), 200);
}

TEST_F(HttpAutoindexSymlinksTest, ADirectoryReachedThroughALinkIsRefused) {
    const auto refused = get("/on/linkdir/");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 403);
    EXPECT_EQ(refused->body.find("a.txt"), std::string::npos) << refused->body;
    EXPECT_EQ(listing("/off/linkdir/"), "../ dirlink/ sub/ a.txt link.txt ");
}

TEST_F(HttpAutoindexSymlinksTest, IfNotOwnerListsOnlyThroughLinksOfTheTargetsOwner) {
    EXPECT_EQ(listing("/owner/linkdir/"), "../ dirlink/ sub/ a.txt link.txt ");
    EXPECT_EQ(status("/owner/nobodydir/"), 403);
}

TEST_F(HttpAutoindexSymlinksTest, FromTrustsTheLeadingPart) {
    EXPECT_EQ(listing("/from/linkdir/"), "../ dirlink/ sub/ a.txt link.txt ");
    EXPECT_EQ(status("/from/nobodydir/"), 403);
}

TEST_F(HttpAutoindexSymlinksTest, ADirectorySwappedForALinkIsNotListedFromTheCache) {
    EXPECT_EQ(listing("/cached/swap/"), "../ x.txt ");
    EXPECT_EQ(listing("/cached/swap/"), "../ x.txt ");  // the checks now come from the cache
    const std::string swap = server_->path("t/swap");
    ASSERT_EQ(std::rename(swap.c_str(), (swap + ".old").c_str()), 0) << std::strerror(errno);
    ASSERT_EQ(::symlink("secret", swap.c_str()), 0) << std::strerror(errno);

    const auto r = get("/cached/swap/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
    EXPECT_EQ(r->body.find("s.txt"), std::string::npos) << r->body;
    EXPECT_TRUE(server_->wait_for_text(
        "logs/error.log",
        "openat() \"" + swap + "/\" failed (40: Too many levels of symbolic links)"))
        << server_->error_log();
}

}  // namespace
}  // namespace evs::test
