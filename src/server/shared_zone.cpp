#include "server/shared_zone.hpp"

#include <new>

#include "os/process.hpp"

namespace evs::server {

SharedZone::~SharedZone() {
    if (layout_ != nullptr) {
        layout_->~SharedZoneLayout();
        os::unmap_shared(layout_, sizeof(SharedZoneLayout));
    }
}

int SharedZone::create() {
    auto mem = os::map_shared(sizeof(SharedZoneLayout));
    if (!mem) {
        return mem.error();
    }
    // Lock-free atomics on shared memory work across processes; assert it.
    static_assert(std::atomic<pid_t>::is_always_lock_free);
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
    layout_ = new (*mem) SharedZoneLayout();
    return 0;
}

}  // namespace evs::server
