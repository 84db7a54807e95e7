#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "image_gateway/api/image_request.hpp"
#include "image_gateway/config/config.hpp"
#include "image_gateway/domain/error.hpp"
#include "image_gateway/fetch/revalidation.hpp"
#include "image_gateway/http_client/http_client.hpp"
#include "image_gateway/util/trace_context.hpp"

namespace image_gateway {

struct fetched_image {
  std::shared_ptr<const std::string> bytes;  // shared with the upload: never copied; null on 304
  std::string sha256_hex;  // hashed as the bytes arrived (when asked for), or remembered (304)
  std::chrono::microseconds elapsed{0};
  // 304 Not Modified, or `fresh` (answered from the memo within the origin's freshness, no
  // transfer at all): what the answer stands for, and the upload cache's id for it.
  bool not_modified = false;
  bool fresh = false;
  std::optional<remembered_image> remembered;
  std::optional<std::string> picture_id;
  // A 200 worth remembering once the image passed every check: its validators, empty when only
  // its freshness makes it worth remembering (used within it, fetched in full after).
  std::optional<validators> revalidate_with;
  // Until when a 200 or a 304 may be used without asking again (the default: not at all),
  // capped by fetch.max_fresh_s.
  std::chrono::steady_clock::time_point fresh_until{};

  // No bytes: the image is the remembered one, and picture_id its upload.
  bool from_memo() const { return not_modified || fresh; }
};

// What the fetcher needs to know, fixed at start.
struct fetch_rules {
  fetch_config settings;
  std::shared_ptr<const address_policy> addresses;
};

// The fetches running now, one per URL and image kind: later callers wait for it and share
// its answer instead of fetching the same URL again. Thread-safe.
class fetch_flights {
 public:
  struct flight;  // image_fetch.cpp
  fetch_flights();
  ~fetch_flights();
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<flight>> flying;
};

// The upload cache's picture id for a digest, for the caller's OPPO app (nullopt: none).
using cached_id_lookup = std::function<std::optional<std::string>(const std::string& sha256_hex)>;
// Called once per transfer: outcome ("ok", "not_modified" or an error kind's name), body
// bytes, duration; and once, as "fresh" with no bytes and no duration, per answer from freshness.
using fetch_observer =
    std::function<void(std::string_view outcome, std::size_t bytes, std::chrono::microseconds)>;

// Everything a fetch uses beside its URL. memo and flights are null without revalidation.
struct fetch_context {
  http_client& client;
  const fetch_rules& rules;
  revalidation_memo* memo = nullptr;
  fetch_flights* flights = nullptr;
  bool hash_body = false;  // SHA-256 the body as it arrives (the upload cache needs it)
  fetch_observer observe;
  // The caller's trace (W3C Trace Context), continued on the fetch; null or empty: none.
  const trace_context* trace = nullptr;
  // Who asks (the caller's OPPO app and fit): an answer is used from freshness only by the
  // requester it was fetched or last revalidated for.
  std::string requester;
};

// Fetches one caller URL (docs/api.md, fetching): http/https on every hop, the address policy
// at connect time, at most max_bytes (one more aborts: image_too_large), time-outs inside the
// deadline. With a memo, what it remembers for the requester within its freshness answers at
// once with no transfer, and else is revalidated: validators are sent only when `cached_id`
// has an id for the remembered digest, and a 304 answers with that id and no bytes; with
// flights, one fetch per URL and kind runs at a time.
// Failures: address_blocked, fetch_failed, image_too_large, with the field in the detail.
boost::asio::awaitable<result<fetched_image>> fetch_image(
    const fetch_context& context, std::string url, image_kind kind, std::size_t max_bytes,
    std::chrono::steady_clock::time_point deadline, cached_id_lookup cached_id);

// The remembered image with the requester's id for it, when the memo holds it fresh for the
// context's requester and `cached_id` has the id: an answer with no transfer and no coroutine
// (fetch_image asks it first too). nullopt otherwise.
std::optional<fetched_image> fresh_image(const fetch_context& context, const std::string& url,
                                         image_kind kind, const cached_id_lookup& cached_id);

// The api_error for a finished transfer that did not give a usable image (pure, for tests).
// `conditional`: the request carried validators (only then is a 304 an answer).
std::optional<api_error> fetch_problem(const http_response& response, image_kind kind,
                                       std::size_t max_bytes, std::chrono::milliseconds timeout,
                                       bool conditional = false);

}  // namespace image_gateway
