#include "image_gateway/server/fd_limits.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace image_gateway {
namespace {

TEST(FdLimits, TheReserveCoversFetchesAndOppoConnections) {
  EXPECT_EQ(fd_reserve(512, 8), fd_reserve_fixed + 1024 + 16);
  EXPECT_EQ(fd_reserve(1, 1), fd_reserve_fixed + 4);
}

TEST(FdLimits, TheCapIsKeptWhenItFits) {
  EXPECT_EQ(connections_within(10000, 1048576, 1104), 10000U);
  EXPECT_EQ(connections_within(10000, 10000 + 1104, 1104), 10000U);
  EXPECT_EQ(connections_within(10000, RLIM_INFINITY, 1104), 10000U);
}

TEST(FdLimits, TheCapIsLoweredWhenItDoesNot) {
  // systemd's default soft limit for services, when the hard one cannot be raised either.
  EXPECT_EQ(connections_within(10000, 4096, 1104), 4096U - 1104U);
  // A limit below the reserve gives half of it to clients, never none.
  EXPECT_EQ(connections_within(10000, 1024, 1104), 512U);
  EXPECT_EQ(connections_within(10000, 1, 1104), 1U);
  EXPECT_EQ(connections_within(10000, 0, 1104), 1U);
}

TEST(FdLimits, RaisingTheSoftLimitReachesTheHardOne) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  // Lowered first (a process may always lower its soft limit), so raising has work to do.
  rlimit lowered = before;
  lowered.rlim_cur = std::min<rlim_t>(before.rlim_max, 256);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  const fd_limit raised = raise_fd_limit();
  EXPECT_EQ(raised.soft_before, lowered.rlim_cur);
  EXPECT_EQ(raised.soft, before.rlim_max);
  EXPECT_EQ(raised.hard, before.rlim_max);
  rlimit now{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, before.rlim_max);
  setrlimit(RLIMIT_NOFILE, &before);
}

}  // namespace
}  // namespace image_gateway
