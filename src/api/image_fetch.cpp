#include "image_fetch.hpp"

#include <algorithm>

#include "image_gateway/http_client/async_perform.hpp"

namespace image_gateway {

std::optional<api_error> fetch_problem(const http_response& response, image_kind kind,
                                       std::size_t max_bytes, std::chrono::milliseconds timeout) {
  const std::string field(url_field(kind));
  const auto failed = [&](std::string what) {
    return api_error{error_kind::fetch_failed, field + ": " + what, std::nullopt};
  };
  switch (response.status) {
    case transfer_status::ok:
      if (response.http_status >= 200 && response.http_status < 300) return std::nullopt;
      return failed("the image server answered HTTP " + std::to_string(response.http_status));
    case transfer_status::address_blocked:
      return api_error{error_kind::address_blocked,
                       field + ": address not allowed: " + response.error_detail, std::nullopt};
    case transfer_status::too_large:
      return api_error{error_kind::image_too_large,
                       field + ": image is larger than " + std::to_string(max_bytes) +
                           " bytes, OPPO allows at most " + std::to_string(max_bytes),
                       std::nullopt};
    case transfer_status::dns_failed:
      return failed("host name could not be resolved");
    case transfer_status::connect_failed:
      return failed("could not connect (" + response.error_detail + ")");
    case transfer_status::timed_out:
      return failed("fetch timed out (limit " + std::to_string(timeout.count()) + " ms)");
    case transfer_status::too_many_redirects:
      return failed("too many redirects");
    case transfer_status::redirect_refused:
      return failed("redirect to a scheme other than http or https");
    case transfer_status::tls_failed:
      return failed("TLS error (" + response.error_detail + ")");
    case transfer_status::cancelled:
      return failed("fetch cancelled");
    case transfer_status::failed:
      break;
  }
  return failed("fetch failed (" + response.error_detail + ")");
}

boost::asio::awaitable<result<fetched_image>> fetch_image(
    http_client& client, const fetch_rules& rules, std::string url, image_kind kind,
    std::size_t max_bytes, std::chrono::steady_clock::time_point deadline) {
  using std::chrono::milliseconds;
  const auto left =
      std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  const milliseconds total = std::max(milliseconds(1), std::min(rules.settings.timeout, left));

  http_request request;
  request.url = std::move(url);
  request.connect_timeout = std::min(rules.settings.connect_timeout, total);
  request.total_timeout = total;
  // A source that drips under 1 KiB/s for 3 s is not going to make it.
  request.low_speed_bytes_per_s = 1024;
  request.low_speed_window = std::chrono::seconds(3);
  request.max_response_bytes = max_bytes;
  request.max_redirects = rules.settings.max_redirects;
  request.connect_policy = rules.addresses;
  request.headers.emplace_back("Accept: image/png, image/jpeg");

  http_response response = co_await async_perform(client, std::move(request));
  if (auto problem = fetch_problem(response, kind, max_bytes, total)) co_return std::move(*problem);
  co_return fetched_image{std::make_shared<const std::string>(std::move(response.body)),
                          response.elapsed};
}

}  // namespace image_gateway
