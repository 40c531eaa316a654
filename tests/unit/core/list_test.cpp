#include "core/list.hpp"

#include <gtest/gtest.h>

TEST(List, PlaceholderUntilRealTests) {
    SUCCEED();
}
