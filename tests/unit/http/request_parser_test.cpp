// RequestParser against a corpus of valid and invalid requests, each expected outcome taken
// from nginx's behaviour. Every request is parsed whole, byte by byte, split at every
// position into two reads, and with its unfinished line moved to a new buffer after every
// byte; all of these must produce exactly the same result.

#include "http/request_parser.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "unit/http/parser_harness.hpp"

namespace evs::http {
namespace {

using core::Status;
using test::feed;
using test::ParseRun;

struct Case {
    const char* name;
    std::string request;
    Status status;
    ParseError error = ParseError::none;
    std::function<void(const RequestHead&)> check = nullptr;
    ParserSettings settings = {};
    std::size_t consumed = std::string::npos;  // expected consumed(); npos: the whole input
};

std::vector<Case> corpus() {
    std::vector<Case> c;
    // ---- valid requests ----
    c.push_back({"simple_get", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.method, Method::get);
                     EXPECT_EQ(h.method_name, "GET");
                     EXPECT_EQ(h.request_line, "GET / HTTP/1.1");
                     EXPECT_EQ(h.path, "/");
                     EXPECT_EQ(h.unparsed_uri, "/");
                     EXPECT_EQ(h.args, "");
                     EXPECT_EQ(h.protocol, "HTTP/1.1");
                     EXPECT_EQ(h.http_version, 1001);
                     EXPECT_EQ(h.host, "example.com");
                     EXPECT_FALSE(h.host_from_request_line);
                     EXPECT_EQ(h.content_length, -1);
                     EXPECT_FALSE(h.chunked);
                     EXPECT_TRUE(h.keepalive_requested());
                     ASSERT_EQ(h.headers.size(), 1u);
                     EXPECT_EQ(h.headers[0].name, "Host");
                     EXPECT_EQ(h.headers[0].known, KnownHeader::host);
                 }});
    c.push_back({"bare_lf_http10", "GET /index.html HTTP/1.0\n\n", Status::ok, ParseError::none,
                 [](const RequestHead& h) {
                     EXPECT_EQ(h.http_version, 1000);
                     EXPECT_EQ(h.exten, "html");
                     EXPECT_EQ(h.host, "");
                     EXPECT_FALSE(h.keepalive_requested());
                     EXPECT_TRUE(h.headers.empty());
                 }});
    c.push_back({"leading_empty_lines", "\r\n\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.request_line, "GET /x HTTP/1.1");
                     EXPECT_EQ(h.path, "/x");
                 }});
    c.push_back({"query_not_decoded",
                 "GET /search.cgi?q=a+b&x=%20%2e%2e/ HTTP/1.1\r\nHost: h\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.path, "/search.cgi");
                     EXPECT_EQ(h.exten, "cgi");
                     EXPECT_EQ(h.args, "q=a+b&x=%20%2e%2e/");
                     EXPECT_EQ(h.unparsed_uri, "/search.cgi?q=a+b&x=%20%2e%2e/");
                 }});
    c.push_back({"absolute_form_host_wins",
                 "GET http://Example.COM:8080/a/b.txt?x=1 HTTP/1.1\r\nHost: other.org\r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.schema, "http");
                     EXPECT_EQ(h.host, "example.com");
                     EXPECT_TRUE(h.host_from_request_line);
                     EXPECT_EQ(h.path, "/a/b.txt");
                     EXPECT_EQ(h.exten, "txt");
                     EXPECT_EQ(h.args, "x=1");
                     EXPECT_EQ(h.unparsed_uri, "/a/b.txt?x=1");
                     EXPECT_EQ(h.value(KnownHeader::host), "other.org");
                 }});
    c.push_back({"absolute_form_no_path", "GET https://h.example HTTP/1.1\r\nHost: h\r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.schema, "https");
                     EXPECT_EQ(h.path, "/");
                     EXPECT_EQ(h.unparsed_uri, "/");
                     EXPECT_EQ(h.host, "h.example");
                 }});
    c.push_back({"absolute_form_empty_path_args", "GET http://h?a=1 HTTP/1.1\r\nHost: h\r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.path, "/");
                     EXPECT_EQ(h.args, "a=1");
                     EXPECT_EQ(h.unparsed_uri, "?a=1");
                 }});
    c.push_back({"absolute_form_ipv6", "GET http://[::1]:8080/ HTTP/1.1\r\nHost: x\r\n\r\n",
                 Status::ok, ParseError::none,
                 [](const RequestHead& h) { EXPECT_EQ(h.host, "[::1]"); }});
    c.push_back({"dot_segments_and_slashes", "GET /a/./b/../c//d/. HTTP/1.1\r\nHost: h\r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.path, "/a/c/d/");
                     EXPECT_EQ(h.unparsed_uri, "/a/./b/../c//d/.");
                 }});
    c.push_back({"merge_slashes_off", "GET //a//b HTTP/1.1\r\nHost: h\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) { EXPECT_EQ(h.path, "//a//b"); },
                 ParserSettings{true, false, false}});
    c.push_back({"percent_decoding", "GET /%7Euser/file%2Etxt HTTP/1.1\r\nHost: h\r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.path, "/~user/file.txt");
                     EXPECT_EQ(h.exten, "txt");
                 }});
    c.push_back({"encoded_slash_is_a_slash", "GET /a%2Fb%2f%2fc HTTP/1.1\r\nHost: h\r\n\r\n",
                 Status::ok, ParseError::none,
                 [](const RequestHead& h) { EXPECT_EQ(h.path, "/a/b/c"); }});
    c.push_back({"fragment_dropped", "GET /a.html#top HTTP/1.1\r\nHost: h\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.path, "/a.html");
                     EXPECT_EQ(h.args, "");
                     EXPECT_EQ(h.exten, "html");
                 }});
    c.push_back({"args_cut_at_fragment", "GET /a?b=1#frag HTTP/1.1\r\nHost: h\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.path, "/a");
                     EXPECT_EQ(h.args, "b=1");
                 }});
    c.push_back({"utf8_path", "GET /caf\xc3\xa9.txt HTTP/1.1\r\nHost: h\r\n\r\n", Status::ok,
                 ParseError::none,
                 [](const RequestHead& h) { EXPECT_EQ(h.path, "/caf\xc3\xa9.txt"); }});
    c.push_back({"unknown_method", "M-SEARCH_X / HTTP/1.1\r\nHost: h\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.method, Method::unknown);
                     EXPECT_EQ(h.method_name, "M-SEARCH_X");
                 }});
    c.push_back({"spaces_around_uri", "HEAD   /x   HTTP/1.1   \r\nHost: h\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.method, Method::head);
                     EXPECT_EQ(h.path, "/x");
                 }});
    c.push_back({"post_with_body",
                 "POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
                 Status::ok,
                 ParseError::none,
                 [](const RequestHead& h) {
                     EXPECT_EQ(h.method, Method::post);
                     EXPECT_EQ(h.content_length, 5);
                 },
                 {},
                 51});
    c.push_back({"max_content_length",
                 "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.content_length, INT64_C(9223372036854775807));
                 }});
    c.push_back({"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     EXPECT_TRUE(h.chunked);
                     EXPECT_EQ(h.content_length, -1);
                 }});
    c.push_back({"expect_100_continue",
                 "PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
                 Status::ok, ParseError::none,
                 [](const RequestHead& h) { EXPECT_TRUE(h.expect_100_continue); }});
    c.push_back({"expect_ignored_in_http10",
                 "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", Status::ok,
                 ParseError::none,
                 [](const RequestHead& h) { EXPECT_FALSE(h.expect_100_continue); }});
    c.push_back({"connection_close_http11",
                 "GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.connection, ConnectionOption::close);
                     EXPECT_FALSE(h.keepalive_requested());
                 }});
    c.push_back({"connection_keepalive_http10",
                 "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: TE\r\n\r\n", Status::ok,
                 ParseError::none,
                 [](const RequestHead& h) { EXPECT_TRUE(h.keepalive_requested()); }});
    c.push_back({"http09", "GET /page\r\n", Status::ok, ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.http_version, 9);
                     EXPECT_EQ(h.protocol, "");
                     EXPECT_EQ(h.path, "/page");
                     EXPECT_TRUE(h.headers.empty());
                 }});
    c.push_back({"http09_trailing_spaces_then_more",
                 "GET /  \nHost: ignored\r\n\r\n",
                 Status::ok,
                 ParseError::none,
                 [](const RequestHead& h) { EXPECT_EQ(h.http_version, 9); },
                 {},
                 8});
    c.push_back({"http12_is_accepted", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.http_version, 1002);
                     EXPECT_EQ(h.http_minor, 2);
                 }});
    c.push_back({"header_whitespace",
                 "GET / HTTP/1.1\r\nHost:h\r\nX-A: \t v  w \t \r\nX-Empty:\r\nX-Sp:   \r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     ASSERT_EQ(h.headers.size(), 4u);
                     EXPECT_EQ(h.headers[0].value, "h");
                     EXPECT_EQ(h.headers[1].value, "v  w");
                     EXPECT_EQ(h.headers[2].value, "");
                     EXPECT_EQ(h.headers[3].value, "");
                 }});
    c.push_back({"header_without_colon", "GET / HTTP/1.1\r\nHost: h\r\nFoo\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     ASSERT_EQ(h.headers.size(), 2u);
                     EXPECT_EQ(h.headers[1].name, "Foo");
                     EXPECT_EQ(h.headers[1].value, "");
                 }});
    c.push_back({"invalid_headers_dropped",
                 "GET / HTTP/1.1\r\nX_Under: 1\r\nHost: h\r\nX.Dot: 2\r\nX@At: 3\r\nOk: 4\r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     ASSERT_EQ(h.headers.size(), 2u);
                     EXPECT_EQ(h.headers[0].name, "Host");
                     EXPECT_EQ(h.headers[1].name, "Ok");
                 }});
    c.push_back({"invalid_headers_kept_when_not_ignored",
                 "GET / HTTP/1.1\r\nX_Under: 1\r\nHost: h\r\nX.Dot: 2\r\n\r\n", Status::ok,
                 ParseError::none,
                 [](const RequestHead& h) {
                     ASSERT_EQ(h.headers.size(), 3u);
                     EXPECT_EQ(h.headers[0].name, "X_Under");
                     EXPECT_EQ(h.headers[2].name, "X.Dot");
                 },
                 ParserSettings{false, false, true}});
    c.push_back({"underscores_allowed", "GET / HTTP/1.1\r\n_X_Under: 1\r\nHost: h\r\n\r\n",
                 Status::ok, ParseError::none,
                 [](const RequestHead& h) {
                     ASSERT_EQ(h.headers.size(), 2u);
                     EXPECT_EQ(h.headers[0].name, "_X_Under");
                 },
                 ParserSettings{true, true, true}});
    c.push_back({"host_normalised", "GET / HTTP/1.1\r\nhOST: WWW.Example.COM.:8080\r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.host, "www.example.com");
                     EXPECT_EQ(h.value(KnownHeader::host), "WWW.Example.COM.:8080");
                 }});
    c.push_back({"repeated_cookies",
                 "GET / HTTP/1.1\r\nCookie: a=1\r\nHost: h\r\ncookie: b=2\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.value(KnownHeader::cookie), "a=1");
                     int cookies = 0;
                     for (const Header& header : h.headers) {
                         cookies += header.known == KnownHeader::cookie;
                     }
                     EXPECT_EQ(cookies, 2);
                 }});
    c.push_back({"known_headers",
                 "GET /f HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: Sat, 29 Oct 1994 19:43:31 "
                 "GMT\r\nIf-None-Match: \"x\"\r\nRange: bytes=0-9\r\nIf-Range: \"x\"\r\n"
                 "User-Agent: t/1\r\nReferer: http://r/\r\nAccept-Encoding: gzip\r\n\r\n",
                 Status::ok, ParseError::none, [](const RequestHead& h) {
                     EXPECT_EQ(h.value(KnownHeader::if_modified_since),
                               "Sat, 29 Oct 1994 19:43:31 GMT");
                     EXPECT_EQ(h.value(KnownHeader::if_none_match), "\"x\"");
                     EXPECT_EQ(h.value(KnownHeader::range), "bytes=0-9");
                     EXPECT_EQ(h.value(KnownHeader::if_range), "\"x\"");
                     EXPECT_EQ(h.value(KnownHeader::user_agent), "t/1");
                     EXPECT_EQ(h.value(KnownHeader::referer), "http://r/");
                     EXPECT_EQ(h.value(KnownHeader::accept_encoding), "gzip");
                     EXPECT_EQ(h.find(KnownHeader::cookie), nullptr);
                 }});
    c.push_back({"cr_cr_lf_tolerated_in_headers", "GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", Status::ok,
                 ParseError::none, [](const RequestHead& h) { EXPECT_EQ(h.host, "h"); }});
    c.push_back({"high_bytes_and_controls_in_value",
                 "GET / HTTP/1.1\r\nHost: h\r\nX: \xff\x01z\r\n\r\n", Status::ok, ParseError::none,
                 [](const RequestHead& h) { EXPECT_EQ(h.headers[1].value, "\xff\x01z"); }});
    c.push_back({"pipelined",
                 "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
                 Status::ok,
                 ParseError::none,
                 [](const RequestHead& h) { EXPECT_EQ(h.path, "/1"); },
                 {},
                 28});

    // ---- incomplete ----
    c.push_back({"incomplete_head", "GET / HTTP/1.1\r\nHost: a\r\n", Status::again});
    c.push_back({"incomplete_line", "GET /very/long/pa", Status::again});

    // ---- request line errors ----
    c.push_back(
        {"lowercase_method", "get / HTTP/1.1\r\n\r\n", Status::error, ParseError::invalid_method});
    c.push_back({"tls_handshake", std::string("\x16\x03\x01\x02\x00", 5), Status::error,
                 ParseError::invalid_method});
    c.push_back(
        {"digit_in_method", "G3T / HTTP/1.1\r\n", Status::error, ParseError::invalid_method});
    c.push_back({"http2", "GET / HTTP/2.0\r\n", Status::error, ParseError::invalid_version});
    c.push_back(
        {"http10_major", "GET / HTTP/10.0\r\n", Status::error, ParseError::invalid_version});
    c.push_back(
        {"http09_written_out", "GET / HTTP/0.9\r\n", Status::error, ParseError::invalid_request});
    c.push_back(
        {"minor_too_long", "GET / HTTP/1.1000\r\n", Status::error, ParseError::invalid_request});
    c.push_back(
        {"lowercase_http", "GET / http/1.1\r\n", Status::error, ParseError::invalid_request});
    c.push_back({"no_minor", "GET / HTTP/1\r\n", Status::error, ParseError::invalid_request});
    c.push_back({"empty_minor", "GET / HTTP/1.\r\n", Status::error, ParseError::invalid_request});
    c.push_back(
        {"junk_after_version", "GET / HTTP/1.1x\r\n", Status::error, ParseError::invalid_request});
    c.push_back({"cr_without_lf", "GET / HTTP/1.1\rX", Status::error, ParseError::invalid_request});
    c.push_back({"post_http09", "POST /\r\n", Status::error, ParseError::invalid_09_method});
    c.push_back(
        {"control_in_uri", "GET /a\x01z HTTP/1.1\r\n", Status::error, ParseError::invalid_request});
    c.push_back(
        {"del_in_uri", "GET /a\x7f HTTP/1.1\r\n", Status::error, ParseError::invalid_request});
    c.push_back(
        {"tab_in_uri", "GET /a\tb HTTP/1.1\r\n", Status::error, ParseError::invalid_request});
    c.push_back(
        {"space_in_uri", "GET /a b HTTP/1.1\r\n", Status::error, ParseError::invalid_request});
    c.push_back(
        {"asterisk_form", "OPTIONS * HTTP/1.1\r\n", Status::error, ParseError::invalid_request});
    c.push_back({"authority_form", "CONNECT example.com:443 HTTP/1.1\r\n", Status::error,
                 ParseError::invalid_request});
    c.push_back(
        {"relative_uri", "GET a/b HTTP/1.1\r\n", Status::error, ParseError::invalid_request});
    c.push_back({"dotdot_above_root", "GET /../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n",
                 Status::error, ParseError::invalid_uri});
    c.push_back({"encoded_dotdot_above_root", "GET /a/%2E%2e/%2e%2E/x HTTP/1.1\r\n", Status::error,
                 ParseError::invalid_uri});
    c.push_back(
        {"encoded_nul", "GET /a%00.html HTTP/1.1\r\n", Status::error, ParseError::invalid_uri});
    c.push_back({"bad_escape", "GET /%zz HTTP/1.1\r\n", Status::error, ParseError::invalid_uri});
    c.push_back(
        {"truncated_escape", "GET /%4 HTTP/1.1\r\n", Status::error, ParseError::invalid_uri});
    c.push_back({"absolute_bad_host", "GET http://a..b/ HTTP/1.1\r\n", Status::error,
                 ParseError::invalid_request_host});
    c.push_back({"absolute_empty_host", "GET http:///x HTTP/1.1\r\n", Status::error,
                 ParseError::invalid_request_host});
    c.push_back({"absolute_bad_host_char", "GET http://a_b/ HTTP/1.1\r\n", Status::error,
                 ParseError::invalid_request});

    // ---- header errors ----
    c.push_back(
        {"missing_host", "GET / HTTP/1.1\r\n\r\n", Status::error, ParseError::missing_host});
    c.push_back({"missing_host_absolute_form", "GET http://h/ HTTP/1.1\r\n\r\n", Status::error,
                 ParseError::missing_host});
    c.push_back({"duplicate_host", "GET / HTTP/1.1\r\nHost: a\r\nHOST: a\r\n\r\n", Status::error,
                 ParseError::duplicate_host});
    c.push_back({"host_with_slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", Status::error,
                 ParseError::invalid_host});
    c.push_back({"host_dotdot", "GET / HTTP/1.1\r\nHost: ..\r\n\r\n", Status::error,
                 ParseError::invalid_host});
    c.push_back(
        {"host_empty", "GET / HTTP/1.0\r\nHost:\r\n\r\n", Status::error, ParseError::invalid_host});
    c.push_back({"host_only_port", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", Status::error,
                 ParseError::invalid_host});
    c.push_back({"host_with_space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", Status::error,
                 ParseError::invalid_host});
    c.push_back({"obs_fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n", Status::error,
                 ParseError::invalid_header});
    c.push_back({"space_before_colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", Status::error,
                 ParseError::invalid_header});
    c.push_back(
        {"empty_name", "GET / HTTP/1.1\r\n: v\r\n\r\n", Status::error, ParseError::invalid_header});
    c.push_back({"nul_in_value", std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26),
                 Status::error, ParseError::invalid_header});
    c.push_back({"control_in_name", "GET / HTTP/1.1\r\nX\x01Y: a\r\n\r\n", Status::error,
                 ParseError::invalid_header});
    c.push_back({"lone_cr_in_value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", Status::error,
                 ParseError::invalid_header});
    c.push_back({"cr_then_junk_at_end", "GET / HTTP/1.1\r\nHost: h\r\n\rX", Status::error,
                 ParseError::invalid_header});
    c.push_back({"duplicate_content_length",
                 "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                 Status::error, ParseError::duplicate_header});
    c.push_back({"duplicate_if_modified_since",
                 "GET / HTTP/1.1\r\nIf-Modified-Since: a\r\nif-modified-since: a\r\n\r\n",
                 Status::error, ParseError::duplicate_header});
    c.push_back({"duplicate_transfer_encoding",
                 "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n",
                 Status::error, ParseError::duplicate_header});
    c.push_back({"content_length_and_chunked",
                 "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n",
                 Status::error, ParseError::content_length_and_te});
    c.push_back({"content_length_letters",
                 "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1a\r\n\r\n", Status::error,
                 ParseError::invalid_content_length});
    c.push_back({"content_length_negative",
                 "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", Status::error,
                 ParseError::invalid_content_length});
    c.push_back({"content_length_list",
                 "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n", Status::error,
                 ParseError::invalid_content_length});
    c.push_back({"content_length_overflow",
                 "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n",
                 Status::error, ParseError::invalid_content_length});
    c.push_back({"content_length_empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
                 Status::error, ParseError::invalid_content_length});
    c.push_back({"transfer_encoding_gzip",
                 "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                 Status::error, ParseError::unknown_transfer_coding});
    c.push_back({"transfer_encoding_http10",
                 "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", Status::error,
                 ParseError::transfer_encoding_http10});
    c.push_back({"connect_method", "CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", Status::error,
                 ParseError::connect_method});
    c.push_back({"trace_method", "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", Status::error,
                 ParseError::trace_method});
    return c;
}

// Parses `c.request` with reads ending at `cuts`; returns the summary.
std::string run_case(const Case& c, const std::vector<std::size_t>& cuts, bool move) {
    ParseRun run(c.settings);
    feed(run, c.request, cuts, move);
    return run.summary();
}

TEST(HttpRequestParser, CorpusOutcomes) {
    for (const Case& c : corpus()) {
        SCOPED_TRACE(c.name);
        ParseRun run(c.settings);
        feed(run, c.request, {}, false);
        EXPECT_EQ(run.status, c.status);
        EXPECT_EQ(run.parser.error(), c.error);
        if (c.status == Status::ok) {
            const std::size_t expected =
                c.consumed == std::string::npos ? c.request.size() : c.consumed;
            EXPECT_EQ(run.parser.consumed(), expected);
            ASSERT_TRUE(c.check) << "valid cases check their fields";
            c.check(run.parser.head());
        }
    }
}

TEST(HttpRequestParser, CorpusStatusCodes) {
    // Spot-check the mapping to what nginx answers.
    EXPECT_EQ(status_of(ParseError::invalid_method), 400);
    EXPECT_EQ(status_of(ParseError::invalid_version), 505);
    EXPECT_EQ(status_of(ParseError::unknown_transfer_coding), 501);
    EXPECT_EQ(status_of(ParseError::connect_method), 405);
    EXPECT_EQ(status_of(ParseError::uri_too_long), 414);
    EXPECT_EQ(status_of(ParseError::header_too_large), 494);
    EXPECT_EQ(status_of(ParseError::too_many_headers), 494);
    EXPECT_EQ(status_of(ParseError::invalid_uri), 400);
    EXPECT_EQ(status_of(ParseError::none), 0);
    EXPECT_EQ(describe(ParseError::invalid_header), "client sent invalid header line");
}

TEST(HttpRequestParser, ByteByByteEqualsWhole) {
    for (const Case& c : corpus()) {
        SCOPED_TRACE(c.name);
        const std::string whole = run_case(c, {}, false);
        std::vector<std::size_t> every;
        for (std::size_t i = 1; i < c.request.size(); ++i) {
            every.push_back(i);
        }
        EXPECT_EQ(run_case(c, every, false), whole);
        EXPECT_EQ(run_case(c, every, true), whole) << "moved to a new buffer after each byte";
    }
}

TEST(HttpRequestParser, EveryTwoWaySplitEqualsWhole) {
    for (const Case& c : corpus()) {
        SCOPED_TRACE(c.name);
        const std::string whole = run_case(c, {}, false);
        for (std::size_t cut = 0; cut <= c.request.size(); ++cut) {
            SCOPED_TRACE(cut);
            ASSERT_EQ(run_case(c, {cut}, false), whole);
            ASSERT_EQ(run_case(c, {cut}, true), whole);
        }
    }
}

TEST(HttpRequestParser, FailedParserStaysFailedAndOkStaysOk) {
    ParseRun bad;
    const std::string req = "get / HTTP/1.1\r\n\r\n";
    EXPECT_EQ(bad.parser.parse(req.data(), req.size()), Status::error);
    EXPECT_EQ(bad.parser.consumed(), 0u);
    EXPECT_EQ(bad.parser.parse(req.data(), req.size()), Status::error);

    ParseRun good;
    const std::string ok = "GET / HTTP/1.0\r\n\r\nGARBAGE";
    EXPECT_EQ(good.parser.parse(ok.data(), ok.size()), Status::ok);
    EXPECT_EQ(good.parser.consumed(), 18u);
    EXPECT_EQ(good.parser.parse(ok.data(), ok.size()), Status::ok);
}

TEST(HttpRequestParser, ResetParsesThePipelinedRequest) {
    const std::string stream =
        "GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.0\r\nX_Y: 1\r\n\r\n";
    ParseRun run(ParserSettings{true, false, true});
    ASSERT_EQ(run.parser.parse(stream.data(), stream.size()), Status::ok);
    EXPECT_EQ(run.parser.head().path, "/one");
    const std::size_t next = run.parser.consumed();
    run.parser.reset();
    ASSERT_EQ(run.parser.parse(stream.data() + next, stream.size() - next), Status::ok);
    EXPECT_EQ(run.parser.head().path, "/two");
    EXPECT_EQ(run.parser.head().host, "");
    EXPECT_TRUE(run.parser.head().headers.empty());
    EXPECT_EQ(run.parser.consumed(), stream.size() - next);
}

TEST(HttpRequestParser, SimplePathsAreViewsIntoTheBuffer) {
    const std::string req = "GET /static/app.js?v=3 HTTP/1.1\r\nHost: h\r\n\r\n";
    ParseRun run;
    ASSERT_EQ(run.parser.parse(req.data(), req.size()), Status::ok);
    const RequestHead& h = run.parser.head();
    EXPECT_EQ(h.path.data(), req.data() + 4);
    EXPECT_EQ(h.exten, "js");
    EXPECT_EQ(h.args.data(), req.data() + 19);
    EXPECT_EQ(h.headers[0].value.data(), req.data() + 39);
    EXPECT_EQ(run.arena.blocks(), 0u) << "nothing allocated for a simple request";
}

TEST(HttpRequestParser, FailedAllocationIsA500) {
    std::vector<Header> storage(8);
    RequestParser parser(storage, ParserAllocator{});
    const std::string req = "GET /a/../b HTTP/1.1\r\n";
    EXPECT_EQ(parser.parse(req.data(), req.size()), Status::error);
    EXPECT_EQ(parser.error(), ParseError::no_memory);
    EXPECT_EQ(parser.status(), 500);
}

TEST(HttpRequestParser, HeaderStorageBoundsTheHeaderCount) {
    std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 3; ++i) {
        req += "X-" + std::to_string(i) + ": v\r\n";
    }
    req += "\r\n";
    {
        ParseRun run({}, 4);
        feed(run, req, {}, false);
        EXPECT_EQ(run.status, Status::ok);
        EXPECT_EQ(run.parser.head().headers.size(), 4u);
    }
    {
        ParseRun run({}, 3);
        feed(run, req, {}, false);
        EXPECT_EQ(run.status, Status::error);
        EXPECT_EQ(run.parser.error(), ParseError::too_many_headers);
        EXPECT_EQ(run.parser.status(), k_status_request_header_too_large);
    }
    {
        // Dropped invalid lines do not count.
        ParseRun run({}, 1);
        feed(run, "GET / HTTP/1.1\r\nA_1: x\r\nA_2: x\r\nHost: h\r\n\r\n", {}, false);
        EXPECT_EQ(run.status, Status::ok);
    }
}

struct HookLog {
    int calls = 0;
    std::string host;
};

void enable_underscores(void* context, std::string_view host, ParserSettings& settings) {
    auto* log = static_cast<HookLog*>(context);
    ++log->calls;
    log->host = std::string(host);
    settings.underscores_in_headers = true;
}

TEST(HttpRequestParser, HostHookSettingsApplyToTheFollowingLines) {
    const std::string req = "GET / HTTP/1.1\r\nA_1: x\r\nHost: Vhost\r\nB_2: y\r\n\r\n";
    HookLog log;
    ParseRun run;
    run.parser.set_host_hook(&enable_underscores, &log);
    feed(run, req, {}, false);
    ASSERT_EQ(run.status, Status::ok);
    EXPECT_EQ(log.calls, 1);
    EXPECT_EQ(log.host, "vhost");
    ASSERT_EQ(run.parser.head().headers.size(), 2u);
    EXPECT_EQ(run.parser.head().headers[0].name, "Host");
    EXPECT_EQ(run.parser.head().headers[1].name, "B_2");

    // reset() goes back to the constructor's settings.
    run.parser.reset();
    ASSERT_EQ(run.parser.parse(req.data(), req.size()), Status::ok);
    EXPECT_EQ(log.calls, 2);
}

TEST(HttpRequestParser, HostHookRunsOnceForAbsoluteForm) {
    const std::string req = "GET http://one/ HTTP/1.1\r\nHost: two\r\n\r\n";
    HookLog log;
    ParseRun run;
    run.parser.set_host_hook(&enable_underscores, &log);
    feed(run, req, {}, false);
    ASSERT_EQ(run.status, Status::ok);
    EXPECT_EQ(log.calls, 1);
    EXPECT_EQ(log.host, "one");
    EXPECT_EQ(run.parser.head().host, "one");
}

}  // namespace
}  // namespace evs::http
