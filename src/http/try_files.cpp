#include "http/try_files.hpp"

#include <cerrno>
#include <charconv>
#include <memory>

#include "event/loop.hpp"
#include "http/config.hpp"
#include "http/open_file_cache.hpp"
#include "http/request.hpp"

namespace evs::http {

namespace conf = core::conf;

std::optional<conf::Error> set_try_files(conf::Applier&, const conf::Node& node,
                                         const conf::Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    auto tf = std::make_shared<TryFiles>();
    const std::size_t last = node.args.size() - 1;
    for (std::size_t i = 1; i < last; ++i) {
        std::string name = node.args[i];
        TryFiles::Item item;
        // The last argument is a URI even when it ends with a slash.
        if (name.size() > 1 && name.back() == '/') {
            item.test_dir = true;
            name.pop_back();
        }
        std::string error;
        auto text = Text::compile(name, &error);
        if (!text) {
            return node.error(error);
        }
        item.text = std::move(*text);
        tf->files.push_back(std::move(item));
    }
    const std::string& fallback = node.args[last];
    if (fallback.starts_with("=")) {
        int code = 0;
        const char* end = fallback.data() + fallback.size();
        const auto [stop, ec] = std::from_chars(fallback.data() + 1, end, code);
        if (ec != std::errc() || stop != end || code < 0 || code > 999) {
            return node.error("invalid code \"" + fallback + "\"");
        }
        tf->code = code;
    } else {
        std::string error;
        auto text = Text::compile(fallback, &error);
        if (!text) {
            return node.error(error);
        }
        tf->fallback = std::move(*text);
    }
    tf->where = std::string(node.file) + ":" + std::to_string(node.line);
    loc->try_files = std::move(tf);
    return std::nullopt;
}

std::optional<conf::Error> set_internal(conf::Applier&, const conf::Node&, const conf::Directive&,
                                        void* p) {
    static_cast<LocationConfig*>(p)->internal = true;
    return std::nullopt;
}

std::optional<std::string> try_files_unknown_capture(const TryFiles& tf,
                                                     const std::vector<std::string>& names) {
    for (const TryFiles::Item& item : tf.files) {
        if (auto name = item.text.unknown_capture(names)) {
            return name;
        }
    }
    return tf.fallback.unknown_capture(names);
}

bool try_files_phase(Request* r) {
    const LocationConfig& loc = *r->loc;
    if (!loc.try_files) {
        return true;
    }
    const TryFiles& tf = *loc.try_files;
    event::Loop& loop = *r->c->loop;
    std::string name;
    for (const TryFiles::Item& item : tf.files) {
        name.clear();
        item.text.evaluate(r, name);
        if (name.empty() || name.front() != '/') {
            // "$uri" of "" or a relative name: nginx maps it all the same; a URI must
            // start with "/", so such a name can never be the request's URI.
            name.insert(name.begin(), '/');
        }
        const std::string path = map_uri_to_path(r, name);
        // A probe: no descriptor is kept; the static handler opens the file it serves
        // (from the cache, which this lookup has just filled).
        const FileInfo of = open_file_for_request(loop, loc, path, *r->arena, true);
        if (of.err != 0) {
            if (of.err != ENOENT && of.err != ENOTDIR && of.err != ENAMETOOLONG) {
                core::Log& log = loop.log();
                if (log.enabled(core::LogLevel::crit)) {
                    log.write_conn(core::LogLevel::crit, of.err, r->c->number, request_log_context,
                                   r, "stat() \"%s\" failed", path.c_str());
                }
            }
            continue;
        }
        if (item.test_dir ? !of.is_dir : !of.is_file) {
            continue;
        }
        const char* uri = r->arena->copy(name);
        if (uri == nullptr) {
            finalize_request(r, 500);
            return false;
        }
        r->uri = std::string_view(uri, name.size());
        return true;
    }
    if (tf.code != 0) {
        finalize_request(r, tf.code);
        return false;
    }
    name.clear();
    tf.fallback.evaluate(r, name);
    const char* copy = r->arena->copy(name);
    if (copy == nullptr) {
        finalize_request(r, 500);
        return false;
    }
    const std::string_view target(copy, name.size());
    if (target.starts_with('@')) {
        named_location(r, target);
        return false;
    }
    // The target's own arguments replace the request's, none when it has no "?".
    const std::size_t q = target.find('?');
    if (q == std::string_view::npos) {
        internal_redirect(r, target, std::string_view{});
    } else {
        internal_redirect(r, target.substr(0, q), target.substr(q + 1));
    }
    return false;
}

}  // namespace evs::http
