#include "core/log.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "unit/shape.hpp"

namespace evs::core {
namespace {

std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    off_t offset = 0;
    ssize_t n;
    while ((n = ::pread(fd, buf, sizeof(buf), offset)) > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        offset += n;
    }
    return out;
}

TEST(Log, WritesNginxFormatLinesAtOrAboveTheSinkLevel) {
    const int fd = ::memfd_create("log", 0);
    {
        Log log(fd, LogLevel::warn);
        log.write(LogLevel::error, ENOENT, "open() \"%s\" failed", "/x");
        log.write(LogLevel::info, 0, "not shown");
        log.write_conn(LogLevel::warn, 0, 5, nullptr, nullptr, "client timed out");
    }
    const std::string text = read_all(fd);
    ::close(fd);
    const std::string pid = std::to_string(::getpid());
    const auto first_end = text.find('\n');
    ASSERT_NE(first_end, std::string::npos) << text;
    const std::string first = text.substr(0, first_end);
    EXPECT_TRUE(test::matches_shape(first.substr(0, 20), "9999/99/99 99:99:99 ")) << first;
    EXPECT_EQ(first.substr(20),
              "[error] " + pid + "#0: open() \"/x\" failed (2: No such file or directory)");
    const std::string second = text.substr(first_end + 1);
    EXPECT_EQ(second.substr(20), "[warn] " + pid + "#0: *5 client timed out\n") << second;
    EXPECT_EQ(text.find("not shown"), std::string::npos);
}

TEST(Log, ContextIsAppendedAndLongLinesAreTruncated) {
    const int fd = ::memfd_create("log", 0);
    {
        Log log(fd, LogLevel::debug);
        log.write_conn(
            LogLevel::error, 0, 1,
            [](const void* data, char* buf, std::size_t size) -> std::size_t {
                const std::string ctx = std::string(", client: ") + static_cast<const char*>(data);
                const std::size_t n = std::min(size, ctx.size());
                ctx.copy(buf, n);
                return n;
            },
            "127.0.0.1", "%s", "boom");
        log.write(LogLevel::error, 0, "%s", std::string(5000, 'x').c_str());
    }
    const std::string text = read_all(fd);
    ::close(fd);
    EXPECT_NE(text.find("*1 boom, client: 127.0.0.1\n"), std::string::npos) << text;
    const auto second = text.find('\n') + 1;
    EXPECT_EQ(text.size() - second, 2048u);  // truncated, still ends with a newline
    EXPECT_EQ(text.back(), '\n');
}

TEST(Log, ParsesLevels) {
    LogLevel level = LogLevel::error;
    EXPECT_TRUE(parse_log_level("debug", &level));
    EXPECT_EQ(level, LogLevel::debug);
    EXPECT_TRUE(parse_log_level("emerg", &level));
    EXPECT_EQ(level, LogLevel::emerg);
    EXPECT_FALSE(parse_log_level("verbose", &level));
    EXPECT_EQ(to_string(LogLevel::warn), "warn");
}

}  // namespace
}  // namespace evs::core
