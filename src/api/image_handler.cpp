// POST /v4/image/oppo: the pipeline from a caller's URLs to OPPO picture ids.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dry_run.hpp"
#include "gateway_impl.hpp"
#include "image_gateway/api/image_request.hpp"
#include "image_gateway/api/multipart_form.hpp"
#include "image_gateway/image/image_check.hpp"
#include "image_gateway/util/sha256.hpp"

namespace image_gateway {
namespace {

namespace net = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using steady_time = std::chrono::steady_clock::time_point;

// One image of the request as it moves through the stages.
struct image_job {
  image_kind kind;
  std::string url;         // empty when the bytes came in a multipart body
  std::string_view field;  // what details name: "big_picture_url", or "big_picture" (multipart)
  const image_rule* rule = nullptr;
  std::optional<result<fetched_image>> fetched;
  shared_bytes bytes;  // fetched, or a view into the request body: never copied
  std::optional<image_facts> facts;
  std::string digest;
  std::optional<std::string> picture_id;  // from the cache or the upload
  bool from_cache = false;
};

std::string format_rate(double per_second) {
  std::ostringstream text;
  text << per_second;
  return text.str();
}

// Decode threads yield the CPU to I/O threads: where they share a core (one CPU, or a pinned
// process) a decode must not keep /healthz or a 401 waiting for a time slice. SCHED_IDLE runs
// a thread only when no normal thread wants the CPU (nice 10 alone still let a decode delay
// an I/O thread by milliseconds); lowering a policy needs no privilege. Linux applies both to
// the calling thread only: once per pool thread. Best effort: a failure leaves the default.
void lower_decode_thread_priority() {
  thread_local bool lowered = false;
  if (lowered) return;
  lowered = true;
  const sched_param idle_param{};
  if (::sched_setscheduler(0, SCHED_IDLE, &idle_param) == 0) return;
  constexpr int decode_niceness = 10;
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), decode_niceness);
}

// Decoding takes milliseconds of CPU, so it runs on the decode pool, never on an I/O thread;
// the awaiting coroutine resumes on its own executor. (A plain handler, not a lambda coroutine:
// GCC 12 mishandles the captures of a coroutine lambda handed to co_spawn.)
template <class Token>
auto async_verify_decode(net::thread_pool& pool, shared_bytes bytes, std::string_view field,
                         Token&& token) {
  return net::async_initiate<Token, void(std::optional<api_error>)>(
      [&pool](auto handler, shared_bytes image, std::string_view which) {
        auto resume_on = net::get_associated_executor(handler);
        auto work = net::make_work_guard(resume_on);
        net::post(pool, [handler = std::move(handler), work = std::move(work),
                         image = std::move(image), which]() mutable {
          lower_decode_thread_priority();
          std::optional<api_error> problem = verify_decode(image.span(), which);
          auto executor = work.get_executor();
          net::dispatch(executor, [handler = std::move(handler), work = std::move(work),
                                   problem = std::move(problem)]() mutable {
            std::move(handler)(std::move(problem));
          });
        });
      },
      token, std::move(bytes), field);
}

}  // namespace

result<const app_config*> gateway::impl::check_caller(const api_request& request,
                                                      request_trace& trace) {
  const app_config* app = apps.authenticate(request.header("authorization"));
  if (app == nullptr) {
    return api_error{error_kind::unauthorized, std::string(unauthorized_detail), std::nullopt};
  }
  trace.app_key = app->app_key;
  if (app->rate_limit_per_s > 0) {
    const auto decision =
        shared_limiter
            ? shared_limiter->take_local(app->app_key, app->rate_limit_per_s)
            : limiter.take(app->app_key, app->rate_limit_per_s, std::chrono::steady_clock::now());
    if (auto refused = judge_rate(*app, decision, trace)) return std::move(*refused);
  }
  return app;
}

std::optional<api_error> gateway::impl::judge_rate(const app_config& app,
                                                   const rate_limiter::decision& decision,
                                                   request_trace& trace) {
  trace.rate = decision;
  if (decision.allowed) return std::nullopt;
  stats.rate_limited.add({app.app_key});
  return api_error{error_kind::rate_limited,
                   "app " + app.app_key + " is over its limit of " +
                       format_rate(app.rate_limit_per_s) + " requests per second",
                   std::nullopt};
}

net::awaitable<api_response> gateway::impl::serve_shared_limit(api_request request,
                                                               request_trace trace,
                                                               const app_config* app,
                                                               in_flight_slot slot,
                                                               steady_time started) {
  const rate_limiter::decision decision =
      co_await shared_limiter->take(app->app_key, app->rate_limit_per_s);
  if (auto refused = judge_rate(*app, decision, trace)) {
    co_return finish(request, trace, trace.fail(*refused), route::image_upload, started);
  }
  auto parsed = admit_body(request, app);
  if (!parsed) {
    co_return finish(request, trace, trace.fail(parsed.error()), route::image_upload, started);
  }
  // A named request, not a temporary inside the co_await: upload_images keeps a reference to
  // it across suspensions (GCC 12 does not keep such a temporary alive).
  const admitted_request admitted = std::move(parsed).value();
  api_response response = co_await upload_images(admitted, trace);
  co_return finish(request, trace, std::move(response), route::image_upload, started);
}

result<admitted_request> gateway::impl::admit(api_request& request, request_trace& trace) {
  auto caller = check_caller(request, trace);
  if (!caller) return caller.take_error();
  return admit_body(request, caller.value());
}

result<admitted_request> gateway::impl::admit_body(api_request& request, const app_config* app) {
  auto options = parse_request_options(request.target);
  if (!options) return options.take_error();
  const std::string_view content_type = request.header("content-type");
  if (is_multipart_form_data(content_type)) {
    // The body moves (no byte is copied) to where the image parts' views can share it.
    auto form = parse_image_form(std::make_shared<const std::string>(std::move(request.body)),
                                 content_type);
    if (!form) return form.take_error();
    return admitted_request{app, {}, std::move(form).value(), options.value()};
  }
  auto parsed = parse_image_request(request.body);
  if (!parsed) return parsed.take_error();
  return admitted_request{app, std::move(parsed).value(), std::nullopt, options.value()};
}

net::awaitable<api_response> gateway::impl::serve_upload(api_request request, request_trace trace,
                                                         admitted_request admitted,
                                                         in_flight_slot slot, steady_time started) {
  api_response response = co_await upload_images(admitted, trace);
  co_return finish(request, trace, std::move(response), route::image_upload, started);
}

net::awaitable<api_response> gateway::impl::upload_images(const admitted_request& admitted,
                                                          request_trace& trace) {
  const app_config* app = admitted.app;
  const image_request& asked = admitted.asked;
  const steady_time deadline = std::chrono::steady_clock::now() + settings.server.request_deadline;

  const image_form* form = admitted.form ? &*admitted.form : nullptr;
  std::vector<image_job> jobs;
  for (const image_kind kind : all_image_kinds) {
    if (form != nullptr ? !form->image(kind) : !asked.url(kind)) continue;
    image_job& job = jobs.emplace_back();
    job.kind = kind;
    job.rule = kind == image_kind::big ? &settings.images.big : &settings.images.small;
    if (form != nullptr) {
      job.field = part_field(kind);
      job.bytes = form->image_bytes(kind);
    } else {
      job.field = url_field(kind);
      job.url = *asked.url(kind);
    }
  }

  // Stage: fetch, both at once (bytes that came in the body need none).
  const auto fetch_job = [&](image_job& job) {
    return fetch_counted(job.url, job.kind, job.rule->max_bytes, deadline);
  };
  if (form == nullptr) {
    if (jobs.size() == 2) {
      auto [first, second] = co_await (fetch_job(jobs[0]) && fetch_job(jobs[1]));
      jobs[0].fetched.emplace(std::move(first));
      jobs[1].fetched.emplace(std::move(second));
    } else {
      jobs[0].fetched.emplace(co_await fetch_job(jobs[0]));
    }
    for (image_job& job : jobs) {
      if (!*job.fetched) co_return trace.fail(job.fetched->error());
      job.bytes = job.fetched->value().bytes;
      trace.bytes_fetched += job.bytes.size();
    }
  }

  // Stage: image checks on the header, then the cache, then a full decode for what is new.
  for (image_job& job : jobs) {
    auto facts = inspect_image(job.bytes.span(), *job.rule, job.field);
    if (!facts) co_return trace.fail(facts.error());
    job.facts = facts.value();
  }
  // The cache key hashes the whole image: skipped when the cache is off (a dry run reports
  // the digest all the same).
  const bool caching = settings.cache.max_entries > 0;
  const bool dry_run = admitted.options.dry_run;
  const auto now = std::chrono::steady_clock::now();
  for (image_job& job : jobs) {
    if (!caching && !dry_run) continue;
    job.digest = sha256_hex(job.bytes.view());
    if (!caching) continue;
    const upload_key key{job.digest, job.kind, app->oppo.app_key};
    // With Redis, a local miss asks Redis (an id another replica uploaded). (No co_await inside
    // ?: : GCC 12 destroys its temporary twice.)
    job.picture_id = uploads.find(key, now);
    if (!job.picture_id && redis) job.picture_id = co_await flights->find(key);
    job.from_cache = job.picture_id.has_value();
    if (!dry_run) stats.cache_lookups.add({job.from_cache ? "hit" : "miss"});
  }
  if (settings.images.verify_decode) {
    for (image_job& job : jobs) {
      if (job.from_cache) continue;  // those bytes were verified before they were uploaded
      if (auto problem =
              co_await async_verify_decode(decode_pool, job.bytes, job.field, net::use_awaitable)) {
        co_return trace.fail(*problem);
      }
    }
  }

  // A dry run stops before the upload (and before any token): the facts of each image.
  if (dry_run) {
    std::vector<dry_run_image> checked;
    for (const image_job& job : jobs) {
      checked.push_back({job.kind, *job.facts, job.bytes.size(), job.digest, job.from_cache});
    }
    api_response response;
    response.body = dry_run_body(checked);
    co_return response;
  }

  // Stage: upload what the cache did not have, both at once.
  std::vector<image_job*> to_upload;
  for (image_job& job : jobs) {
    if (!job.from_cache) to_upload.push_back(&job);
  }
  // Ids are kept while OPPO keeps the picture, less an hour; the same new image asked for by
  // several requests at once (here, or on other replicas with Redis) is uploaded once.
  const long long ttl_s = settings.oppo.picture_ttl_s;
  const auto keep_for = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::seconds(ttl_s) - std::chrono::hours(1));
  const auto upload = [&](image_job& job) -> net::awaitable<result<std::string>> {
    const auto send = [&job, app, deadline, this] {
      return oppo.upload(app->oppo, job.kind, job.bytes, job.facts->format, deadline);
    };
    if (!caching) return send();
    return flights->upload_once({job.digest, job.kind, app->oppo.app_key}, deadline, keep_for,
                                send);
  };
  std::vector<result<std::string>> uploaded;
  const auto upload_started = std::chrono::steady_clock::now();
  if (to_upload.size() == 2) {
    auto [first, second] = co_await (upload(*to_upload[0]) && upload(*to_upload[1]));
    uploaded.push_back(std::move(first));
    uploaded.push_back(std::move(second));
  } else if (to_upload.size() == 1) {
    uploaded.push_back(co_await upload(*to_upload[0]));
  }
  trace.upstream_time = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - upload_started);

  // Every id OPPO gave was kept (upload_once), even when the other upload failed: the next
  // try reuses it.
  for (std::size_t i = 0; i < to_upload.size(); ++i) {
    if (uploaded[i]) to_upload[i]->picture_id = uploaded[i].value();
  }
  for (std::size_t i = 0; i < to_upload.size(); ++i) {
    if (!uploaded[i]) co_return trace.fail(uploaded[i].error());
  }

  nlohmann::json body = nlohmann::json::object();
  for (const image_job& job : jobs) body[std::string(id_field(job.kind))] = *job.picture_id;
  trace.cache = to_upload.empty() ? "hit" : "miss";
  api_response response;
  response.body = body.dump();
  response.with_header("X-Cache", trace.cache);
  co_return response;
}

net::awaitable<result<fetched_image>> gateway::impl::fetch_counted(std::string url, image_kind kind,
                                                                   std::size_t max_bytes,
                                                                   steady_time deadline) {
  const auto started = std::chrono::steady_clock::now();
  auto fetched =
      co_await fetch_image(fetch_transport, fetch, std::move(url), kind, max_bytes, deadline);
  stats.fetch_duration.observe(
      {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (fetched) {
    stats.fetches.add({"ok"});
    stats.fetched_bytes.add({}, static_cast<double>(fetched.value().bytes->size()));
  } else {
    stats.fetches.add({std::string(to_string(fetched.error().kind))});
  }
  co_return fetched;
}

}  // namespace image_gateway
