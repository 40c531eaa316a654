#include "http/open_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "http/config.hpp"

namespace evs::http {

namespace conf = core::conf;

namespace {

// The uid of what `name` (relative to at) is, without following a link.
bool owner_of_name(int at, const char* name, uid_t* uid) {
    struct stat st {};
    if (::fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return false;
    }
    *uid = st.st_uid;
    return true;
}

// One component relative to `at`: a directory when `last` is false. -errno on failure.
int open_component(int at, const char* name, int flags, bool last, SymlinkCheck check) {
    if (check == SymlinkCheck::if_not_owner) {
        uid_t link_owner = 0;
        if (!owner_of_name(at, name, &link_owner)) {
            return -errno;
        }
        const int fd =
            ::openat(at, name, (last ? flags : O_PATH | O_DIRECTORY) | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
            return -errno;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const int err = errno;
            ::close(fd);
            return -err;
        }
        if (st.st_uid != link_owner) {
            ::close(fd);
            return -ELOOP;
        }
        return fd;
    }
    if (last) {
        const int fd = ::openat(at, name, flags | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
    }
    // O_PATH with O_NOFOLLOW opens a link itself rather than failing: tell it apart.
    const int fd = ::openat(at, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        return -err;
    }
    if (!S_ISDIR(st.st_mode)) {
        ::close(fd);
        return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
    }
    return fd;
}

}  // namespace

SymlinkPolicy symlink_policy(SymlinkCheck check, std::string_view path, std::string_view from) {
    SymlinkPolicy policy{check, 0};
    if (check == SymlinkCheck::off || from.empty() || from.size() > path.size() ||
        !path.starts_with(from)) {
        return policy;
    }
    if (from.size() == path.size()) {
        policy.check = SymlinkCheck::off;
        return policy;
    }
    if (path[from.size()] == '/') {
        policy.from = from.size();
    } else if (from.back() == '/') {
        policy.from = from.size() - 1;
    }
    return policy;
}

int open_checked(const char* path, int flags, const SymlinkPolicy& policy, const char** failed) {
    *failed = "open()";
    if (policy.check == SymlinkCheck::off) {
        const int fd = ::open(path, flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
    }
    const std::size_t len = std::strlen(path);
    std::string buf(path, len);
    int at;
    std::size_t pos;
    if (policy.from > 0) {
        // The leading part is trusted: opened as any path is.
        buf[policy.from] = '\0';
        at = ::open(buf.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (at < 0) {
            return -errno;
        }
        buf[policy.from] = '/';
        pos = policy.from + 1;
    } else if (len > 0 && buf[0] == '/') {
        at = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (at < 0) {
            return -errno;
        }
        pos = 1;
    } else {
        at = ::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (at < 0) {
            return -errno;
        }
        pos = 0;
    }
    *failed = "openat()";
    for (;;) {
        while (pos < len && buf[pos] == '/') {
            ++pos;  // "//" names nothing
        }
        if (pos >= len) {
            // The path ends with a slash: it names the directory opened last.
            const int fd = ::openat(at, ".", flags | O_CLOEXEC);
            const int result = fd < 0 ? -errno : fd;
            ::close(at);
            return result;
        }
        std::size_t end = buf.find('/', pos);
        if (end == std::string::npos) {
            end = len;
        }
        const bool final = end == len;
        buf[end] = '\0';
        const int fd = open_component(at, buf.c_str() + pos, flags, final, policy.check);
        ::close(at);
        if (fd < 0 || final) {
            return fd;
        }
        at = fd;
        pos = end + 1;
    }
}

// disable_symlinks off | on | if_not_owner [from=part];
std::optional<conf::Error> set_disable_symlinks(conf::Applier&, const conf::Node& node,
                                                const conf::Directive&, void* p) {
    SymlinkSettings& s = static_cast<LocationConfig*>(p)->disable_symlinks;
    const std::string& mode = node.args[1];
    if (mode == "off") {
        s.check = SymlinkCheck::off;
    } else if (mode == "on") {
        s.check = SymlinkCheck::on;
    } else if (mode == "if_not_owner") {
        s.check = SymlinkCheck::if_not_owner;
    } else {
        return node.error("invalid value \"" + mode + "\"");
    }
    s.from.clear();
    s.from_text = Text{};
    if (node.arg_count() == 2) {
        const std::string& arg = node.args[2];
        if (!arg.starts_with("from=")) {
            return node.error("invalid parameter \"" + arg + "\"");
        }
        if (s.check == SymlinkCheck::off) {
            return node.error("\"from=\" cannot be used with \"off\" parameter");
        }
        std::string error;
        auto text = Text::compile(std::string_view(arg).substr(5), &error);
        if (!text) {
            return node.error(error);
        }
        s.from = arg.substr(5);
        s.from_text = text->has_variables() ? std::move(*text) : Text{};
    }
    return std::nullopt;
}

}  // namespace evs::http
