// stub_status and the Prometheus page seen from raw sockets: nginx's text byte for
// byte (trailing spaces included), counters that grow by exactly the connections and
// requests the test made, totals that include the other worker's work (two workers,
// each answering in turn), Reading/Writing/Waiting with connections the test holds
// in each state, 405 for other methods, HEAD, access rules, the $connections_*
// variables in an access log, and the Prometheus page read back by a real parser
// (python3's prometheus_client) and by a strict line grammar: responses per status,
// bytes sent equal to the bytes the client received, 444 counted, per-worker lines.
//
// Every test starts its own server in a temporary prefix. See server_fixture.hpp.

#include <sys/wait.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/config_check.hpp"
#include "integration/server_fixture.hpp"
#include "integration/text_checks.hpp"

namespace evs::test {
namespace {

// The numbers of nginx's stub_status page.
struct StubStatus {
    std::uint64_t active = 0;
    std::uint64_t accepts = 0;
    std::uint64_t handled = 0;
    std::uint64_t requests = 0;
    std::uint64_t reading = 0;
    std::uint64_t writing = 0;
    std::uint64_t waiting = 0;
};

// The whole body must be nginx's page: four lines, single spaces, a space before
// each line end but the second.
// The numbers are read, then the page is printed back from them and must be the body
// byte for byte (which also rejects signs, leading zeros and extra spaces).
std::optional<StubStatus> parse_stub_status(const std::string& body) {
    constexpr char k_page[] = "Active connections: %" SCNu64
                              " \nserver accepts handled requests\n"
                              " %" SCNu64 " %" SCNu64 " %" SCNu64 " \nReading: %" SCNu64
                              " Writing: %" SCNu64 " Waiting: %" SCNu64 " \n";
    StubStatus s;
    if (std::sscanf(body.c_str(), k_page, &s.active, &s.accepts, &s.handled, &s.requests,
                    &s.reading, &s.writing, &s.waiting) != 7) {
        return std::nullopt;
    }
    char back[512];
    const int n =
        std::snprintf(back, sizeof(back),
                      "Active connections: %" PRIu64
                      " \nserver accepts handled requests\n"
                      " %" PRIu64 " %" PRIu64 " %" PRIu64 " \nReading: %" PRIu64
                      " Writing: %" PRIu64 " Waiting: %" PRIu64 " \n",
                      s.active, s.accepts, s.handled, s.requests, s.reading, s.writing, s.waiting);
    if (n < 0 || body != std::string_view(back, static_cast<std::size_t>(n))) {
        return std::nullopt;
    }
    return s;
}

// Bytes of a response as they came over the wire (no chunked bodies here).
std::uint64_t wire_size(const HttpResponse& r) {
    return r.head.size() + 4 + r.body.size();
}

std::string server_block(std::uint16_t port, std::string_view locations,
                         std::string_view listen_options = "") {
    std::string text = "    server {\n        listen 127.0.0.1:" + std::to_string(port);
    text.append(listen_options).append(";\n        server_name localhost;\n        root html;\n");
    text.append(locations).append("\n    }\n");
    return text;
}

constexpr char k_status_locations[] =
    "        location = /status { stub_status; }\n"
    "        location = /metrics { stub_status; status_format prometheus; }\n"
    "        location = /drop { return 444; }\n";

class StatusTest : public ::testing::Test {
protected:
    // Starts a server with `workers` workers, the status locations and `extra`.
    void start(int workers = 1, std::string_view extra = "", std::string_view http = "",
               std::string_view listen_options = "") {
        port_ = free_port();
        ASSERT_TRUE(server_.write("html/index.html", "<p>index</p>\n"));
        std::string locations = k_status_locations;
        locations.append(extra);
        std::string block(http);
        block += server_block(port_, locations, listen_options);
        ASSERT_TRUE(server_.configure(TestServer::config(block, workers)));
        ASSERT_TRUE(server_.start());
        ASSERT_EQ(server_.wait_workers(static_cast<std::size_t>(workers), 10s).size(),
                  static_cast<std::size_t>(workers));
    }

    void TearDown() override { server_.expect_no_sanitizer_reports(); }

    // GET `path` on `client` (keepalive), the whole response.
    HttpResponse get(HttpClient& client, std::string_view path, std::string_view method = "GET") {
        EXPECT_TRUE(client.send(http_get(path, "localhost", "", method))) << client.error();
        auto r = client.read_response(method == "HEAD");
        EXPECT_TRUE(r.has_value()) << path << ": " << client.error();
        return r.value_or(HttpResponse{});
    }

    // stub_status on a fresh connection.
    StubStatus stub_status() {
        HttpClient c(port_);
        const HttpResponse r = get(c, "/status");
        EXPECT_EQ(r.status, 200);
        const auto s = parse_stub_status(r.body);
        EXPECT_TRUE(s.has_value()) << "not nginx's page:\n" << r.body;
        return s.value_or(StubStatus{});
    }

    TestServer server_;
    std::uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------
// nginx's page

TEST_F(StatusTest, FirstRequestGetsNginxPageByteForByte) {
    start();
    HttpClient c(port_);
    const HttpResponse r = get(c, "/status");
    ASSERT_EQ(r.status, 200);
    // The only connection so far, its one request, being written.
    EXPECT_EQ(r.body,
              "Active connections: 1 \n"
              "server accepts handled requests\n"
              " 1 1 1 \n"
              "Reading: 0 Writing: 1 Waiting: 0 \n");
    EXPECT_EQ(r.header_or("Content-Type"), "text/plain");
    EXPECT_EQ(r.header_or("Content-Length"), std::to_string(r.body.size()));
    // nginx's handler sets nothing a static file has.
    EXPECT_FALSE(r.header("Last-Modified").has_value());
    EXPECT_FALSE(r.header("ETag").has_value());
    EXPECT_FALSE(r.header("Accept-Ranges").has_value());
    EXPECT_EQ(r.header_or("Connection"), "keep-alive");

    // The same connection again: one more request, no new connection.
    const HttpResponse again = get(c, "/status");
    EXPECT_EQ(again.body,
              "Active connections: 1 \n"
              "server accepts handled requests\n"
              " 1 1 2 \n"
              "Reading: 0 Writing: 1 Waiting: 0 \n");
}

TEST_F(StatusTest, CountersGrowByExactlyTheConnectionsAndRequestsMade) {
    start();
    const StubStatus before = stub_status();  // connection 1, request 1
    EXPECT_EQ(before.accepts, 1u);
    EXPECT_EQ(before.handled, 1u);
    EXPECT_EQ(before.requests, 1u);

    // 4 connections with one request each, one with 3 requests, a 404 among them.
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(status_of(port_, i == 2 ? "/missing" : "/index.html"), i == 2 ? 404 : 200);
    }
    {
        HttpClient c(port_);
        for (int i = 0; i < 3; ++i) {
            EXPECT_EQ(get(c, "/index.html").status, 200);
        }
    }
    // A connection that sends nothing and goes away is accepted and handled too.
    {
        HttpClient idle(port_);
        ASSERT_TRUE(idle.ok());
        // 1 + 4 + 1 + this one, and the probe itself.
        ASSERT_TRUE(wait_until([&] { return stub_status().accepts >= 8; }, 5s));
    }
    const StubStatus after = stub_status();
    // Connections: 1 + 4 + 1 + 1 idle + the polls above + this one; requests alike.
    const std::uint64_t polls = after.accepts - 1 - 4 - 1 - 1 - 1;
    EXPECT_GE(polls, 1u);
    EXPECT_EQ(after.handled, after.accepts);
    EXPECT_EQ(after.requests, 1 + 4 + 3 + polls + 1);
    EXPECT_EQ(after.writing, 1u);
}

TEST_F(StatusTest, ReadingWritingWaitingCountHeldConnections) {
    start();
    constexpr int k_idle = 5;
    constexpr int k_reading = 2;
    std::vector<HttpClient> idle;
    for (int i = 0; i < k_idle; ++i) {
        idle.emplace_back(port_);
        ASSERT_EQ(get(idle.back(), "/index.html").status, 200);  // then keepalive: waiting
    }
    std::vector<HttpClient> reading;
    for (int i = 0; i < k_reading; ++i) {
        reading.emplace_back(port_);
        // A head without its end: the server is reading it.
        ASSERT_TRUE(reading.back().send("GET /index.html HTTP/1.1\r\nHost: localhost\r\n"));
    }
    // The probe's own connection is writing; earlier probes' connections may take a
    // moment to be seen closed, so ask until the numbers settle.
    StubStatus s;
    const bool settled = wait_until(
        [&] {
            s = stub_status();
            return s.active == k_idle + k_reading + 1 && s.reading == k_reading && s.writing == 1 &&
                   s.waiting == k_idle;
        },
        10s, 50ms);
    EXPECT_TRUE(settled) << "active " << s.active << " reading " << s.reading << " writing "
                         << s.writing << " waiting " << s.waiting;
    EXPECT_EQ(s.active, s.reading + s.writing + s.waiting);

    // The reading ones finish their heads: they become waiting after their response.
    for (HttpClient& c : reading) {
        ASSERT_TRUE(c.send("\r\n"));
        const auto r = c.read_response();
        ASSERT_TRUE(r.has_value()) << c.error();
        EXPECT_EQ(r->status, 200);
    }
    EXPECT_TRUE(wait_until(
        [&] {
            s = stub_status();
            return s.reading == 0 && s.waiting == k_idle + k_reading;
        },
        10s, 50ms))
        << "reading " << s.reading << " waiting " << s.waiting;
}

TEST_F(StatusTest, OtherMethodsGet405AndTheConnectionGoesOn) {
    start();
    HttpClient c(port_);
    ASSERT_TRUE(
        c.send("POST /status HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello"));
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 405);
    EXPECT_NE(r->body.find("<title>405 Not Allowed</title>"), std::string::npos) << r->body;
    EXPECT_EQ(r->header_or("Connection"), "keep-alive");
    EXPECT_EQ(get(c, "/metrics", "DELETE").status, 405);
    // The body was read and dropped: the next request on the connection is answered.
    const HttpResponse next = get(c, "/status");
    EXPECT_EQ(next.status, 200);
    const auto s = parse_stub_status(next.body);
    ASSERT_TRUE(s.has_value()) << next.body;
    EXPECT_EQ(s->requests, 3u);
}

TEST_F(StatusTest, HeadGetsTheHeadOnly) {
    start();
    HttpClient c(port_);
    const HttpResponse r = get(c, "/status", "HEAD");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header_or("Content-Type"), "text/plain");
    // nginx sends a HEAD's head before it counts anything: no Content-Length.
    EXPECT_FALSE(r.header("Content-Length").has_value()) << r.head;
    EXPECT_EQ(r.header_or("Connection"), "keep-alive");
    const HttpResponse m = get(c, "/metrics", "HEAD");
    EXPECT_EQ(m.status, 200);
    EXPECT_EQ(m.header_or("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    // Nothing of a body came: the next response on the connection starts clean.
    EXPECT_TRUE(c.pending().empty()) << c.pending();
    const HttpResponse after = get(c, "/status");
    const auto s = parse_stub_status(after.body);
    ASSERT_TRUE(s.has_value()) << after.body;
    EXPECT_EQ(s->requests, 3u);
}

TEST_F(StatusTest, AccessRulesAndOldSyntaxAndServerLevel) {
    port_ = free_port();
    const std::uint16_t second = free_port();
    ASSERT_TRUE(server_.write("html/index.html", "<p>index</p>\n"));
    const std::string http =
        server_block(port_,
                     "        location = /status { stub_status on; allow 127.0.0.1; deny all; }\n"
                     "        location = /closed { stub_status; deny all; }\n"
                     "        location /s/ { stub_status; location /s/nested/ { } }\n") +
        // On a server, stub_status answers what no location takes; locations do not
        // inherit it (nginx's content handler belongs to its block).
        server_block(second, "        stub_status;\n        location /files/ { }\n");
    ASSERT_TRUE(server_.configure(TestServer::config(http)));
    ASSERT_TRUE(server_.start());

    std::string why;
    auto r = fetch(port_, http_get("/status"), &why);
    ASSERT_TRUE(r.has_value()) << why;
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(parse_stub_status(r->body).has_value()) << r->body;
    EXPECT_EQ(status_of(port_, "/closed"), 403);
    r = fetch(port_, http_get("/s/x"), &why);
    ASSERT_TRUE(r.has_value()) << why;
    EXPECT_TRUE(parse_stub_status(r->body).has_value()) << r->body;
    EXPECT_EQ(status_of(port_, "/s/nested/x"), 404);  // a static location
    r = fetch(second, http_get("/anything"), &why);
    ASSERT_TRUE(r.has_value()) << why;
    EXPECT_TRUE(parse_stub_status(r->body).has_value()) << r->body;
    EXPECT_EQ(status_of(second, "/files/x"), 404);
}

TEST_F(StatusTest, ConfigurationErrorsNameFileAndLine) {
    const std::uint16_t port = free_port();
    struct Case {
        std::string http;
        std::string directive;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"    status_format prometheus;\n", "status_format prometheus;",
         "\"status_format\" directive is not allowed here"},
        {server_block(port, "        location / { status_format xml; }\n"), "status_format xml;",
         "invalid value \"xml\" in \"status_format\" directive, it must be \"nginx\" or "
         "\"prometheus\""},
        {"    stub_status;\n", "stub_status;", "\"stub_status\" directive is not allowed here"},
        {server_block(port, "        location / { stub_status on off; }\n"), "stub_status on off;",
         "invalid number of arguments in \"stub_status\" directive"},
    };
    for (const Case& c : cases) {
        EXPECT_TRUE(config_text_fails(server_, TestServer::config(c.http), c.directive, c.message))
            << c.http;
    }
    // Both spellings and both formats are accepted.
    ASSERT_TRUE(server_.configure(TestServer::config(
        server_block(port,
                     "        location /a { stub_status on; }\n"
                     "        location /b { stub_status; status_format nginx; }\n"
                     "        location /c { stub_status; status_format prometheus; }\n"))));
    const RunResult ok = server_.run_with_conf({"-t"});
    EXPECT_EQ(ok.exit_code(), 0) << ok.err;
}

TEST_F(StatusTest, ConnectionsVariablesInTheAccessLog) {
    start(1, "",
          "    log_format gauges '$request_uri $connections_active $connections_reading "
          "$connections_writing $connections_waiting';\n"
          "    access_log logs/gauges.log gauges;\n");
    constexpr int k_idle = 3;
    std::vector<HttpClient> idle;
    for (int i = 0; i < k_idle; ++i) {
        idle.emplace_back(port_);
        ASSERT_EQ(get(idle.back(), "/index.html").status, 200);
    }
    // On the connection that logs the line: wait until the others are seen idle.
    HttpClient c(port_);
    StubStatus s;
    ASSERT_TRUE(wait_until(
        [&] {
            s = parse_stub_status(get(c, "/status").body).value_or(StubStatus{});
            return s.active == k_idle + 1 && s.waiting == k_idle;
        },
        10s, 50ms))
        << "active " << s.active << " waiting " << s.waiting;
    ASSERT_EQ(get(c, "/index.html?logged").status, 200);
    // Logged while the request is still writing: 4 open, 1 writing, 3 waiting.
    ASSERT_TRUE(server_.wait_for_text("logs/gauges.log", "/index.html?logged "));
    const std::string log = server_.read("logs/gauges.log");
    EXPECT_NE(log.find("/index.html?logged 4 0 1 3\n"), std::string::npos) << log;
    // The first lines: each idle connection logged while the earlier ones waited.
    EXPECT_NE(log.find("/index.html 1 0 1 0\n"), std::string::npos) << log;
}

// ---------------------------------------------------------------------------
// Prometheus

// Reads `text` with python3's prometheus_client parser (Debian's
// python3-prometheus-client, for /usr/bin/python3) and prints one line per family,
// "family NAME TYPE", and per sample, "NAME{k=v,...} VALUE" with the labels sorted.
// The parser is lax about names it does not expect (it makes an untyped family of
// them): the script refuses untyped families, empty HELP texts and anything that is
// not a counter or a gauge.
constexpr char k_prometheus_parser[] = R"PY(
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding='utf-8').read()
for family in text_string_to_metric_families(text):
    if family.type not in ('counter', 'gauge'):
        raise SystemExit('family %s has type %s' % (family.name, family.type))
    if not family.documentation:
        raise SystemExit('family %s has no HELP' % family.name)
    print('family', family.name, family.type)
    for s in family.samples:
        labels = ','.join('%s=%s' % (k, s.labels[k]) for k in sorted(s.labels))
        print('%s{%s} %r' % (s.name, labels, s.value))
)PY";

struct Metrics {
    std::map<std::string, std::string> families;  // name -> type
    std::map<std::string, double> samples;        // "name{k=v,...}" -> value
    double get(const std::string& key) const {
        const auto it = samples.find(key);
        return it == samples.end() ? -1 : it->second;
    }
};

// Takes a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, without `colons`, a label name
// ([a-zA-Z_][a-zA-Z0-9_]*) from the front of `text`; "" when there is none.
std::string_view take_name(std::string_view& text, bool colons) {
    auto allowed = [&](char c, bool first) {
        return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (colons && c == ':') ||
               (!first && std::isdigit(static_cast<unsigned char>(c)));
    };
    std::size_t n = 0;
    while (n < text.size() && allowed(text[n], n == 0)) {
        ++n;
    }
    const std::string_view name = text.substr(0, n);
    text.remove_prefix(n);
    return name;
}

// Takes an optional label set ({name="value",...}, values without '"', '\\' or a line
// end) from the front of `text`; false when one starts but is malformed.
bool take_labels(std::string_view& text) {
    if (!text.starts_with('{')) {
        return true;
    }
    text.remove_prefix(1);
    for (;;) {
        if (take_name(text, false).empty() || !text.starts_with("=\"")) {
            return false;
        }
        text.remove_prefix(2);
        const std::size_t end = text.find_first_of("\"\\\n");
        if (end == std::string_view::npos || text[end] != '"') {
            return false;
        }
        text.remove_prefix(end + 1);
        if (text.starts_with('}')) {
            text.remove_prefix(1);
            return true;
        }
        if (!text.starts_with(',')) {
            return false;
        }
        text.remove_prefix(1);
    }
}

// An optional minus sign and digits: the whole of `text`.
bool is_integer(std::string_view text) {
    return is_digits(text.starts_with('-') ? text.substr(1) : text);
}

// The text format's grammar, strictly: HELP and TYPE before a family's samples,
// names and labels as the format allows, every sample in the family declared last.
void expect_strict_grammar(const std::string& text) {
    ASSERT_FALSE(text.empty());
    ASSERT_EQ(text.back(), '\n');
    std::string help_of, family;
    std::set<std::string> seen;
    for (const std::string& line : split_lines(text)) {
        std::string_view rest = line;
        if (rest.starts_with("# HELP ")) {
            rest.remove_prefix(7);
            const std::string_view name = take_name(rest, true);
            if (!name.empty() && rest.size() > 1 && rest[0] == ' ' &&
                rest.find('\\') == std::string_view::npos) {
                help_of = name;
                EXPECT_TRUE(seen.insert(help_of).second) << "family twice: " << line;
                continue;
            }
        } else if (rest.starts_with("# TYPE ")) {
            rest.remove_prefix(7);
            const std::string_view name = take_name(rest, true);
            if (!name.empty() && (rest == " counter" || rest == " gauge")) {
                EXPECT_EQ(name, help_of) << "TYPE without its HELP: " << line;
                family = name;
                continue;
            }
        } else if (const std::string_view name = take_name(rest, true);
                   !name.empty() && take_labels(rest) && rest.starts_with(' ') &&
                   is_integer(rest.substr(1))) {
            EXPECT_EQ(name, family) << "sample outside its family: " << line;
            continue;
        }
        ADD_FAILURE() << "not a line of the text format: \"" << line << "\"";
    }
}

Metrics parse_prometheus(const TestServer& server, const std::string& text) {
    expect_strict_grammar(text);
    Metrics metrics;
    const std::string path = server.path("logs/metrics.txt");
    if (!write_file(path, text)) {
        return metrics;
    }
    ChildProcess python;
    if (!python.start("/usr/bin/python3", {"-c", k_prometheus_parser, path})) {
        return metrics;
    }
    const std::string out = python.read_all(30s).value_or("");
    const auto status = python.wait(30s);
    EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << "prometheus_client could not parse the page (python3-prometheus-client is "
           "installed by scripts/deps.sh test):\n"
        << python.stderr_text() << "\n"
        << text;
    for (const std::string& line : split_lines(out)) {
        if (line.starts_with("family ")) {
            const std::size_t space = line.rfind(' ');
            metrics.families[line.substr(7, space - 7)] = line.substr(space + 1);
        } else if (const std::size_t space = line.rfind(' '); space != std::string::npos) {
            metrics.samples[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
        }
    }
    return metrics;
}

TEST_F(StatusTest, PrometheusPageParsesAndCountsResponsesAndBytes) {
    start();
    HttpClient c(port_);
    HttpResponse first = get(c, "/metrics");
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(first.header_or("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(first.header_or("Content-Length"), std::to_string(first.body.size()));
    const Metrics before = parse_prometheus(server_, first.body);

    const std::map<std::string, std::string> families = {
        {"evserve_connections_accepted", "counter"},
        {"evserve_connections_handled", "counter"},
        {"evserve_http_requests", "counter"},
        {"evserve_connections", "gauge"},
        {"evserve_http_responses", "counter"},
        {"evserve_http_response_bytes", "counter"},
        {"evserve_file_io_operations", "counter"},
        {"evserve_worker_connections_accepted", "counter"},
        {"evserve_worker_http_requests", "counter"},
        {"evserve_worker_connections_active", "gauge"},
        {"evserve_worker_pid", "gauge"},
    };
    EXPECT_EQ(before.families, families);
    EXPECT_EQ(before.get("evserve_connections_accepted_total{}"), 1);
    EXPECT_EQ(before.get("evserve_connections_handled_total{}"), 1);
    EXPECT_EQ(before.get("evserve_http_requests_total{}"), 1);
    EXPECT_EQ(before.get("evserve_connections{state=active}"), 1);
    EXPECT_EQ(before.get("evserve_connections{state=reading}"), 0);
    EXPECT_EQ(before.get("evserve_connections{state=writing}"), 1);
    EXPECT_EQ(before.get("evserve_connections{state=waiting}"), 0);
    // Nothing has finished yet: no response codes, no bytes.
    EXPECT_EQ(before.get("evserve_http_response_bytes_total{}"), 0);
    for (const auto& [key, value] : before.samples) {
        EXPECT_FALSE(key.starts_with("evserve_http_responses_total")) << key;
    }
    // Every AIO mode and result, zero until file AIO counts.
    for (const char* mode : {"native", "threads", "io_uring"}) {
        for (const char* result : {"completed", "fallback", "submitted"}) {
            const std::string key = std::string("evserve_file_io_operations_total{mode=") + mode +
                                    ",result=" + result + "}";
            EXPECT_EQ(before.get(key), 0) << key;
        }
    }
    // The one worker, in slot 0.
    const std::vector<pid_t> workers = server_.workers();
    ASSERT_EQ(workers.size(), 1u);
    EXPECT_EQ(before.get("evserve_worker_pid{worker=0}"), workers[0]);
    EXPECT_EQ(before.get("evserve_worker_http_requests_total{worker=0}"), 1);
    EXPECT_EQ(before.get("evserve_worker_connections_accepted_total{worker=0}"), 1);
    EXPECT_EQ(before.get("evserve_worker_connections_active{worker=0}"), 1);

    // 3 x 404, 2 x 200, a 444 (no bytes), a 405, on new and on this connection; the
    // server's byte count must equal what this client received, the first page
    // included (it was counted when it ended).
    std::uint64_t received = wire_size(first);
    for (int i = 0; i < 3; ++i) {
        HttpClient other(port_);
        const HttpResponse r = get(other, "/missing-" + std::to_string(i));
        EXPECT_EQ(r.status, 404);
        received += wire_size(r);
    }
    for (int i = 0; i < 2; ++i) {
        const HttpResponse r = get(c, "/index.html");
        EXPECT_EQ(r.status, 200);
        received += wire_size(r);
    }
    {
        HttpClient dropped(port_);
        ASSERT_TRUE(dropped.send(http_get("/drop")));
        EXPECT_FALSE(dropped.read_response().has_value());
        EXPECT_TRUE(dropped.peer_closed());
    }
    const HttpResponse not_allowed = get(c, "/metrics", "POST");
    EXPECT_EQ(not_allowed.status, 405);
    received += wire_size(not_allowed);

    const HttpResponse second = get(c, "/metrics");
    ASSERT_EQ(second.status, 200);
    const Metrics after = parse_prometheus(server_, second.body);
    EXPECT_EQ(after.get("evserve_http_responses_total{code=404}"), 3);
    EXPECT_EQ(after.get("evserve_http_responses_total{code=200}"), 1 + 2);
    EXPECT_EQ(after.get("evserve_http_responses_total{code=444}"), 1);
    EXPECT_EQ(after.get("evserve_http_responses_total{code=405}"), 1);
    EXPECT_EQ(after.get("evserve_http_response_bytes_total{}"), static_cast<double>(received));
    // 1 + 3 + 1 connections; 1 + 3 + 2 + 1 + 1 + 1 requests.
    EXPECT_EQ(after.get("evserve_connections_accepted_total{}"), 5);
    EXPECT_EQ(after.get("evserve_http_requests_total{}"), 9);
    EXPECT_EQ(after.get("evserve_worker_http_requests_total{worker=0}"), 9);

    // 3 more 404s: exactly +3, and the bytes grow by what was received since.
    std::uint64_t more = wire_size(second);
    for (int i = 0; i < 3; ++i) {
        const HttpResponse r = get(c, "/missing");
        EXPECT_EQ(r.status, 404);
        more += wire_size(r);
    }
    const Metrics last = parse_prometheus(server_, get(c, "/metrics").body);
    EXPECT_EQ(last.get("evserve_http_responses_total{code=404}"), 6);
    EXPECT_EQ(last.get("evserve_http_response_bytes_total{}"),
              static_cast<double>(received + more));
}

// Two workers, each with its own reuseport socket, so that connections spread: the
// totals either worker reports include what the other did, exactly.
TEST_F(StatusTest, TwoWorkersReportTheSameServerWideTotals) {
    start(2, "",
          "    log_format pids '$pid $request_uri';\n"
          "    access_log logs/pids.log pids;\n",
          " reuseport");
    const std::vector<pid_t> workers = server_.workers();
    ASSERT_EQ(workers.size(), 2u);
    std::uint64_t connections = 0;
    std::uint64_t requests = 0;

    // Requests on fresh connections until the per-worker lines show both at work.
    Metrics m;
    std::string page;
    const bool spread = wait_until(
        [&] {
            for (int i = 0; i < 10; ++i) {
                EXPECT_EQ(status_of(port_, "/index.html"), 200);
                ++connections;
                ++requests;
            }
            HttpClient c(port_);
            page = get(c, "/metrics").body;
            ++connections;
            ++requests;
            m = parse_prometheus(server_, page);
            return m.get("evserve_worker_http_requests_total{worker=0}") > 0 &&
                   m.get("evserve_worker_http_requests_total{worker=1}") > 0;
        },
        30s, 1ms);
    ASSERT_TRUE(spread) << page;
    // Both slots hold the workers the master runs.
    const std::set<double> pids = {m.get("evserve_worker_pid{worker=0}"),
                                   m.get("evserve_worker_pid{worker=1}")};
    EXPECT_EQ(pids,
              (std::set<double>{static_cast<double>(workers[0]), static_cast<double>(workers[1])}));

    // stub_status on fresh connections until both workers have answered it: every
    // answer counts every connection and request so far, the other worker's too.
    std::set<std::string> answered_by;
    const bool both = wait_until(
        [&] {
            const StubStatus s = stub_status();
            ++connections;
            ++requests;
            EXPECT_EQ(s.accepts, connections);
            EXPECT_EQ(s.handled, connections);
            EXPECT_EQ(s.requests, requests);
            answered_by.clear();
            for (const std::string& line : split_lines(server_.read("logs/pids.log"))) {
                if (line.ends_with(" /status")) {
                    answered_by.insert(line.substr(0, line.find(' ')));
                }
            }
            return answered_by.size() == 2 || ::testing::Test::HasFailure();
        },
        30s, 1ms);
    EXPECT_TRUE(both) << "stub_status answered by " << answered_by.size() << " worker(s)";
    EXPECT_EQ(answered_by,
              (std::set<std::string>{std::to_string(workers[0]), std::to_string(workers[1])}));

    // The workers' own lines add up to the totals.
    HttpClient c(port_);
    m = parse_prometheus(server_, get(c, "/metrics").body);
    ++connections;
    ++requests;
    EXPECT_EQ(m.get("evserve_connections_accepted_total{}"), static_cast<double>(connections));
    EXPECT_EQ(m.get("evserve_http_requests_total{}"), static_cast<double>(requests));
    EXPECT_EQ(m.get("evserve_worker_connections_accepted_total{worker=0}") +
                  m.get("evserve_worker_connections_accepted_total{worker=1}"),
              static_cast<double>(connections));
    EXPECT_EQ(m.get("evserve_worker_http_requests_total{worker=0}") +
                  m.get("evserve_worker_http_requests_total{worker=1}"),
              static_cast<double>(requests));
    // Every response but this page's has been counted, whichever worker sent it.
    EXPECT_EQ(m.get("evserve_http_responses_total{code=200}"), static_cast<double>(requests - 1));
}

}  // namespace
}  // namespace evs::test
