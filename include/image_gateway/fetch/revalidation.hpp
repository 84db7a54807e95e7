#pragma once
// SPEC §5 "Revalidation": which answers may be revalidated later, and the memo of them.

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

// The parts of a final 200 answer that decide whether it may be revalidated.
struct origin_answer {
  std::string_view etag;
  std::string_view last_modified;
  std::string_view date;
  std::string_view cache_control;
  int redirects = 0;
};

// The validators worth remembering, or nullopt: nothing after a redirect (libcurl would send
// them to every hop), nothing for Cache-Control no-store or private; a weak ETag (W/"…") is
// never used; a Last-Modified only when it is at least one second older than the answer's
// Date (RFC 9110 §8.8.2.2: else the origin may change the image within that second unseen).
std::optional<validators> revalidatable(const origin_answer& answer);

// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") as seconds since the epoch; nullopt for
// anything else (the obsolete forms are not trusted as validators).
std::optional<long long> parse_http_date(std::string_view text);

// What a 304 stands for: the image remembered from the 200 that passed every check.
struct remembered_image {
  validators sent;
  std::string sha256_hex;
  image_facts facts;
  std::size_t bytes = 0;
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
  // Replaces what was remembered for the URL and kind; its age starts at `now`.
  void remember(std::string_view url, image_kind kind, remembered_image image,
                clock::time_point now);
  void forget(std::string_view url, image_kind kind);

  std::size_t size() const;

 private:
  struct entry {
    std::string key;
    remembered_image image;
    clock::time_point expires_at;
  };
  static std::string key_of(std::string_view url, image_kind kind);

  std::size_t max_entries_;
  clock::duration max_age_;
  mutable std::mutex mutex_;
  std::list<entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
};

}  // namespace image_gateway
