// conf_fuzz: the configuration parser, the value parsers and the directive applier on
// arbitrary text.
//
// Input: an optional first line "-g <directives>", parsed as the -g command line, then
// the file. Includes are not followed (a random input must not read the machine's
// files). Beyond the sanitizers, it checks invariants: every error names a place that
// exists, every node has a name and a line inside the file, and the value parsers agree
// with each other.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/conf_applier.hpp"
#include "core/conf_directive.hpp"
#include "core/conf_markdown.hpp"
#include "core/conf_parser.hpp"
#include "core/conf_values.hpp"

namespace {

namespace conf = evs::core::conf;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

// A miniature of the server's tables: main, events {}, http { server { location {} } }.

struct LocationConf {
    bool sendfile = false;
    std::size_t client_max_body_size = 0;
    std::uint64_t send_timeout = 0;
    std::int64_t expires = 0;
    std::int64_t directio = 0;
    std::string root;
    int index = 0;
    std::vector<LocationConf> locations;
};

struct ServerConf {
    std::vector<std::string> listen;
    LocationConf loc;
};

struct EventsConf {
    std::uint32_t worker_connections = 0;
    bool multi_accept = false;
    std::uint64_t accept_mutex_delay = 0;
    int use = 0;
};

struct MainConf {
    bool daemon = false;
    std::string pid;
    std::uint8_t worker_priority = 0;
    EventsConf events;
    LocationConf http;
    std::vector<ServerConf> servers;
};

constexpr conf::EnumValue k_methods[] = {{"select", 0}, {"poll", 1}, {"epoll", 2}};

constexpr conf::Directive k_events_directives[] = {
    {"worker_connections", conf::k_events, conf::k_take1,
     conf::number_slot<&EventsConf::worker_connections>, "512"},
    {"multi_accept", conf::k_events, conf::k_flag, conf::flag_slot<&EventsConf::multi_accept>,
     "off"},
    {"accept_mutex_delay", conf::k_events, conf::k_take1,
     conf::msec_slot<&EventsConf::accept_mutex_delay>, "500ms"},
    {"use", conf::k_events, conf::k_take1, conf::enum_slot<&EventsConf::use, k_methods>},
};
constexpr conf::Table k_events_table{"events", k_events_directives};

std::optional<conf::Error> set_location(conf::Applier& applier, const conf::Node& node,
                                        const conf::Directive&, void* conf);

constexpr conf::ContextMask k_loc_contexts = conf::k_http | conf::k_server | conf::k_location;

constexpr conf::Directive k_location_directives[] = {
    {"sendfile", k_loc_contexts, conf::k_flag, conf::flag_slot<&LocationConf::sendfile>, "off"},
    {"client_max_body_size", k_loc_contexts, conf::k_take1,
     conf::size_slot<&LocationConf::client_max_body_size>, "1m"},
    {"send_timeout", k_loc_contexts, conf::k_take1, conf::msec_slot<&LocationConf::send_timeout>,
     "60s"},
    {"expires", k_loc_contexts, conf::k_take1, conf::sec_slot<&LocationConf::expires>},
    {"directio", conf::k_location, conf::k_take1, conf::offset_slot<&LocationConf::directio>},
    {"root", k_loc_contexts, conf::k_take1, conf::string_slot<&LocationConf::root>, "html"},
    {"index", k_loc_contexts, conf::k_1more, conf::number_slot<&LocationConf::index>},
    {"location", conf::k_server | conf::k_location,
     conf::k_block | conf::k_take12 | conf::k_repeatable, conf::Setter{&set_location, nullptr, {}}},
};
constexpr conf::Table k_location_table{"location", k_location_directives};

std::optional<conf::Error> set_location(conf::Applier& applier, const conf::Node& node,
                                        const conf::Directive&, void* conf) {
    auto* parent = static_cast<LocationConf*>(conf);
    LocationConf& location = parent->locations.emplace_back();
    const conf::Binding bindings[] = {{&k_location_table, &location}};
    conf::Seen seen;
    if (std::optional<conf::Error> err = applier.apply(node, bindings, conf::k_location, &seen)) {
        return err;
    }
    conf::inherit(k_location_table, &location, parent, seen, conf::k_location);
    return std::nullopt;
}

std::optional<conf::Error> set_listen(conf::Applier&, const conf::Node& node,
                                      const conf::Directive&, void* conf) {
    static_cast<ServerConf*>(conf)->listen.push_back(node.args[1]);
    return std::nullopt;
}

constexpr conf::Directive k_server_directives[] = {
    {"listen", conf::k_server, conf::k_take12 | conf::k_repeatable,
     conf::Setter{&set_listen, nullptr, "address"}, "80"},
};
constexpr conf::Table k_server_table{"server", k_server_directives};

std::optional<conf::Error> set_server(conf::Applier& applier, const conf::Node& node,
                                      const conf::Directive&, void* conf) {
    auto* main = static_cast<MainConf*>(conf);
    ServerConf& server = main->servers.emplace_back();
    const conf::Binding bindings[] = {{&k_server_table, &server}, {&k_location_table, &server.loc}};
    conf::Seen seen;
    if (std::optional<conf::Error> err = applier.apply(node, bindings, conf::k_server, &seen)) {
        return err;
    }
    conf::inherit(k_location_table, &server.loc, &main->http, seen, conf::k_http);
    return std::nullopt;
}

constexpr conf::Directive k_http_directives[] = {
    {"server", conf::k_http, conf::k_block | conf::k_noargs | conf::k_repeatable,
     conf::Setter{&set_server, nullptr, {}}},
};
constexpr conf::Table k_http_table{"http", k_http_directives};

std::optional<conf::Error> set_http(conf::Applier& applier, const conf::Node& node,
                                    const conf::Directive&, void* conf) {
    auto* main = static_cast<MainConf*>(conf);
    // The http table's setter receives the MainConf, the location table's the http level.
    const conf::Binding bindings[] = {{&k_http_table, main}, {&k_location_table, &main->http}};
    return applier.apply(node, bindings, conf::k_http);
}

constexpr conf::Directive k_main_directives[] = {
    {"daemon", conf::k_main, conf::k_flag, conf::flag_slot<&MainConf::daemon>, "on"},
    {"pid", conf::k_main, conf::k_take1, conf::string_slot<&MainConf::pid>, "logs/evserve.pid"},
    {"worker_priority", conf::k_main, conf::k_take1, conf::number_slot<&MainConf::worker_priority>,
     "0"},
    {"events", conf::k_main, conf::k_block | conf::k_noargs,
     conf::block_slot<&MainConf::events, k_events_table, conf::k_events>},
    {"http", conf::k_main, conf::k_block | conf::k_noargs, conf::Setter{&set_http, nullptr, {}}},
};
constexpr conf::Table k_main_table{"core", k_main_directives};

constexpr const conf::Table* k_all_tables[] = {&k_main_table,     &k_events_table,
                                               &k_http_table,     &k_server_table,
                                               &k_location_table, &conf::k_include_table};

std::uint32_t count_lines(std::string_view text) {
    std::uint32_t lines = 1;
    for (const char ch : text) {
        lines += ch == '\n' ? 1 : 0;
    }
    return lines;
}

void check_values(const std::string& word) {
    const std::optional<std::uint64_t> size = conf::parse_size(word);
    const std::optional<std::int64_t> offset = conf::parse_offset(word);
    check(size.has_value() == offset.has_value());
    if (size) {
        check(*size == static_cast<std::uint64_t>(*offset));
    }
    const std::optional<std::uint64_t> msec = conf::parse_msec(word);
    const std::optional<std::int64_t> sec = conf::parse_sec(word);
    if (msec && sec) {
        check(*sec >= 0 && static_cast<std::uint64_t>(*sec) * 1000 == *msec);
    }
    if (const std::optional<std::uint64_t> number = conf::parse_number(word)) {
        check(size && *size == *number);
    }
    (void)conf::parse_flag(word);
}

void check_tree(const conf::Node& node, std::uint32_t file_lines, int depth) {
    check(depth <= conf::Parser::k_max_block_depth + 1);
    for (const conf::Node& child : node.children) {
        check(!child.args.empty());
        if (child.file == conf::k_command_line) {
            check(child.line == 0);
        } else {
            check(child.line >= 1 && child.line <= file_lines);
        }
        check(child.block || child.children.empty());
        for (const std::string& word : child.args) {
            check_values(word);
        }
        check_tree(child, file_lines, depth + 1);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string_view param;
    if (text.starts_with("-g ")) {
        const std::size_t end = text.find('\n');
        param = text.substr(3, end == std::string_view::npos ? std::string_view::npos : end - 3);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    }

    conf::Parser parser(conf::ParseOptions{"/nonexistent", false});
    std::optional<conf::Error> err;
    if (!param.empty()) {
        err = parser.parse_param(param);
        if (err) {
            check(err->file == conf::k_command_line && err->line == 0);
        }
    }
    const std::uint32_t file_lines = count_lines(text);
    if (!err) {
        err = parser.parse_text(text, "fuzz.conf");
        if (err) {
            check(err->file == "fuzz.conf" && err->line >= 1 && err->line <= file_lines);
        }
    }
    if (err) {
        check(!err->message.empty() && !err->to_string().empty());
        return 0;
    }
    check(parser.files().size() == 1 && parser.files()[0].text == text);
    check_tree(parser.root(), file_lines, 0);

    MainConf main;
    conf::Applier applier(k_all_tables);
    const conf::Binding bindings[] = {{&k_main_table, &main}, {&conf::k_include_table, nullptr}};
    err = applier.apply(parser.root(), bindings, conf::k_main);
    if (err) {
        check(!err->message.empty());
        check(err->file == conf::k_command_line || err->file == "fuzz.conf");
    }

    static const std::string reference = conf::render_markdown(k_all_tables);
    check(reference.find("### worker_connections") != std::string::npos);
    return 0;
}
