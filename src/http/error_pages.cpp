#include "http/error_pages.hpp"

#include <charconv>
#include <memory>

#include "event/loop.hpp"
#include "http/config.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace evs::http {

namespace conf = core::conf;

namespace {

std::optional<int> parse_code(std::string_view text) {
    int code = 0;
    const char* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, code);
    if (text.empty() || ec != std::errc() || stop != end || code < 0) {
        return std::nullopt;
    }
    return code;
}

bool is_redirect(int code) {
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

}  // namespace

std::optional<conf::Error> set_error_page(conf::Applier&, const conf::Node& node,
                                          const conf::Directive&, void* p) {
    auto* loc = static_cast<LocationConfig*>(p);
    const std::size_t last = node.args.size() - 1;
    std::size_t codes_end = last;
    int overwrite = -1;
    const std::string& response = node.args[last - 1];
    if (response.starts_with("=")) {
        if (last - 1 == 1) {
            return node.error("invalid value \"" + response + "\"");
        }
        if (response.size() > 1) {
            const auto code = parse_code(std::string_view(response).substr(1));
            if (!code) {
                return node.error("invalid value \"" + response + "\"");
            }
            overwrite = *code;
        } else {
            overwrite = 0;
        }
        codes_end = last - 1;
    }
    std::string error;
    auto target = Text::compile(node.args[last], &error);
    if (!target) {
        return node.error(error);
    }
    std::string args;
    bool literal_args = false;
    if (!target->has_variables() && node.args[last].starts_with("/")) {
        // A literal URI: its arguments are split off once, here.
        const std::string& uri = node.args[last];
        const std::size_t q = uri.find('?');
        literal_args = true;
        if (q != std::string::npos) {
            args = uri.substr(q + 1);
            target = Text::compile(uri.substr(0, q), &error);
        }
    }
    auto pages = std::make_shared<ErrorPages>(loc->error_pages ? *loc->error_pages : ErrorPages{});
    if (pages->where.empty()) {
        pages->where = std::string(node.file) + ":" + std::to_string(node.line);
    }
    for (std::size_t i = 1; i < codes_end; ++i) {
        const auto status = parse_code(node.args[i]);
        if (!status || *status == 499) {
            return node.error("invalid value \"" + node.args[i] + "\"");
        }
        if (*status < 300 || *status > 599) {
            return node.error("value \"" + node.args[i] + "\" must be between 300 and 599");
        }
        ErrorPage page;
        page.status = *status;
        page.overwrite = overwrite;
        if (overwrite == -1 && *status >= 494 && *status <= 497) {
            page.overwrite = 400;  // nginx's own codes are never sent as such
        }
        page.target = *target;
        page.args = args;
        page.literal_args = literal_args;
        pages->pages.push_back(std::move(page));
    }
    loc->error_pages = std::move(pages);
    return std::nullopt;
}

std::optional<std::string> error_pages_unknown_capture(const ErrorPages& pages,
                                                       const std::vector<std::string>& names) {
    for (const ErrorPage& page : pages.pages) {
        if (auto name = page.target.unknown_capture(names)) {
            return name;
        }
    }
    return std::nullopt;
}

void reset_response(Request* r) {
    r->status = 0;
    r->content_type = {};
    r->content_length = -1;
    r->last_modified = -1;
    r->last_modified_text = {};
    r->etag = {};
    r->location_header = {};
    r->content_range = {};
    r->accept_ranges = false;
    r->mem = nullptr;
    r->mem_len = 0;
    r->fd = -1;  // the arena's cleanup closes (or releases) it
    r->file_mem = nullptr;
    r->file_pos = r->file_end = 0;
    r->parts = nullptr;
    r->parts_count = 0;
}

bool send_error_page(Request* r, int status) {
    switch (status) {
        case 400:
        case 413:
        case 414:
        case 494:
        case 495:
        case 496:
        case 497:
        case 500:
        case 501:
            // nginx ends keepalive after these whatever page answers them: the rest
            // of the connection's bytes cannot be trusted (or the server is unwell).
            r->keepalive = false;
            break;
        default:
            break;
    }
    const LocationConfig& loc = r->loc != nullptr ? *r->loc : r->server->location;
    if (r->error_page || !loc.error_pages || r->redirects >= Request::k_max_redirects + 1) {
        return false;
    }
    if (!loc.recursive_error_pages) {
        // Set whether or not this status has a page, as nginx does: a location with
        // error pages gets one try.
        r->error_page = true;
    }
    const ErrorPage* page = nullptr;
    for (const ErrorPage& p : loc.error_pages->pages) {
        if (p.status == status) {
            page = &p;
            break;
        }
    }
    if (page == nullptr) {
        return false;
    }
    r->err_status = page->overwrite >= 0 ? page->overwrite : status;
    if (page->overwrite != 0 && page->overwrite != 200) {
        r->expect_tested = true;  // no "100 Continue" for a request answered with an error
    }
    std::string value;
    page->target.evaluate(r, value);
    const char* copy = r->arena->copy(value);
    if (copy == nullptr) {
        return false;
    }
    std::string_view target(copy, value.size());
    reset_response(r);
    if (target.starts_with('/')) {
        std::string_view args = page->args;
        if (!page->literal_args) {
            const std::size_t q = target.find('?');
            args = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
            target = target.substr(0, q);
        }
        if (r->method != Method::head) {
            r->method = Method::get;
        }
        internal_redirect(r, target, args);
        return true;
    }
    if (target.starts_with('@')) {
        named_location(r, target);
        return true;
    }
    const int code = is_redirect(page->overwrite) ? page->overwrite : 302;
    r->err_status = 0;
    prepare_special_response(r, code);
    r->location_header = target;
    send_response(r);
    return true;
}

void prepare_special_response(Request* r, int status) {
    // What the handler set for a redirect (Location) or a 304 (ETag, Last-Modified)
    // stays; the body becomes the built-in page.
    r->err_status = 0;
    const LocationConfig& loc = r->loc != nullptr ? *r->loc : r->server->location;
    r->status = status >= 494 && status <= 497 ? 400 : status;
    constexpr std::size_t k_page = 512;
    char* body = static_cast<char*>(r->arena->allocate(k_page, 1));
    const std::size_t n = body != nullptr ? error_page(status, loc.server_tokens, body, k_page) : 0;
    r->mem = body;
    r->mem_len = n;
    r->content_type = "text/html";
    r->content_length = static_cast<std::int64_t>(n);
    r->fd = -1;  // the arena's cleanup closes it
    r->file_mem = nullptr;
    r->file_pos = r->file_end = 0;
    r->parts = nullptr;
    r->parts_count = 0;
    if (status >= 400 && status != 404 && status != 403 && status != 405 && status != 416 &&
        status != 412) {
        r->keepalive = false;
    }
    if (status == 304) {
        r->header_only = true;
    }
}

}  // namespace evs::http
