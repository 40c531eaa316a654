#pragma once

// Checks of configuration errors as nginx reports them, shared by the integration
// tests that feed evserve a broken configuration:
//
//   - config_test_fails(): `evserve -t` exits with status 1 and prints exactly the
//     error (`evserve: [emerg] <message> in <file>:<line>`) and nginx's "test failed"
//     line on stderr, nothing else.
//   - config_start_fails(): starting on that configuration fails the same way (status
//     1, the error on stderr) and leaves no pid file.
//   - config_text_fails(): writes conf/test.conf and runs config_test_fails() with the
//     line where a given directive stands in the text.
//
// They return ::testing::AssertionResult, so that a caller names its case with <<.
// Ownership: the TestServer is the caller's. Thread: the test's thread.

#include <algorithm>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "integration/server_fixture.hpp"

namespace evs::test {

// The line, counting from 1, on which `needle` first occurs in `text`; 0 when it does
// not occur.
inline int line_of(std::string_view text, std::string_view needle) {
    const std::size_t at = text.find(needle);
    if (at == std::string_view::npos) {
        return 0;
    }
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

// nginx's wording of a configuration error at `file`:`line`, as evserve prints it.
inline std::string emerg_at(std::string_view message, std::string_view file, int line) {
    return "evserve: [emerg] " + std::string(message) + " in " + std::string(file) + ":" +
           std::to_string(line) + "\n";
}

// `evserve -t` on the server's conf/test.conf exits with status 1 and its stderr is
// `emerg` (the whole error line) followed by "configuration file <conf> test failed".
inline ::testing::AssertionResult config_test_fails(TestServer& server, std::string_view emerg) {
    const RunResult r = server.run_with_conf({"-t"}, 5s);
    if (!r.exited) {
        return ::testing::AssertionFailure() << "evserve -t did not exit within 5 s";
    }
    const std::string expected =
        std::string(emerg) + "evserve: configuration file " + server.conf_path() + " test failed\n";
    if (r.exit_code() != 1 || r.err != expected) {
        return ::testing::AssertionFailure()
               << "evserve -t: " << describe_status(r.status) << " (expected exit status 1)\n"
               << "expected stderr:\n"
               << expected << "got:\n"
               << r.err;
    }
    return ::testing::AssertionSuccess();
}

// Starting on the server's conf/test.conf exits with status 1, prints `emerg` on
// stderr and leaves no pid file.
inline ::testing::AssertionResult config_start_fails(TestServer& server, std::string_view emerg) {
    const RunResult r = server.run_with_conf({"-g", "daemon off;"}, 5s);
    if (!r.exited) {
        return ::testing::AssertionFailure() << "the server started on a broken configuration";
    }
    if (r.exit_code() != 1 || r.err.find(emerg) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "start: " << describe_status(r.status) << " (expected exit status 1)\n"
               << "expected on stderr: " << emerg << "got:\n"
               << r.err;
    }
    if (file_exists(server.pid_path())) {
        return ::testing::AssertionFailure() << "a failed start left " << server.pid_path();
    }
    return ::testing::AssertionSuccess();
}

// Writes `text` as conf/test.conf and expects `evserve -t` to fail with `message` at
// the line of `text` where `at` first occurs.
inline ::testing::AssertionResult config_text_fails(TestServer& server, std::string_view text,
                                                    std::string_view at, std::string_view message) {
    const int line = line_of(text, at);
    if (line == 0) {
        return ::testing::AssertionFailure() << "\"" << at << "\" is not in the configuration";
    }
    if (!server.configure(text)) {
        return ::testing::AssertionFailure() << "cannot write " << server.conf_path();
    }
    return config_test_fails(server, emerg_at(message, server.conf_path(), line));
}

}  // namespace evs::test
