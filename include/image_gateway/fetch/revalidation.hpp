#pragma once
// Revalidation and freshness of fetched images (docs/api.md): which answers may be revalidated
// later, for how long one may be used without asking its origin again, and the memo of them.

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "image_gateway/domain/image_kind.hpp"
#include "image_gateway/image/image_check.hpp"

namespace image_gateway {

// What a conditional request sends: If-None-Match (a strong ETag, quotes included) and/or
// If-Modified-Since (an HTTP-date, as the origin wrote it).
struct validators {
  std::string etag;
  std::string last_modified;
  bool empty() const { return etag.empty() && last_modified.empty(); }
};

// The parts of a final answer (200, or a 304 to a conditional request) that decide whether it
// may be revalidated and how long it stays fresh. Header lines of one name come joined by ", ".
struct origin_answer {
  std::string_view etag{};
  std::string_view last_modified{};
  std::string_view date{};
  std::string_view cache_control{};
  int redirects = 0;
  std::string_view expires{};
  std::string_view age{};
};

// The validators worth remembering, or nullopt: nothing after a redirect (libcurl would send
// them to every hop), nothing for Cache-Control no-store or private; a weak ETag (W/"…") is
// never used; a Last-Modified only when it is at least one second older than the answer's
// Date (RFC 9110 §8.8.2.2: else the origin may change the image within that second unseen).
std::optional<validators> revalidatable(const origin_answer& answer);

// How much longer the answer stays fresh, counted from `now_s` (seconds since the epoch, the
// moment it arrived), or nullopt when it is not fresh at all (RFC 9111 §4.2, for a shared
// cache; never heuristic). The lifetime is Cache-Control s-maxage, else max-age, else Expires
// minus Date; the age is the larger of now - Date and the Age field. Not fresh: after a
// redirect; with no-store, no-cache or private (in any form); without any of the three; with a
// malformed list, a malformed or conflicting (two different values) s-maxage or max-age, a
// malformed Expires, Date or Age; when the age has reached the lifetime. A number of seconds
// too large to hold counts as 2^31 (RFC 9111 §1.2.2): callers cap it. must-revalidate and
// proxy-revalidate change nothing here: a stale answer is never used without asking.
std::optional<std::chrono::seconds> freshness_left(const origin_answer& answer, long long now_s);

// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") as seconds since the epoch; nullopt for
// anything else (the obsolete forms are not trusted as validators).
std::optional<long long> parse_http_date(std::string_view text);

// What a 304 stands for: the image remembered from the 200 that passed every check.
struct remembered_image {
  validators sent;
  std::string sha256_hex;
  image_facts facts;
  std::size_t bytes = 0;
  // Until when the image may be used without asking its origin (the default: never), and only
  // by whom: the requester it was fetched (or last revalidated) for, e.g. its OPPO app and fit.
  std::chrono::steady_clock::time_point fresh_until{};
  std::string fresh_for{};
};

// Remembered images by URL and image kind, each for at most max_age, at most max_entries
// (least recently used evicted first; 0 remembers nothing). Thread-safe.
class revalidation_memo {
 public:
  using clock = std::chrono::steady_clock;

  explicit revalidation_memo(std::size_t max_entries,
                             clock::duration max_age = std::chrono::hours(24));

  std::optional<remembered_image> find(std::string_view url, image_kind kind,
                                       clock::time_point now);
  // Replaces what was remembered for the URL and kind; its age starts at `now`. An image
  // without validators is remembered only until its fresh_until (nothing when already stale).
  void remember(std::string_view url, image_kind kind, remembered_image image,
                clock::time_point now);
  void forget(std::string_view url, image_kind kind);
  // A 304 carrying freshness renews it, for `requester`, if the image remembered for the URL
  // and kind still has this digest.
  void freshen(std::string_view url, image_kind kind, std::string_view sha256_hex,
               clock::time_point fresh_until, std::string_view requester);

  std::size_t size() const;

 private:
  struct entry {
    std::string key;
    remembered_image image;
    clock::time_point expires_at;
  };
  static std::string key_of(std::string_view url, image_kind kind);
  static void key_into(std::string& key, std::string_view url, image_kind kind);  // reusing `key`

  std::size_t max_entries_;
  clock::duration max_age_;
  mutable std::mutex mutex_;
  std::list<entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
};

}  // namespace image_gateway
