#include "image_gateway/api/rate_limit.hpp"

#include <gtest/gtest.h>

namespace image_gateway {
namespace {

using namespace std::chrono_literals;
using clock_type = rate_limiter::clock;

const clock_type::time_point start = clock_type::time_point{} + 1000h;

TEST(RateLimiter, BurstUpToTheRateThenRefuses) {
  rate_limiter limiter;
  for (int i = 0; i < 5; ++i) {
    const auto d = limiter.take("app", 5, start);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.limit, 5);
  }
  const auto refused = limiter.take("app", 5, start);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_s, 1);  // 1/5 s to the next token, rounded up to a second
  EXPECT_EQ(refused.reset_s, 1);        // 5 tokens at 5/s
}

TEST(RateLimiter, RefillsWithTime) {
  rate_limiter limiter;
  EXPECT_TRUE(limiter.take("app", 2, start).allowed);
  EXPECT_TRUE(limiter.take("app", 2, start).allowed);
  EXPECT_FALSE(limiter.take("app", 2, start).allowed);
  EXPECT_FALSE(limiter.take("app", 2, start + 400ms).allowed);
  const auto d = limiter.take("app", 2, start + 500ms);  // one token back after 1/2 s
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  // A long pause fills the bucket to its capacity, not beyond.
  const auto later = limiter.take("app", 2, start + 1h);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 1);
}

TEST(RateLimiter, RefusalsDoNotSpendTokens) {
  rate_limiter limiter;
  EXPECT_TRUE(limiter.take("app", 1, start).allowed);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(limiter.take("app", 1, start + 100ms).allowed);
  EXPECT_TRUE(limiter.take("app", 1, start + 1s).allowed);
}

TEST(RateLimiter, AppsHaveTheirOwnBuckets) {
  rate_limiter limiter;
  EXPECT_TRUE(limiter.take("a", 1, start).allowed);
  EXPECT_FALSE(limiter.take("a", 1, start).allowed);
  EXPECT_TRUE(limiter.take("b", 1, start).allowed);
}

TEST(RateLimiter, FractionalRateAllowsOneAndWaitsLonger) {
  rate_limiter limiter;
  const auto first = limiter.take("slow", 0.5, start);
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.limit, 0.5);
  EXPECT_EQ(first.reset_s, 2);  // one token at 0.5/s
  const auto refused = limiter.take("slow", 0.5, start + 1s);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_s, 1);  // half a token is back; the other half takes 1 s
  EXPECT_TRUE(limiter.take("slow", 0.5, start + 2s).allowed);
}

TEST(RateLimiter, ClockGoingBackwardsAddsNothing) {
  rate_limiter limiter;
  EXPECT_TRUE(limiter.take("app", 1, start).allowed);
  EXPECT_FALSE(limiter.take("app", 1, start - 10s).allowed);
}

}  // namespace
}  // namespace image_gateway
