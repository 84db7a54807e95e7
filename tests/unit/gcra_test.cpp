// The GCRA arithmetic of the shared rate limit (replicas/gcra.hpp).
#include <gtest/gtest.h>

#include "image_gateway/replicas/gcra.hpp"

namespace image_gateway::replicas {
namespace {

constexpr std::int64_t second = 1'000'000;

TEST(Gcra, ParamsFollowTheRateAndTheSpecBurst) {
  EXPECT_EQ(gcra_for_rate(10).interval_us, 100'000);
  EXPECT_EQ(gcra_for_rate(10).capacity_us, second);  // burst 10
  EXPECT_EQ(gcra_for_rate(0.5).interval_us, 2 * second);
  EXPECT_EQ(gcra_for_rate(0.5).capacity_us, 2 * second);  // burst max(1, 0.5) = 1
}

TEST(Gcra, AFullBucketAllowsBurstThenRefuses) {
  const gcra_params p = gcra_for_rate(5);
  const std::int64_t now = 1000 * second;
  std::int64_t tat = 0;
  for (int i = 0; i < 5; ++i) {
    const gcra_outcome o = gcra_take(tat, now, p);
    ASSERT_TRUE(o.allowed) << i;
    EXPECT_EQ(o.remaining, 4 - i);
    EXPECT_EQ(o.reset_us, (i + 1) * 200'000);
    tat = o.tat_us;
  }
  const gcra_outcome refused = gcra_take(tat, now, p);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.tat_us, tat) << "a refusal does not use up the bucket";
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_us, 200'000);
  EXPECT_EQ(refused.reset_us, second);
}

TEST(Gcra, RefillsAtTheRate) {
  const gcra_params p = gcra_for_rate(5);
  std::int64_t now = 1000 * second;
  std::int64_t tat = 0;
  for (int i = 0; i < 5; ++i) tat = gcra_take(tat, now, p).tat_us;
  now += 199'999;
  EXPECT_FALSE(gcra_take(tat, now, p).allowed);
  now += 1;
  const gcra_outcome o = gcra_take(tat, now, p);
  EXPECT_TRUE(o.allowed);
  EXPECT_EQ(o.remaining, 0);
  // A long pause fills the bucket, never more than the burst.
  const gcra_outcome later = gcra_take(o.tat_us, now + 60 * second, p);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 4);
}

TEST(Gcra, OverAnyWindowAtMostRateTimesTPlusBurst) {
  const gcra_params p = gcra_for_rate(20);
  std::int64_t tat = 0;
  int allowed = 0;
  // A request every millisecond for 10 s: 20 * 10 + 20 allowed.
  for (std::int64_t t = 0; t < 10 * second; t += 1000) {
    const gcra_outcome o = gcra_take(tat, 5000 * second + t, p);
    if (o.allowed) ++allowed;
    tat = o.tat_us;
  }
  EXPECT_LE(allowed, 220);
  EXPECT_GE(allowed, 219);
}

TEST(Gcra, FractionalRates) {
  const gcra_params p = gcra_for_rate(0.5);  // one every 2 s, burst 1
  const std::int64_t now = 1000 * second;
  const gcra_outcome first = gcra_take(0, now, p);
  EXPECT_TRUE(first.allowed);
  const gcra_outcome second_try = gcra_take(first.tat_us, now + second, p);
  EXPECT_FALSE(second_try.allowed);
  EXPECT_EQ(second_try.retry_after_us, second);
  EXPECT_TRUE(gcra_take(first.tat_us, now + 2 * second, p).allowed);
}

}  // namespace
}  // namespace image_gateway::replicas
