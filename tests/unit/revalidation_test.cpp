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

// ---- freshness ------------------------------------------------------------------------------

constexpr long long now_s = 1796040000;  // Mon, 30 Nov 2026 12:00:00 GMT, `date` above

std::optional<long long> fresh_s(const origin_answer& answer) {
  const auto left = freshness_left(answer, now_s);
  if (!left) return std::nullopt;
  return left->count();
}

TEST(Freshness, TheTestClockIsDate) { EXPECT_EQ(parse_http_date(date), now_s); }

TEST(Freshness, MaxAgeAndSharedMaxAge) {
  EXPECT_EQ(fresh_s({.cache_control = "max-age=60"}), 60);
  EXPECT_EQ(fresh_s({.cache_control = "public, max-age=3600"}), 3600);
  EXPECT_EQ(fresh_s({.cache_control = "MAX-AGE=60"}), 60);
  EXPECT_EQ(fresh_s({.cache_control = "max-age=\"60\""}), 60);  // the quoted form is accepted
  EXPECT_EQ(fresh_s({.cache_control = " ,max-age=60 , ,immutable"}), 60);  // empty elements
  // s-maxage is for shared caches, as this one is: it wins over max-age.
  EXPECT_EQ(fresh_s({.cache_control = "max-age=60, s-maxage=10"}), 10);
  EXPECT_EQ(fresh_s({.cache_control = "s-maxage=600, max-age=0"}), 600);
  // must-revalidate only forbids using a stale answer: a fresh one is used.
  EXPECT_EQ(fresh_s({.cache_control = "max-age=60, must-revalidate"}), 60);
  EXPECT_EQ(fresh_s({.cache_control = "max-age=60, proxy-revalidate"}), 60);
  EXPECT_EQ(fresh_s({.date = date, .cache_control = "max-age=60"}), 60);
  EXPECT_FALSE(fresh_s({.cache_control = "max-age=0"}));
  // The same directive twice with the same value is no conflict.
  EXPECT_EQ(fresh_s({.cache_control = "max-age=60, max-age=60"}), 60);
}

TEST(Freshness, TheAgeIsTakenOff) {
  // Date ten seconds ago: ten of the sixty are spent.
  EXPECT_EQ(fresh_s({.date = "Mon, 30 Nov 2026 11:59:50 GMT", .cache_control = "max-age=60"}), 50);
  // A Date in the future (the origin's clock ahead) is no negative age.
  EXPECT_EQ(fresh_s({.date = "Mon, 30 Nov 2026 12:00:30 GMT", .cache_control = "max-age=60"}), 60);
  // Age (a cache on the way held it) when larger than what Date says.
  EXPECT_EQ(fresh_s({.cache_control = "max-age=60", .age = "20"}), 40);
  EXPECT_EQ(
      fresh_s(
          {.date = "Mon, 30 Nov 2026 11:59:30 GMT", .cache_control = "max-age=60", .age = "20"}),
      30);
  EXPECT_FALSE(fresh_s({.cache_control = "max-age=60", .age = "60"}));
  EXPECT_FALSE(fresh_s({.date = "Mon, 30 Nov 2026 11:58:00 GMT", .cache_control = "max-age=60"}));
}

TEST(Freshness, ExpiresRelativeToDate) {
  EXPECT_EQ(fresh_s({.date = date, .expires = "Mon, 30 Nov 2026 13:00:00 GMT"}), 3600);
  // Dated an hour ago with an hour's lifetime: its age (by our clock) has used it up.
  EXPECT_FALSE(fresh_s(
      {.date = "Mon, 30 Nov 2026 11:00:00 GMT", .expires = "Mon, 30 Nov 2026 12:00:00 GMT"}));
  // Without Date, against the moment it arrived.
  EXPECT_EQ(fresh_s({.expires = "Mon, 30 Nov 2026 12:01:00 GMT"}), 60);
  EXPECT_FALSE(fresh_s({.date = date, .expires = date}));
  EXPECT_FALSE(fresh_s({.date = date, .expires = "Mon, 30 Nov 2026 11:00:00 GMT"}));
  // max-age wins over Expires, both ways.
  EXPECT_EQ(fresh_s({.date = date,
                     .cache_control = "max-age=60",
                     .expires = "Mon, 30 Nov 2026 13:00:00 GMT"}),
            60);
  EXPECT_EQ(fresh_s({.date = date, .cache_control = "max-age=600", .expires = date}), 600);
}

TEST(Freshness, NeverForNoCacheNoStorePrivateOrARedirect) {
  EXPECT_FALSE(fresh_s({.cache_control = "no-cache, max-age=60"}));
  EXPECT_FALSE(fresh_s({.cache_control = "max-age=60, No-Cache"}));
  EXPECT_FALSE(fresh_s({.cache_control = "no-cache=\"set-cookie\", max-age=60"}));
  EXPECT_FALSE(fresh_s({.cache_control = "max-age=60, no-store"}));
  EXPECT_FALSE(fresh_s({.cache_control = "private, max-age=60"}));
  EXPECT_FALSE(fresh_s({.cache_control = "private=\"x\", s-maxage=60"}));
  EXPECT_FALSE(fresh_s({.cache_control = "max-age=60", .redirects = 1}));
}

TEST(Freshness, NeverHeuristic) {
  EXPECT_FALSE(fresh_s({}));
  EXPECT_FALSE(fresh_s({.etag = "\"e\"", .cache_control = "public"}));
  // An old Last-Modified says nothing about how long the image stays.
  EXPECT_FALSE(fresh_s({.last_modified = "Mon, 30 Nov 2025 12:00:00 GMT", .date = date}));
}

TEST(Freshness, MalformedOrConflictingDirectivesAreNotFresh) {
  for (const std::string_view bad : {"max-age=abc",
                                     "max-age=",
                                     "max-age",
                                     "max-age=-5",
                                     "max-age=+5",
                                     "max-age=1.5",
                                     "max-age=1e3",
                                     "max-age=0x10",
                                     "max-age=60 60",
                                     "max-age=60;",
                                     "max-age =60",
                                     "max-age=\"60",
                                     "max-age=\"6 0\"",
                                     "max-age=\"\"",
                                     "=60",
                                     "max-age=60, =",
                                     "max-age=60, max-age=120",             // conflicting
                                     "s-maxage=5, s-maxage=6, max-age=60",  // conflicting shared
                                     "max-age=60, s-maxage=junk",  // a good one beside a bad one
                                     "max-age=60, \"quoted-name\"",
                                     "max-age=٦٠"}) {
    EXPECT_FALSE(fresh_s({.cache_control = bad})) << bad;
  }
  // A garbage max-age does not fall back to Expires.
  EXPECT_FALSE(fresh_s(
      {.date = date, .cache_control = "max-age=x", .expires = "Mon, 30 Nov 2026 13:00:00 GMT"}));
}

TEST(Freshness, MalformedDatesAndAgesAreNotFresh) {
  EXPECT_FALSE(fresh_s({.date = date, .expires = "0"}));  // "already expired" (RFC 9111 §5.3)
  EXPECT_FALSE(fresh_s({.date = date, .expires = "tomorrow"}));
  EXPECT_FALSE(fresh_s({.date = date, .expires = "Monday, 30-Nov-26 13:00:00 GMT"}));
  // Two Expires lines, joined: not one date.
  EXPECT_FALSE(fresh_s(
      {.date = date, .expires = "Mon, 30 Nov 2026 13:00:00 GMT, Mon, 30 Nov 2026 14:00:00 GMT"}));
  EXPECT_FALSE(fresh_s({.date = "yesterday", .cache_control = "max-age=60"}));
  EXPECT_FALSE(fresh_s({.cache_control = "max-age=60", .age = "ten"}));
  EXPECT_FALSE(fresh_s({.cache_control = "max-age=60", .age = "-1"}));
  EXPECT_FALSE(fresh_s({.cache_control = "max-age=60", .age = "5, 5"}));  // two Age lines
}

TEST(Freshness, HugeValuesCountAsTwoToThe31) {
  // RFC 9111 §1.2.2: too large to hold is 2^31 s (the caller caps it by fetch.max_fresh_s).
  EXPECT_EQ(fresh_s({.cache_control = "max-age=99999999999999999999999999999"}), 2147483648LL);
  EXPECT_EQ(fresh_s({.cache_control = "max-age=2147483649"}), 2147483648LL);
  EXPECT_EQ(fresh_s({.cache_control = "max-age=2147483647"}), 2147483647LL);
  EXPECT_FALSE(fresh_s({.cache_control = "max-age=60", .age = "99999999999999999999999"}));
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

TEST(RevalidationMemo, NothingWithoutValidatorsOrFreshness) {
  revalidation_memo memo(10);
  const auto now = revalidation_memo::clock::now();
  memo.remember("u", image_kind::big, image("d", ""), now);
  EXPECT_FALSE(memo.find("u", image_kind::big, now));
  remembered_image stale = image("d", "");
  stale.fresh_until = now;  // already stale
  memo.remember("u", image_kind::big, stale, now);
  EXPECT_FALSE(memo.find("u", image_kind::big, now));
  EXPECT_EQ(memo.size(), 0u);
}

TEST(RevalidationMemo, FreshnessAloneIsRememberedUntilItEnds) {
  revalidation_memo memo(10);
  const auto now = revalidation_memo::clock::now();
  remembered_image fresh = image("d", "");
  fresh.fresh_until = now + 60s;
  fresh.fresh_for = "app|fit";
  memo.remember("u", image_kind::big, fresh, now);
  const auto found = memo.find("u", image_kind::big, now + 59s);
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->sent.empty());
  EXPECT_EQ(found->fresh_until, now + 60s);
  EXPECT_EQ(found->fresh_for, "app|fit");
  // Nothing to revalidate with: gone once stale, where one with validators stays for a day.
  EXPECT_FALSE(memo.find("u", image_kind::big, now + 60s));
  EXPECT_EQ(memo.size(), 0u);
  remembered_image validated = image("d");
  validated.fresh_until = now + 60s;
  memo.remember("u", image_kind::big, validated, now);
  EXPECT_TRUE(memo.find("u", image_kind::big, now + 60s));
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

TEST(RevalidationMemo, FreshenRenewsTheSameImageOnly) {
  revalidation_memo memo(10);
  const auto now = revalidation_memo::clock::now();
  remembered_image fresh = image("d1");
  fresh.fresh_until = now + 60s;
  fresh.fresh_for = "app|";
  memo.remember("u", image_kind::big, fresh, now);
  EXPECT_EQ(memo.find("u", image_kind::big, now)->fresh_until, now + 60s);
  // A 304 for an image that another 200 replaced meanwhile renews nothing.
  memo.freshen("u", image_kind::big, "d0", now + 600s, "other|");
  EXPECT_EQ(memo.find("u", image_kind::big, now)->fresh_until, now + 60s);
  EXPECT_EQ(memo.find("u", image_kind::big, now)->fresh_for, "app|");
  memo.freshen("u", image_kind::big, "d1", now + 300s, "other|contain");
  const auto renewed = memo.find("u", image_kind::big, now);
  EXPECT_EQ(renewed->fresh_until, now + 300s);
  EXPECT_EQ(renewed->fresh_for, "other|contain");
  EXPECT_EQ(renewed->sent.etag, "\"e\"");
  memo.freshen("absent", image_kind::big, "d1", now + 300s, "x");  // nothing to renew
  EXPECT_EQ(memo.size(), 1u);
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
