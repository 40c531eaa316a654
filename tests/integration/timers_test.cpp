// Runs examples/timers.cpp and checks what it prints: the order of the lines (which
// the example guarantees however busy the machine is), that no timer fires early, and
// that it exits 0.

#include <charconv>
#include <chrono>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "integration/child_process.hpp"

namespace evs::test {
namespace {

using namespace std::chrono_literals;

TEST(TimersExample, PrintsEachFiringInOrderAndExitsZero) {
    ChildProcess child;
    ASSERT_TRUE(child.start(EVS_BINARY_DIR "/examples/timers_example", {}));
    const auto output = child.read_all(20s);
    ASSERT_TRUE(output.has_value()) << "no end of output within 20 s";
    const auto status = child.wait(10s);
    ASSERT_TRUE(status.has_value()) << "timers_example did not exit";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_status(*status);

    std::vector<std::string> lines;
    std::istringstream in(*output);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }

    // Each expected line: the text before and after the elapsed milliseconds, and the
    // earliest time it may report; -1 for a line without a time.
    struct Expected {
        std::string_view before;
        std::string_view after;
        long earliest_ms;
    };
    const Expected expected[] = {
        {"tick 1 at ", " ms", 100},           {"cancelled the timer due at 350 ms", "", -1},
        {"tick 2 at ", " ms", 200},           {"one-shot at ", " ms", 250},
        {"tick 3 at ", " ms", 300},           {"tick 4 at ", " ms", 400},
        {"tick 5 at ", " ms, stopping", 500},
    };
    ASSERT_EQ(lines.size(), std::size(expected)) << *output;

    long previous_ms = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string_view line = lines[i];
        const Expected& want = expected[i];
        if (want.earliest_ms < 0) {
            EXPECT_EQ(line, want.before) << "line " << i + 1 << "\n" << *output;
            continue;
        }
        // "<before><digits><after>", and the time not earlier than the timer was due.
        ASSERT_TRUE(line.starts_with(want.before) && line.ends_with(want.after) &&
                    line.size() > want.before.size() + want.after.size())
            << "line " << i + 1 << " is \"" << line << "\"\n"
            << *output;
        const std::string_view digits =
            line.substr(want.before.size(), line.size() - want.before.size() - want.after.size());
        long elapsed = -1;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), elapsed);
        ASSERT_TRUE(ec == std::errc() && end == digits.data() + digits.size()) << line;
        EXPECT_GE(elapsed, want.earliest_ms) << "fired early: " << line;
        EXPECT_GE(elapsed, previous_ms) << "time went backwards: " << line;
        previous_ms = elapsed;
    }
}

}  // namespace
}  // namespace evs::test
