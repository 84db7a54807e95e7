#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "image_gateway/api/error.hpp"
#include "image_gateway/api/image_request.hpp"
#include "image_gateway/config/config.hpp"
#include "image_gateway/http_client/http_client.hpp"

namespace image_gateway {

struct fetched_image {
  std::shared_ptr<const std::string> bytes;  // shared with the upload: never copied
  std::chrono::microseconds elapsed{0};
};

// What the fetcher needs to know, fixed at start.
struct fetch_rules {
  fetch_config settings;
  std::shared_ptr<const address_policy> addresses;
};

// Fetches one caller URL under SPEC §5: http/https on every hop, the address policy at connect
// time, at most rule.max_bytes (one more aborts: image_too_large), time-outs inside the deadline.
// Failures: address_blocked, fetch_failed, image_too_large, with the field in the detail.
boost::asio::awaitable<result<fetched_image>> fetch_image(
    http_client& client, const fetch_rules& rules, std::string url, image_kind kind,
    std::size_t max_bytes, std::chrono::steady_clock::time_point deadline);

// The api_error for a finished transfer that did not give a usable image (pure, for tests).
std::optional<api_error> fetch_problem(const http_response& response, image_kind kind,
                                       std::size_t max_bytes, std::chrono::milliseconds timeout);

}  // namespace image_gateway
