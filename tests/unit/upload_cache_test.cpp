#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "image_gateway/cache/upload_cache.hpp"

namespace image_gateway {
namespace {

using namespace std::chrono_literals;
using clock_type = upload_cache::clock;

const clock_type::time_point t0 = clock_type::time_point() + 1000h;
const clock_type::time_point later = t0 + 1h;

upload_key key(std::string digest, image_kind kind = image_kind::big, std::string app = "oppo-1") {
  return {std::move(digest), kind, std::move(app)};
}

TEST(UploadCache, HitReturnsTheId) {
  upload_cache cache(10);
  cache.insert(key("aa"), "id-1", later);
  EXPECT_EQ(cache.find(key("aa"), t0), "id-1");
  EXPECT_EQ(cache.find(key("aa"), t0 + 5min), "id-1");  // a hit does not consume the entry
  EXPECT_EQ(cache.size(), 1u);
}

TEST(UploadCache, OtherDigestKindOrAppMisses) {
  upload_cache cache(10);
  cache.insert(key("aa", image_kind::big, "oppo-1"), "id-1", later);
  EXPECT_EQ(cache.find(key("ab", image_kind::big, "oppo-1"), t0), std::nullopt);
  EXPECT_EQ(cache.find(key("aa", image_kind::small, "oppo-1"), t0), std::nullopt);
  EXPECT_EQ(cache.find(key("aa", image_kind::big, "oppo-2"), t0), std::nullopt);
  EXPECT_EQ(cache.find(key("aa", image_kind::big, "oppo-1"), t0), "id-1");
}

TEST(UploadCache, KeysDoNotCollideThroughSeparators) {
  upload_cache cache(10);
  cache.insert(key("aa", image_kind::big, "x|y"), "id-1", later);
  EXPECT_EQ(cache.find(key("aa|x", image_kind::big, "y"), t0), std::nullopt);
  EXPECT_EQ(cache.find(key("aa", image_kind::big, "x|y"), t0), "id-1");
}

TEST(UploadCache, FitTagSeparatesUploadsOfTheSameSource) {
  upload_cache cache(10);
  upload_key plain = key("aa");
  upload_key contain = key("aa");
  contain.fit_tag = "contain#ffffff";
  upload_key cover = key("aa");
  cover.fit_tag = "cover";
  cache.insert(contain, "id-contain", later);
  EXPECT_EQ(cache.find(contain, t0), "id-contain");
  EXPECT_FALSE(cache.find(plain, t0).has_value());
  EXPECT_FALSE(cache.find(cover, t0).has_value());
  cache.insert(plain, "id-plain", later);
  EXPECT_EQ(cache.find(plain, t0), "id-plain");
  EXPECT_EQ(cache.find(contain, t0), "id-contain");
}

TEST(UploadCache, ExpiresExactlyAtExpiresAt) {
  upload_cache cache(10);
  cache.insert(key("aa"), "id-1", later);
  EXPECT_EQ(cache.find(key("aa"), later - 1ns), "id-1");
  EXPECT_EQ(cache.find(key("aa"), later), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);  // removed, not just hidden
  EXPECT_EQ(cache.find(key("aa"), later - 1h), std::nullopt);
  EXPECT_EQ(cache.evictions(), 0u);  // expiry is not an eviction
}

TEST(UploadCache, LeastRecentlyUsedIsEvictedFirst) {
  upload_cache cache(3);
  cache.insert(key("a"), "id-a", later);
  cache.insert(key("b"), "id-b", later);
  cache.insert(key("c"), "id-c", later);
  cache.insert(key("d"), "id-d", later);  // evicts a, the oldest
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.evictions(), 1u);
  EXPECT_EQ(cache.find(key("a"), t0), std::nullopt);
  EXPECT_EQ(cache.find(key("b"), t0), "id-b");
  EXPECT_EQ(cache.find(key("c"), t0), "id-c");
  EXPECT_EQ(cache.find(key("d"), t0), "id-d");
}

TEST(UploadCache, FindRefreshesRecency) {
  upload_cache cache(3);
  cache.insert(key("a"), "id-a", later);
  cache.insert(key("b"), "id-b", later);
  cache.insert(key("c"), "id-c", later);
  ASSERT_EQ(cache.find(key("a"), t0), "id-a");  // a is now the most recent; b the least
  cache.insert(key("d"), "id-d", later);
  EXPECT_EQ(cache.find(key("b"), t0), std::nullopt);
  EXPECT_EQ(cache.find(key("a"), t0), "id-a");
  EXPECT_EQ(cache.find(key("c"), t0), "id-c");
  EXPECT_EQ(cache.find(key("d"), t0), "id-d");
}

TEST(UploadCache, EvictionsAreCounted) {
  upload_cache cache(2);
  for (int i = 0; i < 7; ++i) cache.insert(key(std::to_string(i)), "id", later);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.evictions(), 5u);
  EXPECT_EQ(cache.find(key("6"), t0), "id");
  EXPECT_EQ(cache.find(key("5"), t0), "id");
  EXPECT_EQ(cache.find(key("4"), t0), std::nullopt);
}

TEST(UploadCache, SizeCountsEntries) {
  upload_cache cache(100);
  EXPECT_EQ(cache.size(), 0u);
  cache.insert(key("a"), "1", later);
  cache.insert(key("a", image_kind::small), "2", later);
  cache.insert(key("a", image_kind::big, "oppo-2"), "3", later);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.evictions(), 0u);
}

TEST(UploadCache, ZeroMaxEntriesTurnsItOff) {
  upload_cache cache(0);
  cache.insert(key("a"), "id-a", later);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.find(key("a"), t0), std::nullopt);
  EXPECT_EQ(cache.evictions(), 0u);
}

TEST(UploadCache, ReinsertReplacesIdAndExpiry) {
  upload_cache cache(2);
  cache.insert(key("a"), "old", later);
  cache.insert(key("b"), "id-b", later);
  cache.insert(key("a"), "new", later + 1h);  // also makes a the most recent
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.evictions(), 0u);
  EXPECT_EQ(cache.find(key("a"), later + 30min), "new");  // the old expiry no longer applies
  cache.insert(key("c"), "id-c", later);                  // evicts b, not a
  EXPECT_EQ(cache.find(key("b"), t0), std::nullopt);
  EXPECT_EQ(cache.find(key("a"), t0), "new");
}

TEST(UploadCache, EveryKeyUnflattensToItselfAndNothingElseUnflattens) {
  const std::vector<upload_key> keys = {
      {"abc", image_kind::big, "app"},
      {"a|b", image_kind::small, "app|with|bars"},
      {"", image_kind::big, ""},
      {std::string(64, 'f'), image_kind::small, "oppo-app", "contain#ffffff"},
      {"d+e", image_kind::big, "x+y", "cover"},
  };
  for (const upload_key& k : keys) {
    const auto back = upload_cache::unflatten(upload_cache::flatten(k));
    ASSERT_TRUE(back) << upload_cache::flatten(k);
    EXPECT_EQ(back->sha256_hex, k.sha256_hex);
    EXPECT_EQ(back->kind, k.kind);
    EXPECT_EQ(back->oppo_app_key, k.oppo_app_key);
    EXPECT_EQ(back->fit_tag, k.fit_tag);
  }
  for (const std::string junk :
       {"", "big_picture", "huge|3|abc|app", "big_picture|4|abc|app", "big_picture|x|abc|app",
        "big_picture|3|abc", "big_picture||abc|a"}) {
    EXPECT_FALSE(upload_cache::unflatten(junk)) << junk;
  }
}

TEST(UploadCache, LiveListsTheEntriesNotYetExpired) {
  upload_cache cache(10);
  cache.insert(key("a"), "id-a", later);
  cache.insert(key("b"), "id-b", t0 + 1min);
  const auto live = cache.live(t0 + 2min);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].key.sha256_hex, key("a").sha256_hex);
  EXPECT_EQ(live[0].picture_id, "id-a");
  EXPECT_EQ(live[0].expires_at, later);
}

TEST(UploadCache, ConcurrentUseKeepsItConsistent) {
  upload_cache cache(50);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        const upload_key k = key(std::to_string((i * 7 + t) % 120));
        cache.insert(k, "id", later);
        (void)cache.find(k, t0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(cache.size(), 50u);
  EXPECT_GT(cache.evictions(), 0u);
}

}  // namespace
}  // namespace image_gateway
