#include "core/list.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace evs::core {
namespace {

struct Item {
    int value = 0;
    ListNode node;
    static Item* of(ListNode* n) { return owner_of<Item>(n, offsetof(Item, node)); }
};

std::vector<int> values(List& list) {
    std::vector<int> out;
    for (ListNode* n = list.front(); n != list.end(); n = n->next) {
        out.push_back(Item::of(n)->value);
    }
    return out;
}

TEST(List, PushPopAndUnlinkKeepOrder) {
    Item items[4];
    List list;
    EXPECT_TRUE(list.empty());
    for (int i = 0; i < 4; ++i) {
        items[i].value = i;
        list.push_back(&items[i].node);
    }
    EXPECT_EQ(values(list), (std::vector<int>{0, 1, 2, 3}));
    items[1].node.unlink();
    EXPECT_FALSE(items[1].node.linked());
    items[1].node.unlink();  // idempotent
    EXPECT_EQ(values(list), (std::vector<int>{0, 2, 3}));
    list.push_front(&items[1].node);
    EXPECT_EQ(values(list), (std::vector<int>{1, 0, 2, 3}));
    auto* first = list.pop_front();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(Item::of(first)->value, 1);
    auto* last = list.back();
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(Item::of(last)->value, 3);
}

TEST(List, SpliceMovesEverythingAndEmptiesTheSource) {
    Item items[5];
    List a;
    List b;
    for (int i = 0; i < 5; ++i) {
        items[i].value = i;
        (i < 2 ? a : b).push_back(&items[i].node);
    }
    a.splice_back(b);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(values(a), (std::vector<int>{0, 1, 2, 3, 4}));
    a.splice_back(b);  // splicing an empty list changes nothing
    EXPECT_EQ(values(a).size(), 5u);
    while (a.pop_front() != nullptr) {
    }
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(a.pop_front(), nullptr);
}

}  // namespace
}  // namespace evs::core
