#include "core/arena.hpp"

#include <cstdlib>

namespace evs::core {

namespace {

constexpr std::size_t k_header =
    (sizeof(void*) * 2 + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);

}  // namespace

Arena::Arena(std::size_t block_size) : block_size_(block_size < 256 ? 256 : block_size) {}

Arena::~Arena() {
    reset();
    std::free(first_);
}

void* Arena::allocate_slow(std::size_t size, std::size_t align) {
    const std::size_t need = size + align;
    const std::size_t total = k_header + (need > block_size_ ? need : block_size_);
    auto* block = static_cast<Block*>(std::malloc(total));
    if (block == nullptr) {
        return nullptr;
    }
    block->size = total;
    allocated_ += total;
    char* data = reinterpret_cast<char*>(block) + k_header;
    if (first_ == nullptr) {
        block->next = nullptr;
        first_ = block;
    } else {
        block->next = extra_;
        extra_ = block;
    }
    // A large allocation gets its own block; keep carving from the newer block
    // only if it has more room left than the current one.
    const std::size_t remaining_new = total - k_header - need;
    const std::size_t remaining_old = static_cast<std::size_t>(limit_ - cursor_);
    auto p = (reinterpret_cast<std::uintptr_t>(data) + align - 1) & ~(align - 1);
    if (remaining_new >= remaining_old) {
        cursor_ = reinterpret_cast<char*>(p + size);
        limit_ = reinterpret_cast<char*>(block) + total;
    }
    return reinterpret_cast<void*>(p);
}

bool Arena::add_cleanup(void (*fn)(void*), void* data) {
    auto* c = make<Cleanup>();
    if (c == nullptr) {
        return false;
    }
    c->fn = fn;
    c->data = data;
    c->next = cleanups_;
    cleanups_ = c;
    return true;
}

void Arena::run_cleanups() {
    while (cleanups_ != nullptr) {
        Cleanup* c = cleanups_;
        cleanups_ = c->next;
        c->fn(c->data);
    }
}

void Arena::reset() {
    run_cleanups();
    while (extra_ != nullptr) {
        Block* next = extra_->next;
        allocated_ -= extra_->size;
        std::free(extra_);
        extra_ = next;
    }
    if (first_ != nullptr) {
        cursor_ = reinterpret_cast<char*>(first_) + k_header;
        limit_ = reinterpret_cast<char*>(first_) + first_->size;
    } else {
        cursor_ = limit_ = nullptr;
    }
}

}  // namespace evs::core
