#include "image_gateway/oppo/oppo_client.hpp"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <random>
#include <utility>

#include "image_gateway/http_client/async_perform.hpp"

namespace image_gateway::oppo {

namespace {

namespace asio = boost::asio;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// What one upload attempt came to.
struct verdict {
  enum class kind { uploaded, token_bad, transient, final } what;
  std::string picture_id;            // uploaded
  std::optional<oppo_failure> oppo;  // token_bad
  std::optional<api_error> error;    // transient, final
  std::string_view outcome;          // for the breaker and the metrics (call_report)
};

verdict final_error(std::string_view outcome, error_kind kind, std::string detail) {
  return verdict{
      verdict::kind::final, {}, std::nullopt, api_error{kind, std::move(detail), {}}, outcome};
}

verdict transient_error(std::string_view outcome, std::string detail) {
  return verdict{verdict::kind::transient,
                 {},
                 std::nullopt,
                 api_error{error_kind::upstream_unavailable, std::move(detail), {}},
                 outcome};
}

verdict judge(const http_response& response, image_kind kind, long long timeout_ms,
              const std::string& what) {
  switch (response.status) {
    case transfer_status::ok:
      break;
    case transfer_status::timed_out:
      return transient_error(
          "timeout", "OPPO timed out after " + std::to_string(timeout_ms) + " ms on " + what);
    case transfer_status::dns_failed:
    case transfer_status::connect_failed:
    case transfer_status::tls_failed:
    case transfer_status::failed:
      return transient_error(
          "unreachable",
          "OPPO could not be reached for " + what +
              (response.error_detail.empty() ? std::string() : ": " + response.error_detail));
    case transfer_status::too_large:
      return final_error("bad_answer", error_kind::upstream_bad_answer,
                         "OPPO's answer to " + what + " is larger than 64 KiB");
    case transfer_status::cancelled:
      return final_error("cancelled", error_kind::upstream_unavailable, what + " was cancelled");
    default:
      return final_error(
          "failed", error_kind::upstream_unavailable,
          "OPPO could not be used for " + what +
              (response.error_detail.empty() ? std::string() : ": " + response.error_detail));
  }

  // OPPO's JSON code decides, whatever the HTTP status.
  auto parsed = parse_upload_answer(response.body, kind);
  if (auto* id = std::get_if<std::string>(&parsed)) {
    return verdict{verdict::kind::uploaded, std::move(*id), std::nullopt, std::nullopt, "ok"};
  }
  if (auto* failure = std::get_if<oppo_failure>(&parsed)) {
    switch (classify(failure->code)) {
      case code_class::token_bad:
        return verdict{
            verdict::kind::token_bad, {}, std::move(*failure), std::nullopt, "token_rejected"};
      case code_class::transient:
        return verdict{verdict::kind::transient,
                       {},
                       std::nullopt,
                       error_for_oppo_failure(*failure, what),
                       "throttled"};
      case code_class::credentials:
        return verdict{verdict::kind::final,
                       {},
                       std::nullopt,
                       error_for_oppo_failure(*failure, what),
                       "credentials"};
      default:
        return verdict{verdict::kind::final,
                       {},
                       std::nullopt,
                       error_for_oppo_failure(*failure, what),
                       "rejected"};
    }
  }
  const auto& failure = std::get<parse_failure>(parsed);
  if (response.http_status >= 500) {
    return transient_error(
        "http_5xx", "OPPO answered HTTP " + std::to_string(response.http_status) + " to " + what);
  }
  return final_error("bad_answer", error_kind::upstream_bad_answer,
                     "OPPO's answer to " + what + " could not be read (HTTP " +
                         std::to_string(response.http_status) + "): " + failure.detail);
}

milliseconds backoff(int retry) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto ceiling =
      std::min(oppo_client::backoff_cap, oppo_client::backoff_base * (1 << std::min(retry, 20)));
  std::uniform_int_distribution<long long> pick(0, ceiling.count());
  return milliseconds(pick(random));
}

api_error out_of_time(const std::optional<api_error>& last) {
  std::string detail = "OPPO did not answer within the request deadline";
  if (last) detail += " (last attempt: " + last->detail + ")";
  // When OPPO's last answer was a throttling code, that code is what outlasted the retries.
  return api_error{error_kind::upstream_unavailable, std::move(detail),
                   last ? last->upstream : std::nullopt};
}

milliseconds time_left(steady_time deadline) {
  return duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
}

api_error circuit_open(const circuit_breaker& breaker, std::string_view calls,
                       std::chrono::milliseconds retry_in) {
  return api_error{error_kind::upstream_unavailable,
                   "OPPO circuit open: " + std::string(calls) + " are suspended after " +
                       std::to_string(breaker.settings().failure_threshold) +
                       " transient failures in a row; next try in " +
                       std::to_string(retry_in.count()) + " ms",
                   std::nullopt};
}

}  // namespace

oppo_client::oppo_client(http_client& client, const oppo_config& settings, clock_fn clock,
                         const circuit_settings& circuit)
    : client_(client),
      settings_(settings),
      tokens_(client, settings, std::move(clock), circuit),
      upload_breaker_(breaker_options(circuit, settings.timeout), circuit.clock) {}

void oppo_client::set_observer(call_observer observer) {
  tokens_.set_observer(observer);
  observer_ = std::move(observer);
}

asio::awaitable<result<std::string>> oppo_client::upload(const oppo_credentials& credentials,
                                                         image_kind kind, shared_bytes bytes,
                                                         image_format format, steady_time deadline,
                                                         trace_context trace) {
  // Copies: the caller's references need not outlive a suspension.
  const oppo_credentials creds = credentials;
  const std::string what = "the upload of " + std::string(kind_name(kind));
  const auto executor = co_await asio::this_coro::executor;

  std::string refused;  // the token OPPO answered 11/29 to, once
  bool token_retried = false;
  int retries = 0;
  std::optional<api_error> last_error;

  for (;;) {
    if (time_left(deadline) < milliseconds(1)) co_return out_of_time(last_error);

    result<std::string> token = co_await tokens_.get(creds, refused, deadline, trace);
    if (token.ok()) {
      const milliseconds remaining = time_left(deadline);
      if (remaining < milliseconds(1)) co_return out_of_time(last_error);
      const circuit_breaker::admission admitted = upload_breaker_.allow();
      if (!admitted.allowed) {
        if (observer_) observer_(call_report{"upload", "circuit_open", {}, 0});
        co_return circuit_open(upload_breaker_, "uploads", admitted.retry_in);
      }

      http_request request;
      request.method = "POST";
      request.url = upload_url(settings_.media_base_url, kind);
      request.headers = {"Accept: application/json"};
      add_trace_headers(request.headers, trace);
      request.form.push_back(form_part{"auth_token", token.value(), {}, {}, {}});
      request.form.push_back(
          form_part{"picture_ttl", std::to_string(settings_.picture_ttl_s), {}, {}, {}});
      request.form.push_back(
          form_part{"file",
                    {},
                    bytes,
                    std::string(kind_name(kind)) + std::string(file_extension(format)),
                    std::string(mime_type(format))});
      request.total_timeout = std::min(settings_.timeout, remaining);
      request.connect_timeout = std::min(settings_.connect_timeout, request.total_timeout);
      request.max_response_bytes = max_answer_bytes;
      request.max_redirects = 0;  // never follow a redirect with a token
      request.proxy = settings_.proxy;
      const long long timeout_ms = request.total_timeout.count();

      upload_attempts_.fetch_add(1, std::memory_order_relaxed);
      const auto started = std::chrono::steady_clock::now();
      const http_response response = co_await async_perform(client_, std::move(request));
      verdict outcome = judge(response, kind, timeout_ms, what);
      if (outcome.outcome == "cancelled") {
        upload_breaker_.record_abandoned(admitted.probe);
      } else if (is_transient_outcome(outcome.outcome)) {
        upload_breaker_.record_failure();
      } else {
        upload_breaker_.record_success();  // OPPO answered: it is up, whatever it said
      }
      if (observer_) {
        observer_(call_report{
            "upload", outcome.outcome,
            duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started),
            response.connections_opened});
      }
      switch (outcome.what) {
        case verdict::kind::uploaded:
          co_return std::move(outcome.picture_id);
        case verdict::kind::token_bad:
          if (!token_retried) {
            // One fresh token and one more try, outside the transient retry budget.
            token_retried = true;
            refused = token.value();
            token_retries_.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          co_return error_for_oppo_failure(*outcome.oppo, what);
        case verdict::kind::final:
          co_return std::move(*outcome.error);
        case verdict::kind::transient:
          last_error = std::move(outcome.error);
          break;
      }
    } else if (token.error().kind == error_kind::upstream_unavailable) {
      last_error = token.take_error();  // auth unreachable or throttled: transient too
    } else {
      co_return token.take_error();
    }

    // A transient failure: back off and try again, if the budget, the deadline and the
    // breakers allow (an open breaker would refuse the next try anyway: fail now).
    if (upload_breaker_.refusing() || tokens_.circuit().refusing()) {
      api_error error = std::move(*last_error);
      error.detail += " (OPPO circuit now open, not retried)";
      co_return error;
    }
    if (retries >= settings_.retries) {
      api_error error = std::move(*last_error);
      if (retries > 0) error.detail += " (after " + std::to_string(retries + 1) + " attempts)";
      co_return error;
    }
    const milliseconds pause = backoff(retries);
    if (time_left(deadline) <= pause) co_return out_of_time(last_error);
    ++retries;
    transient_retries_.fetch_add(1, std::memory_order_relaxed);
    asio::steady_timer timer(executor, pause);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::move(*last_error);  // cancelled while waiting
  }
}

}  // namespace image_gateway::oppo
