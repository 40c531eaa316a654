#include "http/status_page.hpp"

#include <cstring>
#include <string_view>
#include <vector>

#include "event/loop.hpp"
#include "http/request.hpp"

namespace evs::http {

namespace {

using event::ConnectionStats;
using event::FileIoCounters;
using event::HttpResponseStats;

// The worker slots of this process's server (set_worker_slots). Written once before
// the loop runs, read by the loop thread only.
std::vector<WorkerSlot> g_worker_slots;

template <typename T>
T load(const std::atomic<T>& counter) {
    return counter.load(std::memory_order_relaxed);
}

// The numbers of one page, read once, so that the page is rendered twice (measured,
// then written into a buffer of exactly that size) from the same values.
struct Snapshot {
    std::uint64_t accepted = 0;
    std::uint64_t handled = 0;
    std::uint64_t requests = 0;
    std::int64_t active = 0;
    std::int64_t reading = 0;
    std::int64_t writing = 0;
    std::int64_t waiting = 0;
    // Prometheus only.
    std::uint64_t by_status[HttpResponseStats::k_codes] = {};
    std::uint64_t bytes_sent = 0;
    struct FileIo {
        std::uint64_t submitted = 0;
        std::uint64_t completed = 0;
        std::uint64_t fallback = 0;
    } file_io[3];
    struct Worker {
        std::size_t slot = 0;
        pid_t pid = 0;
        std::uint64_t accepted = 0;
        std::uint64_t requests = 0;
        std::int64_t active = 0;
    };
    Worker* workers = nullptr;  // in the request's arena
    std::size_t worker_count = 0;
};

constexpr std::string_view k_file_io_modes[3] = {"native", "threads", "io_uring"};

void read_connections(event::Loop& loop, Snapshot& s) {
    const ConnectionStats& stats = loop.server_stats();
    s.accepted = load(stats.accepted);
    s.handled = load(stats.handled);
    s.requests = load(stats.requests);
    s.active = load(stats.active);
    s.reading = load(stats.reading);
    s.writing = load(stats.writing);
    s.waiting = load(stats.waiting);
}

// False when the arena is out of memory.
bool read_everything(Request* r, Snapshot& s) {
    event::Loop& loop = *r->c->loop;
    read_connections(loop, s);
    const HttpResponseStats& responses = loop.response_stats();
    for (int i = 0; i < HttpResponseStats::k_codes; ++i) {
        s.by_status[i] = load(responses.by_status[i]);
    }
    s.bytes_sent = load(responses.bytes_sent);
    const event::FileIoStats& io = loop.file_io_stats();
    const FileIoCounters* modes[3] = {&io.native, &io.threads, &io.io_uring};
    for (int m = 0; m < 3; ++m) {
        s.file_io[m] = {load(modes[m]->submitted), load(modes[m]->completed),
                        load(modes[m]->fallback)};
    }
    if (g_worker_slots.empty()) {
        return true;
    }
    s.workers = static_cast<Snapshot::Worker*>(r->arena->allocate(
        sizeof(Snapshot::Worker) * g_worker_slots.size(), alignof(Snapshot::Worker)));
    if (s.workers == nullptr) {
        return false;
    }
    for (std::size_t i = 0; i < g_worker_slots.size(); ++i) {
        const WorkerSlot& slot = g_worker_slots[i];
        const pid_t pid = load(*slot.pid);
        if (pid == 0) {
            continue;  // an empty slot: no worker to show
        }
        s.workers[s.worker_count++] = {i, pid, load(slot.stats->accepted),
                                       load(slot.stats->requests), load(slot.stats->active)};
    }
    return true;
}

// Appends text to a buffer, or only counts it when there is no buffer yet.
class PageWriter {
public:
    explicit PageWriter(char* buf = nullptr) : buf_(buf) {}

    void add(std::string_view text) {
        if (buf_ != nullptr) {
            std::memcpy(buf_ + len_, text.data(), text.size());
        }
        len_ += text.size();
    }
    void add_number(std::uint64_t value) {
        char digits[24];
        std::size_t n = sizeof(digits);
        do {
            digits[--n] = static_cast<char>('0' + value % 10);
            value /= 10;
        } while (value != 0);
        add(std::string_view(digits + n, sizeof(digits) - n));
    }
    void add_signed(std::int64_t value) {
        if (value < 0) {
            add("-");
            add_number(static_cast<std::uint64_t>(0) - static_cast<std::uint64_t>(value));
        } else {
            add_number(static_cast<std::uint64_t>(value));
        }
    }
    std::size_t size() const { return len_; }

private:
    char* buf_;
    std::size_t len_ = 0;
};

// A gauge that went below zero for a moment (a worker retired between two reads)
// is shown as 0: nginx prints these unsigned, and a wrapped number helps no one.
std::uint64_t gauge(std::int64_t value) {
    return value < 0 ? 0 : static_cast<std::uint64_t>(value);
}

// nginx's page, trailing spaces included.
void render_nginx(const Snapshot& s, PageWriter& out) {
    out.add("Active connections: ");
    out.add_number(gauge(s.active));
    out.add(" \nserver accepts handled requests\n ");
    out.add_number(s.accepted);
    out.add(" ");
    out.add_number(s.handled);
    out.add(" ");
    out.add_number(s.requests);
    out.add(" \nReading: ");
    out.add_number(gauge(s.reading));
    out.add(" Writing: ");
    out.add_number(gauge(s.writing));
    out.add(" Waiting: ");
    out.add_number(gauge(s.waiting));
    out.add(" \n");
}

void family(PageWriter& out, std::string_view name, std::string_view type, std::string_view help) {
    out.add("# HELP ");
    out.add(name);
    out.add(" ");
    out.add(help);
    out.add("\n# TYPE ");
    out.add(name);
    out.add(" ");
    out.add(type);
    out.add("\n");
}

void sample(PageWriter& out, std::string_view name, std::uint64_t value) {
    out.add(name);
    out.add(" ");
    out.add_number(value);
    out.add("\n");
}

// name{label="value"} or name{label="value",label2="value2"}: label values here are
// numbers and fixed words, nothing to escape.
void labelled(PageWriter& out, std::string_view name, std::string_view label,
              std::string_view value, std::string_view label2 = {}, std::string_view value2 = {}) {
    out.add(name);
    out.add("{");
    out.add(label);
    out.add("=\"");
    out.add(value);
    if (!label2.empty()) {
        out.add("\",");
        out.add(label2);
        out.add("=\"");
        out.add(value2);
    }
    out.add("\"} ");
}

void labelled_number(PageWriter& out, std::string_view name, std::string_view label,
                     std::uint64_t label_value) {
    out.add(name);
    out.add("{");
    out.add(label);
    out.add("=\"");
    out.add_number(label_value);
    out.add("\"} ");
}

// The Prometheus text exposition format 0.0.4: a HELP and a TYPE line before the
// samples of each family, counters named *_total.
void render_prometheus(const Snapshot& s, PageWriter& out) {
    family(out, "evserve_connections_accepted_total", "counter",
           "Client connections accepted, by all workers.");
    sample(out, "evserve_connections_accepted_total", s.accepted);
    family(out, "evserve_connections_handled_total", "counter",
           "Client connections handled (accepted and given a connection slot).");
    sample(out, "evserve_connections_handled_total", s.handled);
    family(out, "evserve_http_requests_total", "counter", "Client requests.");
    sample(out, "evserve_http_requests_total", s.requests);

    family(out, "evserve_connections", "gauge",
           "Client connections open (active), and of those reading a request head, writing "
           "a response, or idle waiting for a request (nginx's stub_status numbers).");
    const std::pair<std::string_view, std::int64_t> states[] = {{"active", s.active},
                                                                {"reading", s.reading},
                                                                {"writing", s.writing},
                                                                {"waiting", s.waiting}};
    for (const auto& [state, value] : states) {
        labelled(out, "evserve_connections", "state", state);
        out.add_signed(value);
        out.add("\n");
    }

    family(out, "evserve_http_responses_total", "counter",
           "Responses by status code, counted when the request ends (444: closed without a "
           "response); codes not seen yet are left out.");
    for (int i = 0; i < HttpResponseStats::k_codes; ++i) {
        if (s.by_status[i] != 0) {
            labelled_number(out, "evserve_http_responses_total", "code",
                            static_cast<std::uint64_t>(HttpResponseStats::k_first_code + i));
            out.add_number(s.by_status[i]);
            out.add("\n");
        }
    }
    family(out, "evserve_http_response_bytes_total", "counter",
           "Bytes sent to clients in responses, heads included.");
    sample(out, "evserve_http_response_bytes_total", s.bytes_sent);

    family(out, "evserve_file_io_operations_total", "counter",
           "File operations that must not block a worker, by AIO mode (reads, and in the "
           "threads mode sendfile calls too): submitted, completed, and fallen back to a "
           "synchronous call.");
    for (int m = 0; m < 3; ++m) {
        const std::pair<std::string_view, std::uint64_t> results[] = {
            {"submitted", s.file_io[m].submitted},
            {"completed", s.file_io[m].completed},
            {"fallback", s.file_io[m].fallback}};
        for (const auto& [result, value] : results) {
            labelled(out, "evserve_file_io_operations_total", "mode", k_file_io_modes[m], "result",
                     result);
            out.add_number(value);
            out.add("\n");
        }
    }

    // Per worker slot: how the load spread. A slot keeps its counters when its worker
    // is replaced, so each series only grows.
    family(out, "evserve_worker_connections_accepted_total", "counter",
           "Client connections accepted, per worker slot.");
    for (std::size_t i = 0; i < s.worker_count; ++i) {
        labelled_number(out, "evserve_worker_connections_accepted_total", "worker",
                        s.workers[i].slot);
        out.add_number(s.workers[i].accepted);
        out.add("\n");
    }
    family(out, "evserve_worker_http_requests_total", "counter",
           "Client requests, per worker slot.");
    for (std::size_t i = 0; i < s.worker_count; ++i) {
        labelled_number(out, "evserve_worker_http_requests_total", "worker", s.workers[i].slot);
        out.add_number(s.workers[i].requests);
        out.add("\n");
    }
    family(out, "evserve_worker_connections_active", "gauge",
           "Client connections open, per worker slot.");
    for (std::size_t i = 0; i < s.worker_count; ++i) {
        labelled_number(out, "evserve_worker_connections_active", "worker", s.workers[i].slot);
        out.add_signed(s.workers[i].active);
        out.add("\n");
    }
    family(out, "evserve_worker_pid", "gauge", "The process id of the worker in each slot.");
    for (std::size_t i = 0; i < s.worker_count; ++i) {
        labelled_number(out, "evserve_worker_pid", "worker", s.workers[i].slot);
        out.add_number(static_cast<std::uint64_t>(s.workers[i].pid));
        out.add("\n");
    }
}

}  // namespace

void status_handler(Request* r) {
    const RequestHead& head = r->parser.head();
    if (head.method != Method::get && head.method != Method::head) {
        finalize_request(r, 405);
        return;
    }
    const bool prometheus = r->loc->status_format == StatusFormat::prometheus;
    r->status = 200;
    r->content_type =
        prometheus ? "text/plain; version=0.0.4; charset=utf-8" : std::string_view("text/plain");
    if (r->header_only) {
        // nginx sends the head of a HEAD before it counts anything: no
        // Content-Length, and no page to build.
        finalize_request(r, 0);
        return;
    }
    auto* s = r->arena->make<Snapshot>();
    if (s != nullptr && !prometheus) {
        read_connections(*r->c->loop, *s);
    }
    if (s == nullptr || (prometheus && !read_everything(r, *s))) {
        finalize_request(r, 500);
        return;
    }
    PageWriter measure;
    prometheus ? render_prometheus(*s, measure) : render_nginx(*s, measure);
    char* page = static_cast<char*>(r->arena->allocate(measure.size(), 1));
    if (page == nullptr) {
        finalize_request(r, 500);
        return;
    }
    PageWriter out(page);
    prometheus ? render_prometheus(*s, out) : render_nginx(*s, out);
    r->mem = page;
    r->mem_len = out.size();
    r->content_length = static_cast<std::int64_t>(out.size());
    finalize_request(r, 0);
}

void count_response(const Request* r) {
    HttpResponseStats& stats = r->c->loop->response_stats();
    const int index = r->status - HttpResponseStats::k_first_code;
    if (index >= 0 && index < HttpResponseStats::k_codes) {
        event::stat_add<std::uint64_t>(stats.by_status[index], 1);
    }
    event::stat_add<std::uint64_t>(stats.bytes_sent, r->c->sent - r->start_sent);
}

void set_worker_slots(std::span<const WorkerSlot> slots) {
    g_worker_slots.assign(slots.begin(), slots.end());
}

}  // namespace evs::http
