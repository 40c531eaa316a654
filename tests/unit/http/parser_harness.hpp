#pragma once

// Test harness for RequestParser: feeds one byte stream in the ways a connection can
// deliver it (whole, byte by byte, split in two, moved to a new buffer between reads) and
// renders everything the parser found as one string, so that the ways can be compared.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "http/request_parser.hpp"

namespace evs::http::test {

// A request arena for the parser: every block lives until the arena dies.
class TestArena {
public:
    ParserAllocator allocator() { return {&TestArena::allocate, this}; }
    std::size_t blocks() const { return blocks_.size(); }

private:
    static void* allocate(void* context, std::size_t size) {
        auto* arena = static_cast<TestArena*>(context);
        arena->blocks_.push_back(std::make_unique<char[]>(size == 0 ? 1 : size));
        return arena->blocks_.back().get();
    }
    std::vector<std::unique_ptr<char[]>> blocks_;
};

inline const char* status_name(core::Status s) {
    switch (s) {
        case core::Status::ok:
            return "ok";
        case core::Status::again:
            return "again";
        case core::Status::done:
            return "done";
        case core::Status::declined:
            return "declined";
        case core::Status::error:
            return "error";
    }
    return "?";
}

// Everything observable, with `consumed` made absolute by the caller.
inline std::string summarize(const RequestParser& parser, core::Status status,
                             std::size_t absolute_consumed) {
    const RequestHead& h = parser.head();
    std::string s;
    auto field = [&s](const char* name, std::string_view value) {
        s += name;
        s += '=';
        s += value;
        s += '\n';
    };
    field("status", status_name(status));
    field("error", describe(parser.error()));
    field("consumed", std::to_string(absolute_consumed));
    if (status != core::Status::ok) {
        return s;
    }
    field("method", std::to_string(static_cast<int>(h.method)));
    field("method_name", h.method_name);
    field("request_line", h.request_line);
    field("unparsed_uri", h.unparsed_uri);
    field("schema", h.schema);
    field("path", h.path);
    field("args", h.args);
    field("exten", h.exten);
    field("protocol", h.protocol);
    field("version", std::to_string(h.http_version));
    field("host", h.host);
    field("host_from_request_line", h.host_from_request_line ? "1" : "0");
    for (const Header& header : h.headers) {
        s += "header:";
        s += header.name;
        s += ':';
        s += header.value;
        s += ':';
        s += std::to_string(static_cast<int>(header.known));
        s += '\n';
    }
    for (std::size_t i = 0; i < k_known_header_count; ++i) {
        if (const Header* known = h.find(static_cast<KnownHeader>(i))) {
            s += "known:" + std::to_string(i) + ':' + std::string(known->value) + '\n';
        }
    }
    field("content_length", std::to_string(h.content_length));
    field("chunked", h.chunked ? "1" : "0");
    field("expect", h.expect_100_continue ? "1" : "0");
    field("connection", std::to_string(static_cast<int>(h.connection)));
    field("keepalive", h.keepalive_requested() ? "1" : "0");
    return s;
}

// One parse of a stream, with its own storage and arena so that the views stay valid.
struct ParseRun {
    explicit ParseRun(ParserSettings settings = {}, std::size_t max_headers = 64)
        : headers(max_headers), parser(headers, arena.allocator(), settings) {}

    std::vector<Header> headers;
    TestArena arena;
    RequestParser parser;
    std::vector<std::unique_ptr<std::string>> buffers;  // every buffer the parse used
    core::Status status = core::Status::again;
    std::size_t base = 0;  // absolute offset of the current buffer's first byte

    std::string summary() const { return summarize(parser, status, base + parser.consumed()); }
};

// Feeds `stream` in reads that end at the given absolute cut points (then at its end).
// With `move`, after every read that leaves the head incomplete, the unfinished line is
// moved to a fresh buffer and the parser rebased, as the connection does when it switches
// to a large header buffer.
inline void feed(ParseRun& run, std::string_view stream, const std::vector<std::size_t>& cuts,
                 bool move) {
    run.buffers.push_back(std::make_unique<std::string>(stream));
    std::vector<std::size_t> ends = cuts;
    ends.push_back(stream.size());
    for (std::size_t end : ends) {
        if (end < run.base + run.parser.consumed()) {
            continue;
        }
        const std::string& buf = *run.buffers.back();
        run.status = run.parser.parse(buf.data(), end - run.base);
        if (run.status != core::Status::again) {
            return;
        }
        if (move) {
            const std::size_t keep = run.parser.element_start();
            run.buffers.push_back(std::make_unique<std::string>(buf.substr(keep)));
            run.parser.rebase(keep);
            run.base += keep;
        }
    }
}

inline std::string parse_whole(std::string_view stream, ParserSettings settings = {}) {
    ParseRun run(settings);
    feed(run, stream, {}, false);
    return run.summary();
}

}  // namespace evs::http::test
