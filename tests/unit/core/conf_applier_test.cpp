#include "core/conf_applier.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/conf_parser.hpp"

namespace evs::core::conf {
namespace {

// A miniature of the server's configuration: main, events {}, http { server { location } }.

enum class Method { select, poll, epoll };

constexpr EnumValue k_methods[] = {
    {"select", static_cast<int>(Method::select)},
    {"poll", static_cast<int>(Method::poll)},
    {"epoll", static_cast<int>(Method::epoll)},
};

struct EventsConf {
    std::uint32_t worker_connections = 0;
    bool multi_accept = true;
    std::uint64_t accept_mutex_delay = 0;
    Method use = Method::select;
};

// What http, server and location share: nginx's loc_conf, one per level.
struct LocationConf {
    bool sendfile = false;
    std::size_t client_max_body_size = 0;
    std::uint64_t send_timeout = 0;
    std::int64_t expires = 0;
    std::int64_t directio = 0;
    std::string root;
    Seen seen;
};

struct ServerConf {
    std::vector<std::string> listen;
    LocationConf loc;
    std::vector<LocationConf> locations;
};

struct HttpConf {
    LocationConf loc;
    std::vector<ServerConf> servers;
};

struct MainConf {
    bool daemon = false;
    int worker_processes = -1;  // 0: auto
    std::string pid;
    std::vector<std::string> error_logs;
    EventsConf events;
    HttpConf http;
};

std::optional<Error> set_worker_processes(Applier&, const Node& node, const Directive&,
                                          void* conf) {
    auto* main = static_cast<MainConf*>(conf);
    if (node.args[1] == "auto") {
        main->worker_processes = 0;
        return std::nullopt;
    }
    const std::optional<std::uint64_t> n = parse_number(node.args[1]);
    if (!n || *n == 0 || *n > 1024) {
        return invalid_value_error(node);
    }
    main->worker_processes = static_cast<int>(*n);
    return std::nullopt;
}

std::optional<Error> set_error_log(Applier&, const Node& node, const Directive&, void* conf) {
    std::string log = node.args[1];
    if (node.arg_count() == 2) {
        log += " " + node.args[2];
    }
    static_cast<MainConf*>(conf)->error_logs.push_back(log);
    return std::nullopt;
}

constexpr Directive k_events_directives[] = {
    {"worker_connections", k_events, k_take1, number_slot<&EventsConf::worker_connections>, "512"},
    {"multi_accept", k_events, k_flag, flag_slot<&EventsConf::multi_accept>, "off"},
    {"accept_mutex_delay", k_events, k_take1, msec_slot<&EventsConf::accept_mutex_delay>, "500ms"},
    {"use", k_events, k_take1, enum_slot<&EventsConf::use, k_methods>, "epoll"},
};
constexpr Table k_events_table{"events", k_events_directives};

constexpr Directive k_location_directives[] = {
    {"sendfile", k_http | k_server | k_location, k_flag, flag_slot<&LocationConf::sendfile>, "off"},
    {"client_max_body_size", k_http | k_server | k_location, k_take1,
     size_slot<&LocationConf::client_max_body_size>, "1m"},
    {"send_timeout", k_http | k_server | k_location, k_take1,
     msec_slot<&LocationConf::send_timeout>, "60s"},
    {"expires", k_http | k_server | k_location, k_take1, sec_slot<&LocationConf::expires>},
    {"directio", k_location, k_take1, offset_slot<&LocationConf::directio>},
    {"root", k_http | k_server | k_location, k_take1, string_slot<&LocationConf::root>, "html"},
};
constexpr Table k_location_table{"http location", k_location_directives};

std::optional<Error> set_location(Applier& applier, const Node& node, const Directive&,
                                  void* conf) {
    auto* server = static_cast<ServerConf*>(conf);
    LocationConf& location = server->locations.emplace_back();
    const Binding bindings[] = {{&k_location_table, &location}};
    return applier.apply(node, bindings, k_location, &location.seen);
}

std::optional<Error> set_listen(Applier&, const Node& node, const Directive&, void* conf) {
    static_cast<ServerConf*>(conf)->listen.push_back(node.args[1]);
    return std::nullopt;
}

constexpr Directive k_server_directives[] = {
    {"listen", k_server, k_take12 | k_repeatable, Setter{&set_listen, nullptr, "address"}, "80"},
    {"location",
     k_server | k_location,
     k_block | k_take12 | k_repeatable,
     Setter{&set_location, nullptr, {}},
     {},
     "[ = | ~ | ^~ ] uri"},
};
constexpr Table k_server_table{"http server", k_server_directives};

std::optional<Error> set_server(Applier& applier, const Node& node, const Directive&, void* conf) {
    auto* http = static_cast<HttpConf*>(conf);
    ServerConf& server = http->servers.emplace_back();
    const Binding bindings[] = {{&k_server_table, &server}, {&k_location_table, &server.loc}};
    return applier.apply(node, bindings, k_server, &server.loc.seen);
}

constexpr Directive k_http_directives[] = {
    {"server", k_http, k_block | k_noargs | k_repeatable, Setter{&set_server, nullptr, {}}},
};
constexpr Table k_http_table{"http", k_http_directives};

// The http block binds two tables; after it is complete, servers and locations inherit.
std::optional<Error> set_http(Applier& applier, const Node& node, const Directive&, void* conf) {
    HttpConf& http = static_cast<MainConf*>(conf)->http;
    const Binding bindings[] = {{&k_http_table, &http}, {&k_location_table, &http.loc}};
    if (std::optional<Error> err = applier.apply(node, bindings, k_http)) {
        return err;
    }
    for (ServerConf& server : http.servers) {
        inherit(k_location_table, &server.loc, &http.loc, server.loc.seen, k_http);
        for (LocationConf& location : server.locations) {
            inherit(k_location_table, &location, &server.loc, location.seen, k_server);
        }
    }
    return std::nullopt;
}

constexpr Directive k_main_directives[] = {
    {"daemon", k_main, k_flag, flag_slot<&MainConf::daemon>, "on"},
    {"worker_processes", k_main, k_take1, Setter{&set_worker_processes, nullptr, "number | auto"},
     "1"},
    {"pid", k_main, k_take1, string_slot<&MainConf::pid>, "logs/evserve.pid"},
    {"error_log", k_main | k_http | k_server | k_location, k_take12 | k_repeatable,
     Setter{&set_error_log, nullptr, "file [level]"}, "logs/error.log error"},
    {"events", k_main, k_block | k_noargs, block_slot<&MainConf::events, k_events_table, k_events>},
    {"http", k_main, k_block | k_noargs, Setter{&set_http, nullptr, {}}},
};
constexpr Table k_main_table{"core", k_main_directives};

constexpr const Table* k_all_tables[] = {&k_main_table, &k_events_table, &k_http_table,
                                         &k_server_table, &k_location_table};

constexpr const char* k_file = "/etc/evserve/evserve.conf";

// The error's text, or "no error": gtest then prints the message of an unexpected one.
std::string message_of(const std::optional<Error>& err) {
    return err ? err->to_string() : "no error";
}

// Parses `text` (after -g `param`, if any) and applies it to `conf`; returns the error.
std::optional<Error> load(MainConf& conf, const std::string& text, const std::string& param = {},
                          std::span<const Table* const> known = k_all_tables) {
    Parser parser(ParseOptions{});
    if (!param.empty()) {
        if (std::optional<Error> err = parser.parse_param(param)) {
            return err;
        }
    }
    if (std::optional<Error> err = parser.parse_text(text, k_file)) {
        return err;
    }
    Applier applier(known);
    const Binding bindings[] = {{&k_main_table, &conf}};
    return applier.apply(parser.root(), bindings, k_main);
}

std::string error_of(const std::string& text, const std::string& param = {}) {
    MainConf conf;
    const std::optional<Error> err = load(conf, text, param);
    return err ? err->to_string() : "no error";
}

TEST(ConfApplier, AppliesValuesAndDefaults) {
    MainConf conf;
    ASSERT_EQ(message_of(load(conf,
                              "daemon off;\n"
                              "worker_processes auto;\n"
                              "error_log /var/log/a.log;\n"
                              "error_log /var/log/b.log debug;\n"
                              "events {\n"
                              "    worker_connections 4096;\n"
                              "    use EPOLL;\n"
                              "    accept_mutex_delay 100ms;\n"
                              "}\n")),
              "no error");
    EXPECT_FALSE(conf.daemon);
    EXPECT_EQ(conf.worker_processes, 0);
    EXPECT_EQ(conf.pid, "logs/evserve.pid");  // a default
    EXPECT_EQ(conf.error_logs,
              (std::vector<std::string>{"/var/log/a.log", "/var/log/b.log debug"}));
    EXPECT_EQ(conf.events.worker_connections, 4096u);
    EXPECT_EQ(conf.events.use, Method::epoll);
    EXPECT_EQ(conf.events.accept_mutex_delay, 100u);
    EXPECT_FALSE(conf.events.multi_accept);  // the default replaced the struct's own
}

TEST(ConfApplier, DefaultsOfAnEmptyFileAndOfAnAbsentBlock) {
    MainConf conf;
    ASSERT_EQ(message_of(load(conf, "")), "no error");
    EXPECT_TRUE(conf.daemon);
    EXPECT_EQ(conf.worker_processes, 1);
    // A repeatable directive's default applies only when the block has none of it.
    EXPECT_EQ(conf.error_logs, (std::vector<std::string>{"logs/error.log error"}));
    EXPECT_EQ(conf.events.worker_connections, 0u);  // no events {} yet

    Applier applier(k_all_tables);
    const Binding events[] = {{&k_events_table, &conf.events}};
    ASSERT_EQ(message_of(applier.apply_defaults(events, k_events)), "no error");
    EXPECT_EQ(conf.events.worker_connections, 512u);
    EXPECT_EQ(conf.events.accept_mutex_delay, 500u);
    EXPECT_EQ(conf.events.use, Method::epoll);
}

TEST(ConfApplier, HttpServersLocationsAndInheritance) {
    MainConf conf;
    ASSERT_EQ(
        message_of(load(conf,
                        "http {\n"
                        "    server {\n"
                        "        listen 8080;\n"
                        "        listen 8081;\n"
                        "        root /srv/a;\n"
                        "        location / { }\n"
                        "        location /big/ {\n"
                        "            client_max_body_size 10m;\n"
                        "            sendfile off;\n"
                        "            directio 4m;\n"
                        "        }\n"
                        "    }\n"
                        "    server { }\n"
                        "    sendfile on;\n"  // after the servers, still inherited: merge is last
                        "    expires 1h;\n"
                        "    send_timeout 10s;\n"
                        "}\n")),
        "no error");
    ASSERT_EQ(conf.http.servers.size(), 2u);
    const ServerConf& a = conf.http.servers[0];
    EXPECT_EQ(a.listen, (std::vector<std::string>{"8080", "8081"}));
    EXPECT_TRUE(a.loc.sendfile);
    EXPECT_EQ(a.loc.root, "/srv/a");
    EXPECT_EQ(a.loc.expires, 3600);
    EXPECT_EQ(a.loc.send_timeout, 10000u);
    ASSERT_EQ(a.locations.size(), 2u);
    EXPECT_TRUE(a.locations[0].sendfile);
    EXPECT_EQ(a.locations[0].root, "/srv/a");
    EXPECT_EQ(a.locations[0].client_max_body_size, 1024u * 1024);
    EXPECT_FALSE(a.locations[1].sendfile);
    EXPECT_EQ(a.locations[1].client_max_body_size, 10u * 1024 * 1024);
    EXPECT_EQ(a.locations[1].directio, 4 * 1024 * 1024);
    EXPECT_EQ(a.locations[1].root, "/srv/a");
    EXPECT_EQ(a.locations[1].send_timeout, 10000u);

    const ServerConf& b = conf.http.servers[1];
    EXPECT_EQ(b.listen, (std::vector<std::string>{"80"}));  // the default
    EXPECT_TRUE(b.loc.sendfile);
    EXPECT_EQ(b.loc.root, "html");
}

TEST(ConfApplier, InheritCopiesOnlyUnsetDirectivesAllowedInTheParent) {
    LocationConf parent;
    parent.sendfile = true;
    parent.root = "/parent";
    parent.directio = 512;
    LocationConf child;
    child.root = "/child";
    child.directio = 7;
    Seen seen;
    seen.add(&k_location_directives[5]);  // root
    inherit(k_location_table, &child, &parent, seen, k_server);
    EXPECT_TRUE(child.sendfile);
    EXPECT_EQ(child.root, "/child");
    EXPECT_EQ(child.directio, 7);  // directio is not a server directive
    EXPECT_TRUE(seen.contains("root"));
    EXPECT_FALSE(seen.contains("sendfile"));
}

TEST(ConfApplier, UnknownDirective) {
    EXPECT_EQ(error_of("daemon on;\n\nfoo bar;\n"),
              "unknown directive \"foo\" in /etc/evserve/evserve.conf:3");
    EXPECT_EQ(error_of("events {\n    bar;\n}\n"),
              "unknown directive \"bar\" in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("foo { }\n"), "unknown directive \"foo\" in /etc/evserve/evserve.conf:1");
}

TEST(ConfApplier, DirectiveNotAllowedHere) {
    EXPECT_EQ(error_of("worker_connections 10;\n"),
              "\"worker_connections\" directive is not allowed here in "
              "/etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("http {\n    daemon off;\n}\n"),
              "\"daemon\" directive is not allowed here in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("http {\n    server {\n        location / {\n            listen 80;\n"
                       "        }\n    }\n}\n"),
              "\"listen\" directive is not allowed here in /etc/evserve/evserve.conf:4");
    EXPECT_EQ(error_of("http {\n    location / { }\n}\n"),
              "\"location\" directive is not allowed here in /etc/evserve/evserve.conf:2");

    // Without the list of known tables, a directive bound elsewhere is simply unknown.
    MainConf conf;
    const std::optional<Error> err = load(conf, "worker_connections 10;\n", {}, {});
    ASSERT_NE(err, std::nullopt);
    EXPECT_EQ(err->to_string(),
              "unknown directive \"worker_connections\" in /etc/evserve/evserve.conf:1");
}

TEST(ConfApplier, TerminatorMustMatchTheDirective) {
    EXPECT_EQ(error_of("daemon on {\n}\n"),
              "directive \"daemon\" is not terminated by \";\" in /etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("\nevents;\n"),
              "directive \"events\" has no opening \"{\" in /etc/evserve/evserve.conf:2");
}

TEST(ConfApplier, InvalidNumberOfArguments) {
    EXPECT_EQ(error_of("daemon;\n"),
              "invalid number of arguments in \"daemon\" directive in "
              "/etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("daemon on off;\n"),
              "invalid number of arguments in \"daemon\" directive in "
              "/etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("error_log a b c;\n"),
              "invalid number of arguments in \"error_log\" directive in "
              "/etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("events x {\n}\n"),
              "invalid number of arguments in \"events\" directive in "
              "/etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("http {\n    server {\n        location { }\n    }\n}\n"),
              "invalid number of arguments in \"location\" directive in "
              "/etc/evserve/evserve.conf:3");
}

TEST(ConfApplier, Duplicates) {
    EXPECT_EQ(error_of("daemon on;\ndaemon off;\n"),
              "\"daemon\" directive is duplicate in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("events {\n}\nevents {\n}\n"),
              "\"events\" directive is duplicate in /etc/evserve/evserve.conf:3");
    EXPECT_EQ(error_of("events {\n    use poll;\n    use epoll;\n}\n"),
              "\"use\" directive is duplicate in /etc/evserve/evserve.conf:3");
    // The same directive in two blocks is no duplicate; repeatable ones may repeat.
    EXPECT_EQ(error_of("http {\n    root /a;\n    server { root /b; location / { root /c; } }\n"
                       "    server { root /d; }\n}\n"
                       "error_log a;\nerror_log b;\n"),
              "no error");
    // -g comes first, so the file's directive is the duplicate, as in nginx.
    EXPECT_EQ(error_of("worker_processes 2;\ndaemon on;\n", "daemon off;"),
              "\"daemon\" directive is duplicate in /etc/evserve/evserve.conf:2");
}

TEST(ConfApplier, CommandLineDirectives) {
    MainConf conf;
    ASSERT_EQ(message_of(load(conf, "worker_processes 2;\n", "daemon off; pid /run/e.pid;")),
              "no error");
    EXPECT_FALSE(conf.daemon);
    EXPECT_EQ(conf.pid, "/run/e.pid");
    EXPECT_EQ(conf.worker_processes, 2);

    EXPECT_EQ(error_of("", "foo on;"), "unknown directive \"foo\" in command line");
    EXPECT_EQ(error_of("", "daemon maybe;"),
              "invalid value \"maybe\" in \"daemon\" directive, it must be \"on\" or \"off\" "
              "in command line");
    EXPECT_EQ(error_of("", "worker_connections 1;"),
              "\"worker_connections\" directive is not allowed here in command line");
}

TEST(ConfApplier, InvalidValues) {
    EXPECT_EQ(error_of("daemon yes;\n"),
              "invalid value \"yes\" in \"daemon\" directive, it must be \"on\" or \"off\" in "
              "/etc/evserve/evserve.conf:1");
    EXPECT_EQ(error_of("events {\n    worker_connections many;\n}\n"),
              "\"worker_connections\" directive invalid number in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("events {\n    worker_connections -1;\n}\n"),
              "\"worker_connections\" directive invalid number in /etc/evserve/evserve.conf:2");
    // Fits the parser's range, not the uint32_t field.
    EXPECT_EQ(error_of("events {\n    worker_connections 4294967296;\n}\n"),
              "\"worker_connections\" directive invalid number in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("events {\n    accept_mutex_delay 1y;\n}\n"),
              "\"accept_mutex_delay\" directive invalid value in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("events {\n    use kqueue;\n}\n"),
              "invalid value \"kqueue\" in \"use\" directive, it must be \"select\", \"poll\" or "
              "\"epoll\" in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("http {\n    client_max_body_size 10q;\n}\n"),
              "\"client_max_body_size\" directive invalid value in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("http {\n    client_max_body_size 9223372036854775808;\n}\n"),
              "\"client_max_body_size\" directive invalid value in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("http {\n    expires 500ms;\n}\n"),
              "\"expires\" directive invalid value in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("http {\n    server { location / { directio 1x; } }\n}\n"),
              "\"directio\" directive invalid value in /etc/evserve/evserve.conf:2");
    EXPECT_EQ(error_of("worker_processes 0;\n"),
              "\"worker_processes\" directive invalid value in /etc/evserve/evserve.conf:1");
}

TEST(ConfApplier, TheFirstErrorStopsApplying) {
    MainConf conf;
    const std::optional<Error> err = load(conf, "daemon off;\nfoo;\npid /x;\n");
    ASSERT_NE(err, std::nullopt);
    EXPECT_EQ(err->line, 2u);
    EXPECT_FALSE(conf.daemon);
    EXPECT_EQ(conf.pid, "");
}

constexpr Directive k_bad_default_directives[] = {
    {"timeout", k_main, k_take1, msec_slot<&EventsConf::accept_mutex_delay>, "soon"},
};
constexpr Table k_bad_default_table{"broken", k_bad_default_directives};

TEST(ConfApplier, AnInvalidDefaultIsReportedAgainstItsTable) {
    EventsConf conf;
    Applier applier;
    const Binding bindings[] = {{&k_bad_default_table, &conf}};
    const std::optional<Error> err = applier.apply_defaults(bindings, k_main);
    ASSERT_NE(err, std::nullopt);
    EXPECT_EQ(err->to_string(),
              "invalid default \"soon\" of \"timeout\" directive in the broken table: "
              "\"timeout\" directive invalid value");
}

TEST(ConfDirective, ArgumentCounts) {
    EXPECT_TRUE(args_match(k_noargs, 0));
    EXPECT_FALSE(args_match(k_noargs, 1));
    EXPECT_TRUE(args_match(k_take1, 1));
    EXPECT_FALSE(args_match(k_take1, 0));
    EXPECT_FALSE(args_match(k_take1, 2));
    EXPECT_TRUE(args_match(k_take2, 2));
    EXPECT_TRUE(args_match(k_take12, 1));
    EXPECT_TRUE(args_match(k_take12, 2));
    EXPECT_FALSE(args_match(k_take12, 3));
    EXPECT_TRUE(args_match(k_take123, 3));
    EXPECT_FALSE(args_match(k_take123, 0));
    EXPECT_TRUE(args_match(k_take1234, 4));
    EXPECT_FALSE(args_match(k_take1234, 5));
    EXPECT_TRUE(args_match(k_take13, 3));
    EXPECT_FALSE(args_match(k_take13, 2));
    EXPECT_TRUE(args_match(k_take7, 7));
    EXPECT_FALSE(args_match(k_take7, 8));
    EXPECT_FALSE(args_match(k_take7 | k_take1, 100));
    EXPECT_TRUE(args_match(k_flag, 1));
    EXPECT_FALSE(args_match(k_flag, 2));
    EXPECT_TRUE(args_match(k_1more, 1));
    EXPECT_TRUE(args_match(k_1more, 50));
    EXPECT_FALSE(args_match(k_1more, 0));
    EXPECT_TRUE(args_match(k_2more, 2));
    EXPECT_FALSE(args_match(k_2more, 1));
    EXPECT_TRUE(args_match(k_any_args, 0));
    EXPECT_TRUE(args_match(k_any_args, 9));
    // The block and repeatable bits do not change the count.
    EXPECT_TRUE(args_match(k_block | k_noargs, 0));
    EXPECT_FALSE(args_match(k_block | k_noargs, 1));
    EXPECT_TRUE(args_match(k_block | k_take12 | k_repeatable, 2));
}

TEST(ConfDirective, Descriptions) {
    EXPECT_EQ(describe_args(k_noargs), "none");
    EXPECT_EQ(describe_args(k_block | k_noargs), "none");
    EXPECT_EQ(describe_args(k_take1), "1");
    EXPECT_EQ(describe_args(k_flag), "1");
    EXPECT_EQ(describe_args(k_take12), "1 or 2");
    EXPECT_EQ(describe_args(k_take13), "1 or 3");
    EXPECT_EQ(describe_args(k_take123), "1 to 3");
    EXPECT_EQ(describe_args(k_take1234 | k_repeatable), "1 to 4");
    EXPECT_EQ(describe_args(k_noargs | k_take1), "0 or 1");
    EXPECT_EQ(describe_args(k_1more), "1 or more");
    EXPECT_EQ(describe_args(k_2more), "2 or more");
    EXPECT_EQ(describe_args(k_any_args), "any");

    EXPECT_EQ(context_names(k_main), "main");
    EXPECT_EQ(context_names(k_http | k_server | k_location), "http, server, location");
    EXPECT_EQ(context_names(k_location | k_if_in_location | k_limit_except),
              "location, if in location, limit_except");
    EXPECT_EQ(context_names(k_any_context), "any");

    EXPECT_EQ(syntax_of(k_events_directives[1]), "on | off");
    EXPECT_EQ(syntax_of(k_events_directives[3]), "select | poll | epoll");
    EXPECT_EQ(syntax_of(k_server_directives[1]), "[ = | ~ | ^~ ] uri");
    EXPECT_EQ(syntax_of(k_main_directives[1]), "number | auto");
}

}  // namespace
}  // namespace evs::core::conf
