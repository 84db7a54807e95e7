#include "image_gateway/api/fit_slots.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace image_gateway {
namespace {

TEST(FitSlots, OneAppHoldsAtMostItsShareWhileOthersStillFit) {
  fit_slots slots(4, 2);
  std::vector<fit_slots::place> held;
  for (int i = 0; i < 2; ++i) {
    auto taken = slots.take("a");
    ASSERT_TRUE(taken.held);
    held.push_back(std::move(*taken.held));
  }
  const auto over_share = slots.take("a");
  EXPECT_FALSE(over_share.held);
  EXPECT_EQ(over_share.why, fit_slots::full::app);
  // Another app gets the places "a" could not take.
  auto b1 = slots.take("b");
  auto b2 = slots.take("b");
  ASSERT_TRUE(b1.held);
  ASSERT_TRUE(b2.held);
  EXPECT_EQ(slots.in_use(), 4U);
  // Every place taken is reported first, for every app.
  EXPECT_EQ(slots.take("c").why, fit_slots::full::all);
  EXPECT_EQ(slots.take("a").why, fit_slots::full::all);
  // A place given back is free again, for the app that gave it back too.
  held.pop_back();
  EXPECT_EQ(slots.in_use_by("a"), 1U);
  auto again = slots.take("a");
  ASSERT_TRUE(again.held);
  EXPECT_EQ(slots.in_use_by("a"), 2U);
}

TEST(FitSlots, PlacesMoveAndAreGivenBackOnce) {
  fit_slots slots(2, 1);
  {
    auto taken = slots.take("a");
    ASSERT_TRUE(taken.held);
    std::optional<fit_slots::place> moved;
    moved.emplace(std::move(*taken.held));
    taken.held.reset();  // the moved-from place gives nothing back
    EXPECT_EQ(slots.in_use(), 1U);
    EXPECT_EQ(slots.in_use_by("a"), 1U);
  }
  EXPECT_EQ(slots.in_use(), 0U);
  EXPECT_EQ(slots.in_use_by("a"), 0U);
}

TEST(FitSlots, ShareDefaultsToHalfOfThePlacesAtLeastOne) {
  fit_limits limits;
  EXPECT_EQ(limits.max_inflight, 8U);
  EXPECT_EQ(fit_share_per_app(limits), 4U);
  limits.max_inflight = 1;
  EXPECT_EQ(fit_share_per_app(limits), 1U);
  limits.max_inflight = 3;
  EXPECT_EQ(fit_share_per_app(limits), 1U);
  limits.max_inflight_per_app = 3;
  EXPECT_EQ(fit_share_per_app(limits), 3U);
  // A share is never more than the places, nor less than one.
  EXPECT_EQ(fit_slots(2, 5).per_app(), 2U);
  EXPECT_EQ(fit_slots(2, 0).per_app(), 1U);
}

}  // namespace
}  // namespace image_gateway
