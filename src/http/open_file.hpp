#pragma once

// Opening a file the way nginx's ngx_open_file_wrapper does for disable_symlinks:
//
//   disable_symlinks off | on | if_not_owner [from=part];
//
// off: one open(). on: the path is walked component by component from the root
// (or from the end of `from=`, whose part is opened normally), each directory opened
// with openat(O_PATH | O_NOFOLLOW) relative to the one before and the last component
// with O_NOFOLLOW, so that no component may be a symbolic link: one found fails with
// ELOOP, which the static handler answers with 403 and nginx's log line
// (`openat() "/path" failed (40: Too many levels of symbolic links)`).
// if_not_owner: links are followed, but each component's owner (lstat of the name)
// must be the owner of what it leads to, else ELOOP.
//
// Walking with openat() relative to the descriptor of the previous directory is what
// makes the check race-free: a component swapped for a link after it was checked is
// never reached by name again.
//
// Pure system calls; any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/conf_applier.hpp"
#include "http/variables.hpp"

namespace evs::http {

enum class SymlinkCheck : std::uint8_t { off, on, if_not_owner };

// A location's disable_symlinks.
struct SymlinkSettings {
    SymlinkCheck check = SymlinkCheck::off;
    std::string from;  // from=, as written ("" when absent)
    Text from_text;    // compiled, when it has variables ($document_root)
};

// How one open is checked: the mode and the length of the path's leading part that
// is opened without checks (0: all of it is checked).
struct SymlinkPolicy {
    SymlinkCheck check = SymlinkCheck::off;
    std::size_t from = 0;

    bool operator==(const SymlinkPolicy&) const = default;
};

// nginx's rule for from=: it counts only when it is a prefix of `path` that ends at a
// component boundary; a `from` equal to the whole path turns the check off.
SymlinkPolicy symlink_policy(SymlinkCheck check, std::string_view path, std::string_view from);

// Opens `path` with `flags` (O_CLOEXEC is added) under `policy`: the descriptor, or
// -errno. *failed names the call for the error log ("open()" or "openat()").
int open_checked(const char* path, int flags, const SymlinkPolicy& policy, const char** failed);

// disable_symlinks off | on | if_not_owner [from=part];  (a LocationConfig)
std::optional<core::conf::Error> set_disable_symlinks(core::conf::Applier&, const core::conf::Node&,
                                                      const core::conf::Directive&, void* conf);

}  // namespace evs::http
