#include "image_fetch.hpp"

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "image_gateway/fetch/url_policy.hpp"
#include "image_gateway/http_client/async_perform.hpp"

namespace image_gateway {

namespace net = boost::asio;
using steady_time = std::chrono::steady_clock::time_point;

std::optional<api_error> fetch_problem(const http_response& response, image_kind kind,
                                       std::size_t max_bytes, std::chrono::milliseconds timeout,
                                       bool conditional) {
  const std::string field(url_field(kind));
  const auto failed = [&](std::string what) {
    return api_error{error_kind::fetch_failed, field + ": " + what, std::nullopt};
  };
  switch (response.status) {
    case transfer_status::ok:
      if (response.http_status >= 200 && response.http_status < 300) return std::nullopt;
      if (response.http_status == 304 && conditional) return std::nullopt;
      if (response.http_status == 304) {
        return failed("the image server answered 304 Not Modified to a request without validators");
      }
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
    case transfer_status::too_slow:
      return failed("fetch cut by the low-speed rule (" + response.error_detail + ")");
    case transfer_status::too_many_redirects:
      return failed("too many redirects");
    case transfer_status::redirect_refused:
      return failed("redirect refused: " + response.error_detail);
    case transfer_status::tls_failed:
      return failed("TLS error (" + response.error_detail + ")");
    case transfer_status::cancelled:
      return failed("fetch cancelled");
    case transfer_status::failed:
      break;
  }
  return failed("fetch failed (" + response.error_detail + ")");
}

// ---- one transfer ------------------------------------------------------------------------

namespace {

// The fields of a final answer that revalidation and freshness read.
struct cache_headers {
  explicit cache_headers(const http_response& response)
      : etag(header_value(response, "etag")),
        last_modified(header_value(response, "last-modified")),
        date(header_value(response, "date")),
        cache_control(header_value(response, "cache-control")),
        expires(header_value(response, "expires")),
        age(header_value(response, "age")),
        redirects(response.redirects) {}
  origin_answer answer() const {
    return {etag, last_modified, date, cache_control, redirects, expires, age};
  }
  std::string etag, last_modified, date, cache_control, expires, age;
  int redirects;
};

// Until when an answer that just arrived may be used without asking again: its freshness,
// capped by max_fresh_s (0: not at all); the default time point when it is not fresh.
steady_time fresh_until(const origin_answer& answer, int max_fresh_s) {
  if (max_fresh_s <= 0) return {};
  using std::chrono::seconds;
  const auto now = std::chrono::system_clock::now();
  const auto left =
      freshness_left(answer, std::chrono::duration_cast<seconds>(now.time_since_epoch()).count());
  if (!left) return {};
  return std::chrono::steady_clock::now() + std::min(*left, seconds(max_fresh_s));
}

struct transfer_outcome {
  result<fetched_image> image;
  bool not_modified = false;
  // A conditional request answered with a redirect: its validators were not sent on, and the
  // URL is fetched again without them.
  bool redirected = false;
};

net::awaitable<transfer_outcome> transfer(const fetch_context& context, const std::string& url,
                                          image_kind kind, std::size_t max_bytes,
                                          steady_time deadline, const validators* conditional) {
  using std::chrono::milliseconds;
  const fetch_rules& rules = context.rules;
  const auto left =
      std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  const milliseconds total = std::max(milliseconds(1), std::min(rules.settings.timeout, left));

  http_request request;
  request.url = url;
  request.connect_timeout = std::min(rules.settings.connect_timeout, total);
  request.total_timeout = total;
  // A source that drips under 1 KiB/s for 3 s is not going to make it.
  request.low_speed_bytes_per_s = 1024;
  request.low_speed_window = std::chrono::seconds(3);
  request.max_response_bytes = max_bytes;
  request.max_redirects = rules.settings.max_redirects;
  request.connect_policy = rules.addresses;
  // Every hop's target passes the caller's URL rules before anything is opened for it.
  request.redirect_check = redirect_refusal;
  request.hash_body = context.hash_body;
  request.headers.emplace_back("Accept: image/png, image/jpeg");
  if (context.trace != nullptr) add_trace_headers(request.headers, *context.trace);
  if (conditional != nullptr) {
    // Sent by us, never through CURLOPT_TIMECONDITION (libcurl would then make up a 304 from
    // a 200's Last-Modified). Not followed across redirects: validators go to this URL only.
    if (!conditional->etag.empty()) {
      request.headers.push_back("If-None-Match: " + conditional->etag);
    }
    if (!conditional->last_modified.empty()) {
      request.headers.push_back("If-Modified-Since: " + conditional->last_modified);
    }
    request.max_redirects = 0;
  }

  http_response response = co_await async_perform(context.client, std::move(request));
  const bool answered = response.status == transfer_status::ok;
  const long status = response.http_status;
  if (conditional != nullptr && answered && status >= 300 && status < 400 && status != 304) {
    if (context.observe) context.observe("redirected", 0, response.elapsed);
    co_return transfer_outcome{api_error{error_kind::fetch_failed, "redirected", std::nullopt},
                               false, true};
  }
  if (auto problem = fetch_problem(response, kind, max_bytes, total, conditional != nullptr)) {
    if (context.observe) context.observe(to_string(problem->kind), 0, response.elapsed);
    co_return transfer_outcome{std::move(*problem)};
  }
  fetched_image image;
  image.elapsed = response.elapsed;
  if (status == 304) {
    if (context.observe) context.observe("not_modified", 0, response.elapsed);
    image.not_modified = true;
    // A 304 carries the Cache-Control and Expires a 200 would (RFC 9110 §15.4.5).
    image.fresh_until = fresh_until(cache_headers(response).answer(), rules.settings.max_fresh_s);
    co_return transfer_outcome{std::move(image), true};
  }
  if (context.observe) context.observe("ok", response.body.size(), response.elapsed);
  if (context.memo != nullptr && status == 200) {
    const cache_headers headers(response);
    // Remembered when it has validators (to revalidate later) or freshness (to be used without
    // asking within it); with freshness alone, once stale it is fetched again in full.
    image.revalidate_with = revalidatable(headers.answer());
    image.fresh_until = fresh_until(headers.answer(), rules.settings.max_fresh_s);
    if (!image.revalidate_with && image.fresh_until != steady_time{}) {
      image.revalidate_with = validators{};
    }
  }
  image.sha256_hex = std::move(response.body_sha256);
  image.bytes = std::make_shared<const std::string>(std::move(response.body));
  co_return transfer_outcome{std::move(image)};
}

// One fetch of a URL for one caller: conditional when the memo and the caller's upload cache
// allow it, else plain.
net::awaitable<result<fetched_image>> fetch_once(const fetch_context& context,
                                                 const std::string& url, image_kind kind,
                                                 std::size_t max_bytes, steady_time deadline,
                                                 const cached_id_lookup& cached_id) {
  std::optional<remembered_image> remembered;
  if (context.memo != nullptr) {
    remembered = context.memo->find(url, kind, std::chrono::steady_clock::now());
  }
  // Validators are worth sending only when there are some and a 304 can be answered from the
  // upload cache.
  if (remembered && !remembered->sent.empty() && cached_id && cached_id(remembered->sha256_hex)) {
    transfer_outcome outcome =
        co_await transfer(context, url, kind, max_bytes, deadline, &remembered->sent);
    if (outcome.not_modified) {
      // Looked up again: the id may have left the cache during the transfer.
      if (auto id = cached_id(remembered->sha256_hex)) {
        fetched_image& image = outcome.image.value();
        if (image.fresh_until != steady_time{}) {
          context.memo->freshen(url, kind, remembered->sha256_hex, image.fresh_until,
                                context.requester);
        }
        image.sha256_hex = remembered->sha256_hex;
        image.remembered = std::move(remembered);
        image.picture_id = std::move(id);
        co_return std::move(outcome.image);
      }
    } else if (!outcome.redirected) {
      // A 200 replaces what was remembered (once it passed the checks); an error forgets it.
      context.memo->forget(url, kind);
      co_return std::move(outcome.image);
    } else {
      context.memo->forget(url, kind);
    }
  }
  transfer_outcome outcome = co_await transfer(context, url, kind, max_bytes, deadline, nullptr);
  if (context.memo != nullptr) context.memo->forget(url, kind);
  co_return std::move(outcome.image);
}

}  // namespace

std::optional<fetched_image> fresh_image(const fetch_context& context, const std::string& url,
                                         image_kind kind, const cached_id_lookup& cached_id) {
  if (context.memo == nullptr || !cached_id) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  auto remembered = context.memo->find(url, kind, now);
  if (!remembered || now >= remembered->fresh_until || remembered->fresh_for != context.requester) {
    return std::nullopt;
  }
  auto id = cached_id(remembered->sha256_hex);
  if (!id) return std::nullopt;
  if (context.observe) context.observe("fresh", 0, std::chrono::microseconds(0));
  fetched_image image;
  image.fresh = true;
  image.sha256_hex = remembered->sha256_hex;
  image.remembered = std::move(remembered);
  image.picture_id = std::move(id);
  return image;
}

// ---- one fetch per URL at a time ----------------------------------------------------------

using wake_signal = net::experimental::concurrent_channel<void(boost::system::error_code)>;

struct fetch_flights::flight {
  bool landed = false;
  std::optional<result<fetched_image>> outcome;  // nullopt once landed: the leader gave up
  std::vector<std::shared_ptr<wake_signal>> waiters;
};

fetch_flights::fetch_flights() = default;
fetch_flights::~fetch_flights() = default;

namespace {

// The leader's side: whatever happens to its coroutine, the waiters hear once.
class flight_leader {
 public:
  flight_leader(fetch_flights& flights, std::string key, std::shared_ptr<fetch_flights::flight> f)
      : flights_(flights), key_(std::move(key)), flight_(std::move(f)) {}
  flight_leader(const flight_leader&) = delete;
  flight_leader& operator=(const flight_leader&) = delete;
  ~flight_leader() { land(std::nullopt); }

  void land(std::optional<result<fetched_image>> outcome) {
    if (flight_ == nullptr) return;
    std::vector<std::shared_ptr<wake_signal>> waiters;
    {
      std::lock_guard lock(flights_.mutex);
      flight_->landed = true;
      flight_->outcome = std::move(outcome);
      waiters.swap(flight_->waiters);
      const auto found = flights_.flying.find(key_);
      if (found != flights_.flying.end() && found->second == flight_) flights_.flying.erase(found);
    }
    flight_.reset();
    for (const auto& waiter : waiters) waiter->try_send(boost::system::error_code{});
  }

 private:
  fetch_flights& flights_;
  std::string key_;
  std::shared_ptr<fetch_flights::flight> flight_;
};

enum class wait_end { landed, abandoned, timed_out };

// Waits for a flight to land, at most until the deadline.
net::awaitable<std::pair<wait_end, std::optional<result<fetched_image>>>> wait_for_flight(
    fetch_flights& flights, std::shared_ptr<fetch_flights::flight> f, steady_time deadline) {
  using namespace boost::asio::experimental::awaitable_operators;
  const auto executor = co_await net::this_coro::executor;
  auto signal = std::make_shared<wake_signal>(executor, 1);
  const auto landed =
      [&]() -> std::optional<std::pair<wait_end, std::optional<result<fetched_image>>>> {
    if (!f->landed) return std::nullopt;
    if (!f->outcome) return std::pair{wait_end::abandoned, std::optional<result<fetched_image>>()};
    return std::pair{wait_end::landed, f->outcome};
  };
  {
    std::lock_guard lock(flights.mutex);
    if (auto done = landed()) co_return std::move(*done);
    f->waiters.push_back(signal);
  }
  net::steady_timer timer(executor, deadline);
  co_await (signal->async_receive(net::use_awaitable) || timer.async_wait(net::use_awaitable));
  std::lock_guard lock(flights.mutex);
  if (auto done = landed()) co_return std::move(*done);
  co_return std::pair{wait_end::timed_out, std::optional<result<fetched_image>>()};
}

}  // namespace

net::awaitable<result<fetched_image>> fetch_image(const fetch_context& context, std::string url,
                                                  image_kind kind, std::size_t max_bytes,
                                                  steady_time deadline,
                                                  cached_id_lookup cached_id) {
  // Within its freshness an image needs neither its origin nor a place in a flight.
  if (auto fresh = fresh_image(context, url, kind, cached_id)) co_return std::move(*fresh);
  if (context.flights == nullptr) {
    co_return co_await fetch_once(context, url, kind, max_bytes, deadline, cached_id);
  }
  // Callers share a fetch only under the same byte limit (a fitted source may be larger).
  std::string key(kind_name(kind));
  key += '|';
  key += std::to_string(max_bytes);
  key += '|';
  key += url;
  std::shared_ptr<fetch_flights::flight> f;
  bool leader = false;
  {
    std::lock_guard lock(context.flights->mutex);
    auto& slot = context.flights->flying[key];
    if (slot == nullptr) {
      slot = std::make_shared<fetch_flights::flight>();
      leader = true;
    }
    f = slot;
  }
  if (leader) {
    flight_leader lead(*context.flights, key, f);
    auto outcome = co_await fetch_once(context, url, kind, max_bytes, deadline, cached_id);
    // A leader whose caller went away fetched nothing worth sharing: the others fetch anew.
    const auto state = co_await net::this_coro::cancellation_state;
    if (state.cancelled() == net::cancellation_type::none) lead.land(outcome);
    co_return outcome;
  }

  auto [end, shared] = co_await wait_for_flight(*context.flights, std::move(f), deadline);
  if (end == wait_end::timed_out) {
    co_return api_error{error_kind::fetch_failed,
                        std::string(url_field(kind)) +
                            ": fetch timed out (waiting for the same URL's fetch in progress)",
                        std::nullopt};
  }
  if (end == wait_end::landed) {
    if (!*shared || !shared->value().not_modified) co_return std::move(*shared);
    // A 304 stands for an id of the leader's OPPO app: this caller needs its own.
    fetched_image& image = shared->value();
    if (auto id = cached_id ? cached_id(image.sha256_hex) : std::nullopt) {
      image.picture_id = std::move(id);
      co_return std::move(*shared);
    }
  }
  co_return co_await fetch_once(context, url, kind, max_bytes, deadline, cached_id);
}

}  // namespace image_gateway
