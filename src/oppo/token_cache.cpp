#include "image_gateway/oppo/token_cache.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "image_gateway/http_client/async_perform.hpp"
#include "image_gateway/util/jitter.hpp"
#include "image_gateway/util/random_hex.hpp"

namespace image_gateway::oppo {

namespace {

namespace asio = boost::asio;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Buffered (capacity 1), so a wake-up sent before the waiter starts receiving is not lost.
using wake_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

// One refresh in progress and the callers waiting for it.
struct flight {
  bool done = false;
  bool abandoned = false;  // the refresher was cancelled or destroyed: waiters start over
  std::optional<result<std::string>> outcome;
  std::vector<std::shared_ptr<wake_channel>> waiters;
};

struct entry {
  std::string token;
  system_time expires_at{};
  std::optional<system_time> last_success;
  std::optional<system_time> last_failure;
  std::shared_ptr<flight> running;
};

// A token that may serve: present, not expired, not the one OPPO just refused.
bool usable(std::string_view token, system_time expires_at, std::string_view refused,
            system_time now) {
  return !token.empty() && expires_at > now && token != refused;
}

bool usable(const entry& e, std::string_view refused, system_time now) {
  return usable(e.token, e.expires_at, refused, now);
}

api_error unavailable(std::string detail) {
  return api_error{error_kind::upstream_unavailable, std::move(detail), std::nullopt};
}

struct auth_outcome {
  std::optional<result<auth_token>> token;  // empty when the call was cancelled
  bool attempted = true;                    // false: no time was left to call OPPO at all
};

}  // namespace

struct token_cache::impl {
  impl(http_client& c, oppo_config s, clock_fn k, const circuit_settings& circuit)
      : client(c),
        settings(std::move(s)),
        clock(std::move(k)),
        breaker(breaker_options(circuit, settings.timeout), circuit.clock) {
    if (!clock) clock = [] { return std::chrono::system_clock::now(); };
  }

  http_client& client;
  const oppo_config settings;
  clock_fn clock;
  std::atomic<std::uint64_t> refreshes{0};
  circuit_breaker breaker;
  call_observer observer;

  void report(std::string_view outcome, std::chrono::steady_clock::time_point started,
              std::size_t connections_opened) {
    if (!observer) return;
    observer(call_report{
        "auth", outcome,
        duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started),
        connections_opened});
  }

  std::mutex mutex;
  std::unordered_map<std::string, entry> entries;  // by OPPO app key

  // Ends a flight: records its outcome, detaches it from the entry and wakes its waiters.
  void finish(const std::string& key, const std::shared_ptr<flight>& f,
              std::optional<result<std::string>> outcome) {
    std::vector<std::shared_ptr<wake_channel>> waiters;
    {
      std::lock_guard lock(mutex);
      if (f->done) return;
      f->done = true;
      f->abandoned = !outcome.has_value();
      f->outcome = std::move(outcome);
      waiters.swap(f->waiters);
      auto it = entries.find(key);
      if (it != entries.end() && it->second.running == f) it->second.running.reset();
    }
    for (auto& waiter : waiters) waiter->try_send(boost::system::error_code{});
  }

  asio::awaitable<auth_outcome> call_auth(const oppo_credentials& credentials, steady_time deadline,
                                          const trace_context& trace);

  token_store* shared = nullptr;
  // A token for the one local refresher: from the shared store when it has a good one, else
  // from OPPO under the store's lock; from OPPO alone when there is no store or it fails.
  asio::awaitable<auth_outcome> obtain(const oppo_credentials& credentials, std::string refused,
                                       steady_time deadline, const trace_context& trace);
};

namespace {
bool good_shared(const std::optional<auth_token>& t, std::string_view refused, system_time now) {
  return t && usable(t->token, t->expires_at, refused, now);
}

// Good, and not yet inside the refresh_ahead window: it serves without any auth call.
bool not_due(const std::optional<auth_token>& t, std::string_view refused, system_time now) {
  return good_shared(t, refused, now) && t->expires_at - now > token_cache::refresh_ahead;
}

std::string owner_id() { return random_hex(16); }
}  // namespace

asio::awaitable<auth_outcome> token_cache::impl::obtain(const oppo_credentials& credentials,
                                                        std::string refused, steady_time deadline,
                                                        const trace_context& trace) {
  if (shared == nullptr) co_return co_await call_auth(credentials, deadline, trace);
  const std::string& key = credentials.app_key;
  token_store::loaded seen = co_await shared->load(key);
  if (seen.outcome == token_store::status::failed)
    co_return co_await call_auth(credentials, deadline, trace);
  // Another replica's token, not the refused one and not yet due: no auth call at all.
  if (not_due(seen.token, refused, clock())) {
    co_return auth_outcome{result<auth_token>(*seen.token)};
  }
  const std::string owner = owner_id();
  const auto lock_ttl = settings.timeout + std::chrono::seconds(1);
  std::chrono::milliseconds pause{10};
  const auto executor = co_await asio::this_coro::executor;
  for (;;) {
    const token_store::lock_result locked = co_await shared->lock(key, owner, lock_ttl);
    if (locked == token_store::lock_result::failed)
      co_return co_await call_auth(credentials, deadline, trace);
    if (locked == token_store::lock_result::acquired) {
      // Someone may have stored a new token between our look and our lock.
      token_store::loaded again = co_await shared->load(key);
      if (not_due(again.token, refused, clock())) {
        co_await shared->unlock(key, owner);
        co_return auth_outcome{result<auth_token>(*again.token)};
      }
      auth_outcome fresh = co_await call_auth(credentials, deadline, trace);
      if (fresh.token && fresh.token->ok()) {
        std::optional<auth_token> kept = co_await shared->store(key, fresh.token->value(), refused);
        if (good_shared(kept, refused, clock())) fresh.token.emplace(std::move(*kept));
      }
      co_await shared->unlock(key, owner);
      co_return fresh;
    }
    // Another replica refreshes. A token still valid for us serves meanwhile.
    if (good_shared(seen.token, refused, clock()))
      co_return auth_outcome{result<auth_token>(*seen.token)};
    const auto wait = jittered(pause);
    if (deadline - std::chrono::steady_clock::now() <= wait) {
      co_return auth_outcome{
          unavailable("another replica's OPPO auth call did not end within "
                      "the request deadline")};
    }
    asio::steady_timer timer(executor, wait);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return auth_outcome{};  // cancelled
    pause = std::min(pause * 2, std::chrono::milliseconds(200));
    seen = co_await shared->load(key);
    if (seen.outcome == token_store::status::failed)
      co_return co_await call_auth(credentials, deadline, trace);
    if (good_shared(seen.token, refused, clock()))
      co_return auth_outcome{result<auth_token>(*seen.token)};
  }
}

asio::awaitable<auth_outcome> token_cache::impl::call_auth(const oppo_credentials& credentials,
                                                           steady_time deadline,
                                                           const trace_context& trace) {
  const auto remaining = duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  if (remaining < milliseconds(1)) {
    co_return auth_outcome{unavailable("OPPO did not answer within the request deadline"), false};
  }

  const circuit_breaker::admission admitted = breaker.allow();
  if (!admitted.allowed) {
    report("circuit_open", std::chrono::steady_clock::now(), 0);
    co_return auth_outcome{unavailable("OPPO auth calls are suspended after " +
                                       std::to_string(breaker.settings().failure_threshold) +
                                       " transient failures in a row (circuit open; next try in " +
                                       std::to_string(admitted.retry_in.count()) + " ms)")};
  }

  http_request request;
  request.method = "POST";
  request.url = auth_url(settings.auth_base_url);
  request.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
  add_trace_headers(request.headers, trace);
  const auto now_ms = duration_cast<milliseconds>(clock().time_since_epoch()).count();
  request.body = auth_form_body(credentials.app_key, credentials.master_secret, now_ms);
  request.total_timeout = std::min(settings.timeout, remaining);
  request.connect_timeout = std::min(settings.connect_timeout, request.total_timeout);
  request.max_response_bytes = token_cache::max_answer_bytes;
  request.max_redirects = 0;
  request.proxy = settings.proxy;
  const auto timeout_ms = request.total_timeout.count();

  refreshes.fetch_add(1, std::memory_order_relaxed);
  const auto started = std::chrono::steady_clock::now();
  const http_response response = co_await async_perform(client, std::move(request));
  const system_time arrival = clock();

  // Every way out names its outcome: the breaker and the observer hear of it.
  const auto settle = [&](std::string_view outcome, auth_outcome answer) {
    if (outcome == "cancelled") {
      breaker.record_abandoned(admitted.probe);
    } else if (is_transient_outcome(outcome)) {
      breaker.record_failure();
    } else {
      breaker.record_success();  // OPPO answered: it is up, whatever it said
    }
    report(outcome, started, response.connections_opened);
    return answer;
  };

  switch (response.status) {
    case transfer_status::ok:
      break;
    case transfer_status::cancelled:
      co_return settle("cancelled", auth_outcome{});
    case transfer_status::timed_out:
      co_return settle("timeout", auth_outcome{unavailable("OPPO auth timed out after " +
                                                           std::to_string(timeout_ms) + " ms")});
    case transfer_status::too_large:
      co_return settle(
          "bad_answer",
          auth_outcome{api_error{error_kind::upstream_bad_answer,
                                 "OPPO's auth answer is larger than 64 KiB", std::nullopt}});
    default:
      co_return settle(
          "unreachable",
          auth_outcome{unavailable(
              "OPPO auth could not be reached" +
              (response.error_detail.empty() ? std::string() : ": " + response.error_detail))});
  }

  auto parsed = parse_auth_answer(response.body, arrival);
  if (auto* token = std::get_if<auth_token>(&parsed)) {
    co_return settle("ok", auth_outcome{std::move(*token)});
  }
  if (auto* failure = std::get_if<oppo_failure>(&parsed)) {
    switch (classify(failure->code)) {
      case code_class::transient:
        co_return settle("throttled",
                         auth_outcome{error_for_oppo_failure(*failure, "the auth call")});
      case code_class::credentials:
        co_return settle("credentials",
                         auth_outcome{error_for_oppo_failure(*failure, "the auth call")});
      default:
        // Any other refusal of the auth call is about our own request, never the caller's.
        co_return settle(
            "credentials",
            auth_outcome{api_error{
                error_kind::upstream_credentials,
                "OPPO refused the gateway's auth call (code " + std::to_string(failure->code) +
                    (failure->message.empty() ? "" : ": " + failure->message) + ")",
                upstream_status{failure->code, failure->message}}});
    }
  }
  const auto& failure = std::get<parse_failure>(parsed);
  if (response.http_status >= 500) {
    co_return settle("http_5xx", auth_outcome{unavailable("OPPO auth answered HTTP " +
                                                          std::to_string(response.http_status))});
  }
  co_return settle(
      "bad_answer",
      auth_outcome{api_error{error_kind::upstream_bad_answer,
                             "OPPO's auth answer could not be read (HTTP " +
                                 std::to_string(response.http_status) + "): " + failure.detail,
                             std::nullopt}});
}

token_cache::token_cache(http_client& client, const oppo_config& settings, clock_fn clock,
                         const circuit_settings& circuit)
    : impl_(std::make_shared<impl>(client, settings, std::move(clock), circuit)) {}

token_cache::~token_cache() = default;

std::uint64_t token_cache::refresh_count() const {
  return impl_->refreshes.load(std::memory_order_relaxed);
}

void token_cache::set_observer(call_observer observer) { impl_->observer = std::move(observer); }

void token_cache::set_shared_store(token_store* store) { impl_->shared = store; }

const circuit_breaker& token_cache::circuit() const { return impl_->breaker; }

asio::awaitable<result<std::string>> token_cache::get(const oppo_credentials& credentials,
                                                      std::string_view refused_view,
                                                      steady_time deadline, trace_context trace) {
  // Copies: the coroutine outlives the caller's arguments across suspensions.
  const std::shared_ptr<impl> self = impl_;
  const oppo_credentials creds = credentials;
  const std::string refused(refused_view);
  const std::string& key = creds.app_key;
  const auto executor = co_await asio::this_coro::executor;

  for (;;) {
    std::optional<std::string> answer;
    std::shared_ptr<flight> waiting_on;
    std::shared_ptr<wake_channel> channel;
    std::shared_ptr<flight> mine;
    {
      std::lock_guard lock(self->mutex);
      entry& e = self->entries[key];
      const system_time now = self->clock();
      const bool good = usable(e, refused, now);
      const bool refresh_due =
          !good || (e.expires_at - now <= refresh_ahead &&
                    !(e.last_success && now - *e.last_success < refresh_pause_after_success) &&
                    !(e.last_failure && now - *e.last_failure < retry_pause_after_failure));
      if (!refresh_due || (good && e.running)) {
        answer = e.token;  // fresh, recently refreshed, or someone else refreshes it ahead
      } else if (e.running) {
        waiting_on = e.running;
        channel = std::make_shared<wake_channel>(executor, 1);
        waiting_on->waiters.push_back(channel);
      } else {
        mine = std::make_shared<flight>();
        e.running = mine;
      }
    }
    if (answer) co_return std::move(*answer);

    if (mine) {
      // We refresh. If we are unwound before the end, the waiters start over.
      struct abandon_on_exit {
        impl* owner;
        const std::string& key;
        std::shared_ptr<flight> f;
        ~abandon_on_exit() {
          if (f) owner->finish(key, f, std::nullopt);
        }
      } guard{self.get(), key, mine};

      auth_outcome fresh = co_await self->obtain(creds, refused, deadline, trace);
      std::optional<result<std::string>> for_waiters;
      std::optional<result<std::string>> for_me;
      {
        std::lock_guard lock(self->mutex);
        entry& e = self->entries[key];
        const system_time now = self->clock();
        if (fresh.token && fresh.token->ok()) {
          e.token = fresh.token->value().token;
          e.expires_at = fresh.token->value().expires_at;
          e.last_success = now;
          e.last_failure.reset();
          for_waiters = result<std::string>(e.token);
          for_me = for_waiters;
        } else if (fresh.token) {
          // A token still valid (only due for an early refresh) keeps serving.
          for_me = usable(e, refused, now) ? result<std::string>(e.token)
                                           : result<std::string>(fresh.token->error());
          // Without a call (our deadline had passed), waiters with more time start over.
          if (fresh.attempted) {
            e.last_failure = now;
            for_waiters = result<std::string>(fresh.token->error());
          }
        } else {
          for_me = result<std::string>(unavailable("the OPPO auth call was cancelled"));
        }
      }
      guard.f.reset();
      self->finish(key, mine, std::move(for_waiters));
      co_return std::move(*for_me);
    }

    // Someone else refreshes: wait for the wake-up, our deadline or our cancellation.
    asio::steady_timer timer(executor, deadline);
    co_await asio::experimental::make_parallel_group(channel->async_receive(asio::deferred),
                                                     timer.async_wait(asio::deferred))
        .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);

    std::lock_guard lock(self->mutex);
    if (!waiting_on->done) {
      auto& waiters = waiting_on->waiters;
      waiters.erase(std::remove(waiters.begin(), waiters.end(), channel), waiters.end());
      if (std::chrono::steady_clock::now() >= deadline) {
        co_return unavailable("OPPO auth did not answer within the request deadline");
      }
      co_return unavailable("cancelled while waiting for an OPPO auth token");
    }
    if (waiting_on->abandoned) continue;  // the refresher went away: try again
    if (waiting_on->outcome->ok()) co_return *waiting_on->outcome;
    // The refresh failed; a token still valid for us (say, another caller refused a different
    // one) is better than the failure.
    const entry& e = self->entries[key];
    if (usable(e, refused, self->clock())) co_return e.token;
    co_return *waiting_on->outcome;
  }
}

}  // namespace image_gateway::oppo
