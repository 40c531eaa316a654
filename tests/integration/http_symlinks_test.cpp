// disable_symlinks with the real binary and real links in the test's root: a file link,
// a directory link, an index file that is a link, a link owned by another user
// (if_not_owner; the tests run as root and lchown the link to nobody), from= with a
// literal and with $document_root, and the same checks through open_file_cache (also
// a cache shared by locations with different settings). A refused link is 403 with
// nginx's error log line.
//
// One server (one worker) runs for the suite; the tests only read from it.

#include <gtest/gtest.h>
#include <pwd.h>

#include <string>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"

namespace evs::test {
namespace {

class HttpSymlinksTest : public SharedServerSuite<HttpSymlinksTest> {
protected:
    static void SetUpTestSuite() {
        server_ = new TestServer();
        port_ = free_port();
        TestServer& s = *server_;
        const std::string t = s.path("t/");
        s.write("t/real.txt", "real\n");
        s.write("t/realdir/f.txt", "in dir\n");
        s.write("t/idx/other.txt", "other\n");
        s.write("t2/docroot/real.txt", "docroot\n");
        s.write("html/index.html", "index\n");
        bool made = ::symlink("real.txt", (t + "link.txt").c_str()) == 0 &&
                    ::symlink("realdir", (t + "dirlink").c_str()) == 0 &&
                    ::symlink("real.txt", (t + "nobodylink.txt").c_str()) == 0 &&
                    ::symlink("../real.txt", (t + "idx/index.html").c_str()) == 0 &&
                    ::symlink("t2", s.path("tl").c_str()) == 0;
        ASSERT_TRUE(made) << std::strerror(errno);
        const passwd* nobody = ::getpwnam("nobody");
        ASSERT_NE(nobody, nullptr);
        nobody_uid_ = nobody->pw_uid;
        ASSERT_EQ(::lchown((t + "nobodylink.txt").c_str(), nobody->pw_uid, nobody->pw_gid), 0)
            << std::strerror(errno);

        const std::string http =
            "    open_file_cache max=100;\n"
            "    open_file_cache_errors on;\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        server_name localhost;\n"
            "        root html;\n"
            "        open_file_cache off;\n"
            "        location /off/ { alias t/; }\n"
            "        location /on/ { alias t/; disable_symlinks on; }\n"
            "        location /owner/ { alias t/; disable_symlinks if_not_owner; }\n"
            "        location /from/ { alias t/; disable_symlinks on from=" +
            t +
            "dirlink; }\n"
            "        location /docroot/ { root tl; disable_symlinks on from=$document_root; }\n"
            "        location /docroot-all/ { alias tl/docroot/; disable_symlinks on; }\n"
            "        location /cached/ { alias t/; disable_symlinks on; open_file_cache "
            "max=10; open_file_cache_errors on; }\n"
            "    }\n"
            "    server {\n"
            "        listen 127.0.0.1:" +
            std::to_string(port_) +
            ";\n"
            "        server_name shared.test;\n"
            "        location /c-off/ { alias t/; }\n"
            "        location /c-on/ { alias t/; disable_symlinks on; }\n"
            "    }\n";
        ASSERT_TRUE(s.configure(TestServer::config(http)));
        ASSERT_TRUE(s.start());
        ASSERT_TRUE(wait_until([] { return status_of(port_, "/index.html") == 200; }, 5s));
    }

    static int status(std::string_view path, std::string_view host = "localhost") {
        const auto r = get(path, host);
        return r ? r->status : -1;
    }

    static inline uid_t nobody_uid_ = 0;
};

TEST_F(HttpSymlinksTest, OffFollowsLinks) {
    const auto r = get("/off/link.txt");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "real\n");
    EXPECT_EQ(status("/off/dirlink/f.txt"), 200);
}

TEST_F(HttpSymlinksTest, OnRefusesAFileLinkWithNginxsLogLine) {
    EXPECT_EQ(status("/on/real.txt"), 200);
    EXPECT_EQ(status("/on/link.txt"), 403);
    const std::string line = "openat() \"" + server_->path("t/link.txt") +
                             "\" failed (40: Too many levels of symbolic links)";
    EXPECT_TRUE(server_->wait_for_text("logs/error.log", line)) << server_->error_log();
}

TEST_F(HttpSymlinksTest, OnRefusesADirectoryLinkAnywhereInThePath) {
    EXPECT_EQ(status("/on/realdir/f.txt"), 200);
    EXPECT_EQ(status("/on/dirlink/f.txt"), 403);
    // A directory link named without its slash is refused too, not redirected.
    EXPECT_EQ(status("/on/dirlink"), 403);
    EXPECT_EQ(status("/off/dirlink"), 301);
}

TEST_F(HttpSymlinksTest, OnRefusesAnIndexFileThatIsALink) {
    EXPECT_EQ(status("/on/idx/"), 403);
    const auto r = get("/off/idx/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "real\n");
}

TEST_F(HttpSymlinksTest, IfNotOwnerAllowsLinksOfTheTargetsOwner) {
    struct stat st {};
    ASSERT_EQ(::lstat(server_->path("t/nobodylink.txt").c_str(), &st), 0);
    ASSERT_EQ(st.st_uid, nobody_uid_);
    EXPECT_EQ(status("/owner/link.txt"), 200);
    EXPECT_EQ(status("/owner/dirlink/f.txt"), 200);
    EXPECT_EQ(status("/owner/nobodylink.txt"), 403);
    EXPECT_EQ(status("/off/nobodylink.txt"), 200);
}

TEST_F(HttpSymlinksTest, FromLeavesTheLeadingPartUnchecked) {
    EXPECT_EQ(status("/from/dirlink/f.txt"), 200);
    // Outside from= the whole path is checked.
    EXPECT_EQ(status("/from/link.txt"), 403);
}

TEST_F(HttpSymlinksTest, FromDocumentRootTrustsALinkedRoot) {
    // tl -> t2: the root itself is a link, which from=$document_root trusts.
    const auto r = get("/docroot/real.txt");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "docroot\n");
    EXPECT_EQ(status("/docroot-all/real.txt"), 403);
}

TEST_F(HttpSymlinksTest, OpenFileCacheKeepsRefusing) {
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(status("/cached/link.txt"), 403) << i;
        EXPECT_EQ(status("/cached/real.txt"), 200) << i;
        EXPECT_EQ(status("/cached/dirlink/f.txt"), 403) << i;
    }
}

TEST_F(HttpSymlinksTest, ACacheSharedByLocationsHonoursEachOnesSetting) {
    // Both locations use the http level's cache; an entry opened under one setting is
    // not served under the other.
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(status("/c-off/link.txt", "shared.test"), 200) << i;
        EXPECT_EQ(status("/c-on/link.txt", "shared.test"), 403) << i;
    }
}

TEST(HttpSymlinksConfigTest, BadArgumentsNameFileAndLine) {
    struct Case {
        const char* directives;
        const char* message;
    };
    const Case cases[] = {
        {"disable_symlinks sometimes;", "invalid value \"sometimes\""},
        {"disable_symlinks on to=/x;", "invalid parameter \"to=/x\""},
        {"disable_symlinks off from=/x;", "\"from=\" cannot be used with \"off\" parameter"},
    };
    for (const Case& c : cases) {
        TestServer s;
        const std::string http = std::string("    server {\n        listen 127.0.0.1:") +
                                 std::to_string(free_port()) + ";\n        location / { " +
                                 c.directives + " }\n    }\n";
        EXPECT_TRUE(config_text_fails(s, TestServer::config(http), c.directives, c.message))
            << c.directives;
    }
}

}  // namespace
}  // namespace evs::test
