#include "image_gateway/fetch/revalidation.hpp"

#include <gtest/gtest.h>

namespace image_gateway {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view date = "Mon, 30 Nov 2026 12:00:00 GMT";
constexpr std::string_view second_before = "Mon, 30 Nov 2026 11:59:59 GMT";

TEST(HttpDate, ImfFixdateOnly) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date(" Thu, 01 Jan 1970 00:00:00 GMT "), 0);
  EXPECT_EQ(*parse_http_date(date) - *parse_http_date(second_before), 1);
  EXPECT_FALSE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));  // RFC 850
  EXPECT_FALSE(parse_http_date("Sun Nov  6 08:49:37 1994"));        // asctime
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 36 Nov 1994 08:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));
  EXPECT_FALSE(parse_http_date(""));
}

TEST(Revalidatable, AStrongEtagIsKept) {
  const auto kept = revalidatable({.etag = "\"abc-123\""});
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->etag, "\"abc-123\"");
  EXPECT_EQ(kept->last_modified, "");
}

TEST(Revalidatable, AWeakOrMalformedEtagAloneIsNot) {
  EXPECT_FALSE(revalidatable({.etag = "W/\"abc\""}));
  EXPECT_FALSE(revalidatable({.etag = "abc"}));       // not quoted
  EXPECT_FALSE(revalidatable({.etag = "\"a\"b\""}));  // a quote inside
  EXPECT_FALSE(revalidatable({.etag = "\"a b\""}));   // a space inside
  EXPECT_FALSE(revalidatable({.etag = "\"\r\n\""}));  // control characters
  EXPECT_FALSE(revalidatable({}));
}

TEST(Revalidatable, LastModifiedOnlyWhenASecondOlderThanDate) {
  const auto kept = revalidatable({.last_modified = second_before, .date = date});
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->last_modified, second_before);
  EXPECT_EQ(kept->etag, "");
  EXPECT_FALSE(revalidatable({.last_modified = date, .date = date}));  // same second: weak
  EXPECT_FALSE(revalidatable({.last_modified = second_before}));       // no Date to judge by
  EXPECT_FALSE(revalidatable({.last_modified = "yesterday", .date = date}));
  // A weak ETag with a good Last-Modified: If-Modified-Since alone.
  const auto with_weak =
      revalidatable({.etag = "W/\"x\"", .last_modified = second_before, .date = date});
  ASSERT_TRUE(with_weak);
  EXPECT_EQ(with_weak->etag, "");
  EXPECT_EQ(with_weak->last_modified, second_before);
  // Both strong: both are sent.
  const auto both = revalidatable({.etag = "\"e\"", .last_modified = second_before, .date = date});
  ASSERT_TRUE(both);
  EXPECT_EQ(both->etag, "\"e\"");
  EXPECT_EQ(both->last_modified, second_before);
}

TEST(Revalidatable, NothingForNoStorePrivateOrAfterARedirect) {
  EXPECT_FALSE(revalidatable({.etag = "\"e\"", .cache_control = "no-store"}));
  EXPECT_FALSE(revalidatable({.etag = "\"e\"", .cache_control = "max-age=60, No-Store"}));
  EXPECT_FALSE(revalidatable({.etag = "\"e\"", .cache_control = "private"}));
  EXPECT_FALSE(revalidatable({.etag = "\"e\"", .cache_control = "private=\"set-cookie\""}));
  EXPECT_FALSE(revalidatable({.etag = "\"e\"", .redirects = 1}));
  // Other directives do not matter; a name that only contains one is not it.
  EXPECT_TRUE(revalidatable({.etag = "\"e\"", .cache_control = "public, max-age=0, no-cache"}));
  EXPECT_TRUE(revalidatable({.etag = "\"e\"", .cache_control = "x-no-store-ish"}));
}

remembered_image image(std::string digest, std::string etag = "\"e\"") {
  return {{std::move(etag), ""}, std::move(digest), {image_format::png, 984, 369}, 1000};
}

TEST(RevalidationMemo, RemembersPerUrlAndKind) {
  revalidation_memo memo(10);
  const auto now = revalidation_memo::clock::now();
  memo.remember("http://o/a.png", image_kind::big, image("d1"), now);
  const auto found = memo.find("http://o/a.png", image_kind::big, now);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->sha256_hex, "d1");
  EXPECT_EQ(found->sent.etag, "\"e\"");
  EXPECT_EQ(found->facts.width, 984);
  EXPECT_EQ(found->bytes, 1000u);
  EXPECT_FALSE(memo.find("http://o/a.png", image_kind::small, now));
  EXPECT_FALSE(memo.find("http://o/b.png", image_kind::big, now));
  // A new 200 replaces the old one.
  memo.remember("http://o/a.png", image_kind::big, image("d2", "\"f\""), now);
  EXPECT_EQ(memo.find("http://o/a.png", image_kind::big, now)->sha256_hex, "d2");
  EXPECT_EQ(memo.size(), 1u);
  memo.forget("http://o/a.png", image_kind::big);
  EXPECT_FALSE(memo.find("http://o/a.png", image_kind::big, now));
}

TEST(RevalidationMemo, NothingWithoutValidators) {
  revalidation_memo memo(10);
  const auto now = revalidation_memo::clock::now();
  memo.remember("u", image_kind::big, image("d", ""), now);
  EXPECT_FALSE(memo.find("u", image_kind::big, now));
  EXPECT_EQ(memo.size(), 0u);
}

TEST(RevalidationMemo, EntriesExpireAfterAtMost24Hours) {
  revalidation_memo memo(10);
  const auto now = revalidation_memo::clock::now();
  memo.remember("u", image_kind::big, image("d"), now);
  EXPECT_TRUE(memo.find("u", image_kind::big, now + 24h - 1s));
  EXPECT_FALSE(memo.find("u", image_kind::big, now + 24h));
  EXPECT_EQ(memo.size(), 0u);
  revalidation_memo short_lived(10, 5s);
  short_lived.remember("u", image_kind::big, image("d"), now);
  EXPECT_FALSE(short_lived.find("u", image_kind::big, now + 5s));
}

TEST(RevalidationMemo, BoundedLeastRecentlyUsedFirst) {
  revalidation_memo memo(2);
  const auto now = revalidation_memo::clock::now();
  memo.remember("a", image_kind::big, image("1"), now);
  memo.remember("b", image_kind::big, image("2"), now);
  EXPECT_TRUE(memo.find("a", image_kind::big, now));  // "b" is now the least recently used
  memo.remember("c", image_kind::big, image("3"), now);
  EXPECT_EQ(memo.size(), 2u);
  EXPECT_TRUE(memo.find("a", image_kind::big, now));
  EXPECT_FALSE(memo.find("b", image_kind::big, now));
  EXPECT_TRUE(memo.find("c", image_kind::big, now));
  revalidation_memo off(0);
  off.remember("a", image_kind::big, image("1"), now);
  EXPECT_FALSE(off.find("a", image_kind::big, now));
}

}  // namespace
}  // namespace image_gateway
