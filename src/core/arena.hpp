#pragma once

// Arena: a per-request bump allocator (nginx's ngx_pool_t). Everything a request
// allocates comes from its arena and is released at once when the request ends, so
// an idle keepalive connection holds no request memory and nothing is freed piece
// by piece.
//
// Small allocations are carved from blocks; allocations larger than a block get
// their own block. reset() keeps the first block, so an arena recycled through a
// worker's cache serves the next request without a malloc. Cleanups run in reverse
// order on reset() or destruction (closing a file descriptor the request opened).
// Allocation failure returns nullptr, never throws: the caller answers 500.
//
// Ownership: the arena owns its blocks. Objects placed in it are not destroyed
// unless a cleanup says so. Thread: one thread at a time.

#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <utility>

namespace evs::core {

class Arena {
public:
    static constexpr std::size_t k_default_block = 4096;

    explicit Arena(std::size_t block_size = k_default_block);
    ~Arena();
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;

    void* allocate(std::size_t size, std::size_t align = alignof(std::max_align_t)) {
        auto p = (reinterpret_cast<std::uintptr_t>(cursor_) + align - 1) & ~(align - 1);
        if (p + size <= reinterpret_cast<std::uintptr_t>(limit_)) {
            cursor_ = reinterpret_cast<char*>(p + size);
            return reinterpret_cast<void*>(p);
        }
        return allocate_slow(size, align);
    }

    template <typename T, typename... Args>
    T* make(Args&&... args) {
        void* p = allocate(sizeof(T), alignof(T));
        return p == nullptr ? nullptr : new (p) T(std::forward<Args>(args)...);
    }

    char* copy(std::string_view text) {
        auto* p = static_cast<char*>(allocate(text.size() + 1, 1));
        if (p == nullptr) {
            return nullptr;
        }
        text.copy(p, text.size());
        p[text.size()] = '\0';
        return p;
    }

    // Runs `fn(data)` when the arena is reset or destroyed; false if out of memory.
    bool add_cleanup(void (*fn)(void*), void* data);

    // Runs the cleanups and frees every block but the first: ready for the next
    // request without a malloc.
    void reset();

    std::size_t bytes_allocated() const { return allocated_; }

private:
    struct Block {
        Block* next;
        std::size_t size;
    };
    struct Cleanup {
        void (*fn)(void*);
        void* data;
        Cleanup* next;
    };

    void* allocate_slow(std::size_t size, std::size_t align);
    void run_cleanups();

    std::size_t block_size_;
    char* cursor_ = nullptr;
    char* limit_ = nullptr;
    Block* first_ = nullptr;
    Block* extra_ = nullptr;  // blocks after the first, most recent first
    Cleanup* cleanups_ = nullptr;
    std::size_t allocated_ = 0;
};

}  // namespace evs::core
