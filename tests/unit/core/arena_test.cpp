#include "core/arena.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace evs::core {
namespace {

TEST(Arena, AllocationsAreAlignedAndDistinct) {
    Arena arena(512);
    std::vector<char*> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::size_t size = 1 + static_cast<std::size_t>(i % 97);
        auto* p = static_cast<char*>(arena.allocate(size, 8));
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 8, 0u);
        std::memset(p, i & 0xff, size);  // ASan catches an overlap or overflow
        seen.push_back(p);
    }
    for (std::size_t i = 1; i < seen.size(); ++i) {
        EXPECT_NE(seen[i], seen[i - 1]);
    }
}

TEST(Arena, LargeAllocationsGetTheirOwnBlockAndResetKeepsTheFirst) {
    Arena arena(1024);
    ASSERT_NE(arena.allocate(100), nullptr);
    const std::size_t first = arena.bytes_allocated();
    void* big = arena.allocate(100000);
    ASSERT_NE(big, nullptr);
    std::memset(big, 1, 100000);
    EXPECT_GT(arena.bytes_allocated(), first + 100000);
    arena.reset();
    EXPECT_EQ(arena.bytes_allocated(), first);
    ASSERT_NE(arena.allocate(100), nullptr);
    EXPECT_EQ(arena.bytes_allocated(), first);  // served from the kept block
}

TEST(Arena, CleanupsRunInReverseOrderOnResetAndDestruction) {
    static std::vector<int> order;
    order.clear();
    {
        Arena arena;
        static int a = 1;
        static int b = 2;
        ASSERT_TRUE(arena.add_cleanup([](void* p) { order.push_back(*static_cast<int*>(p)); }, &a));
        ASSERT_TRUE(arena.add_cleanup([](void* p) { order.push_back(*static_cast<int*>(p)); }, &b));
        arena.reset();
        EXPECT_EQ(order, (std::vector<int>{2, 1}));
        ASSERT_TRUE(arena.add_cleanup([](void* p) { order.push_back(*static_cast<int*>(p)); }, &a));
    }
    EXPECT_EQ(order, (std::vector<int>{2, 1, 1}));
}

TEST(Arena, CopyAndMake) {
    Arena arena;
    const char* s = arena.copy("hello");
    EXPECT_STREQ(s, "hello");
    struct Pair {
        int a;
        double b;
    };
    Pair* p = arena.make<Pair>(Pair{3, 4.5});
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->a, 3);
    EXPECT_EQ(p->b, 4.5);
}

}  // namespace
}  // namespace evs::core
