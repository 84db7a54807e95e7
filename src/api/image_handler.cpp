// POST /v4/image/oppo: the pipeline from a caller's URLs to OPPO picture ids.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <sstream>

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dry_run.hpp"
#include "gateway_impl.hpp"
#include "image_gateway/api/image_request.hpp"
#include "image_gateway/api/multipart_form.hpp"
#include "image_gateway/image/fit.hpp"
#include "image_gateway/image/image_check.hpp"
#include "image_gateway/log/json_writer.hpp"
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
  std::optional<fitted_image> upload;  // what goes to OPPO: the source, or its fitted encoding
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

// Decoding and fitting take milliseconds of CPU, so they run on the decode pool, never on an I/O
// thread; the awaiting coroutine resumes on its own executor. (A plain handler, not a lambda
// coroutine: GCC 12 mishandles the captures of a coroutine lambda handed to co_spawn.)
template <class Token>
auto async_prepare_upload(net::thread_pool& pool, shared_bytes bytes, image_facts facts,
                          const image_rule& rule, fit_options options, bool verify,
                          std::string_view field, Token&& token) {
  return net::async_initiate<Token, void(std::optional<result<fitted_image>>)>(
      [&pool, &rule](auto handler, shared_bytes image, image_facts known, fit_options how,
                     bool check, std::string_view which) {
        auto resume_on = net::get_associated_executor(handler);
        auto work = net::make_work_guard(resume_on);
        net::post(pool, [handler = std::move(handler), work = std::move(work),
                         image = std::move(image), known, &rule, how, check, which]() mutable {
          lower_decode_thread_priority();
          std::optional<result<fitted_image>> prepared(
              prepare_inspected(std::move(image), known, rule, how, check, which));
          auto executor = work.get_executor();
          net::dispatch(executor, [handler = std::move(handler), work = std::move(work),
                                   prepared = std::move(prepared)]() mutable {
            std::move(handler)(std::move(prepared));
          });
        });
      },
      token, std::move(bytes), facts, options, verify, field);
}

}  // namespace

result<const app_config*> gateway::impl::check_caller(const app_config* app, request_trace& trace) {
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

net::awaitable<std::optional<api_response>> gateway::impl::screen_shared_limit(
    api_request& header, request_trace trace, const app_config* app, steady_time started) {
  const rate_limiter::decision decision =
      co_await shared_limiter->take(app->app_key, app->rate_limit_per_s);
  if (auto refused = judge_rate(*app, decision, trace)) {
    co_return finish(header, trace, trace.fail(*refused), route::image_upload, started);
  }
  header.admission = std::make_shared<const header_admission>(header_admission{app, trace.rate});
  co_return std::nullopt;
}

net::awaitable<api_response> gateway::impl::serve_shared_limit(api_request request,
                                                               request_trace trace,
                                                               const app_config* app,
                                                               in_flight_slot slot,
                                                               steady_time started) {
  // The same decision as on a screened header; the refusal is answered (and finished) there.
  if (auto refused = co_await screen_shared_limit(request, trace, app, started)) {
    co_return std::move(*refused);
  }
  trace.rate = request.admission->rate;
  auto parsed = admit_body(request, app);
  if (!parsed) {
    co_return finish(request, trace, trace.fail(parsed.error()), route::image_upload, started);
  }
  // The rest is serve_upload's; the admitted request moves into its frame, a parameter that
  // lives across its suspensions.
  co_return co_await serve_upload(std::move(request), std::move(trace), std::move(parsed).value(),
                                  std::move(slot), started);
}

result<admitted_request> gateway::impl::admit(api_request& request, const app_config* app,
                                              request_trace& trace) {
  auto caller = check_caller(app, trace);
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
    // The text parts "fit" and "background" say what the JSON fields of the same names say.
    image_request asked;
    if (const auto fit = form.value().field("fit")) {
      const auto mode = parse_fit(*fit);
      if (!mode) return invalid_fit();
      asked.fit = *mode;
    }
    if (const auto background = form.value().field("background")) {
      const auto colour = parse_colour(*background);
      if (!colour) return invalid_background();
      asked.background = *colour;
    }
    return admitted_request{app, std::move(asked), std::move(form).value(), options.value()};
  }
  auto parsed = parse_image_request(request.body);
  if (!parsed) return parsed.take_error();
  return admitted_request{app, std::move(parsed).value(), std::nullopt, options.value()};
}

namespace {

// {"big_picture_id":…,"small_picture_id":…} (ids by image kind, null for one not asked for) and
// X-Cache: written straight, big before small (no JSON tree per answer).
api_response ids_answer(const std::array<const std::string*, 2>& ids, bool all_from_cache,
                        request_trace& trace) {
  api_response response;
  response.body.reserve(96);  // two ids and their names, in one allocation
  json_writer body(response.body);
  body.begin_object();
  for (const image_kind kind : all_image_kinds) {
    if (const std::string* id = ids[static_cast<std::size_t>(kind)]) {
      body.member(json_key(id_field(kind)), *id);
    }
  }
  body.end_object();
  trace.cache = all_from_cache ? "hit" : "miss";
  response.with_header("X-Cache", trace.cache);
  return response;
}

}  // namespace

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

  // A source to be fitted may be larger than what OPPO takes (images.fit): at most
  // images.fit.max_inflight such requests at once, so their sources' memory stays bounded, and
  // at most the app's share of them, so one app with slow sources cannot hold them all.
  const bool fitting = asked.fit != fit_mode::none;
  std::optional<fit_slots::place> fit_place;
  if (fitting) {
    fit_slots::admission admitted_fit = fits.take(app->app_key);
    if (!admitted_fit.held) {
      const bool all = admitted_fit.why == fit_slots::full::all;
      stats.shed.add({all ? "fit_max_inflight" : "fit_max_inflight_per_app"});
      co_return trace.fail(
          {error_kind::overloaded,
           all ? "the gateway is at its limit of " + std::to_string(fits.total()) +
                     " requests with a fit in flight (images.fit.max_inflight)"
               : "app " + app->app_key + " is at its share of " + std::to_string(fits.per_app()) +
                     " of the " + std::to_string(fits.total()) +
                     " requests with a fit in flight (images.fit.max_inflight_per_app)",
           std::nullopt});
    }
    fit_place.emplace(std::move(*admitted_fit.held));
  }
  // Stage: fetch, both at once (bytes that came in the body need none).
  const fit_options fit{asked.fit, asked.background};
  const std::string fit_tag = fit_cache_tag(asked.fit, asked.background);
  const auto fetch_job = [&](image_job& job) {
    return fetch_counted(job.url, job.kind,
                         fitting ? settings.images.fit.max_source_bytes : job.rule->max_bytes,
                         deadline, *app, fit_tag, !admitted.options.dry_run, trace.tracing);
  };
  if (form == nullptr) {
    // What is fresh is answered at once: no fetch, and no coroutine for one.
    std::vector<image_job*> to_fetch;
    std::optional<fetch_context> may_be_fresh;
    if (!admitted.options.dry_run && revalidating()) {
      may_be_fresh.emplace(fetch_context_for(*app, fit_tag, true));
    }
    for (image_job& job : jobs) {
      if (may_be_fresh) {
        if (auto fresh = fresh_image(*may_be_fresh, job.url, job.kind,
                                     cached_id_for(job.kind, *app, fit_tag))) {
          job.fetched.emplace(std::move(*fresh));
          continue;
        }
      }
      to_fetch.push_back(&job);
    }
    if (to_fetch.size() == 2) {
      auto [first, second] = co_await (fetch_job(*to_fetch[0]) && fetch_job(*to_fetch[1]));
      to_fetch[0]->fetched.emplace(std::move(first));
      to_fetch[1]->fetched.emplace(std::move(second));
    } else if (to_fetch.size() == 1) {
      to_fetch[0]->fetched.emplace(co_await fetch_job(*to_fetch[0]));
    }
    for (image_job& job : jobs) {
      if (!*job.fetched) co_return trace.fail(job.fetched->error());
      job.bytes = job.fetched->value().bytes;  // none after a 304
      trace.bytes_fetched += job.bytes.size();
    }
  }

  // Stage: image checks on the header, then the cache, then a full decode for what is new.
  // A 304 or a fresh answer needs none of it: its image passed them all when it came, and the
  // cache has its id.
  for (image_job& job : jobs) {
    if (job.fetched && job.fetched->value().from_memo()) {
      job.facts = job.fetched->value().remembered->facts;
      continue;
    }
    auto facts = fitting ? inspect_fit_source(job.bytes.span(), settings.images.fit, job.field)
                         : inspect_image(job.bytes.span(), *job.rule, job.field);
    if (!facts) co_return trace.fail(facts.error());
    job.facts = facts.value();
  }
  // The cache key hashes the whole source (as it arrived): skipped when the cache is off (a dry
  // run reports the digest all the same).
  const bool caching = settings.cache.max_entries > 0;
  const bool dry_run = admitted.options.dry_run;
  const auto now = std::chrono::steady_clock::now();
  for (image_job& job : jobs) {
    if (!caching && !dry_run) continue;
    // Hashed as the body arrived, or remembered with a 304; bytes from a request body here.
    const fetched_image* fetched = job.fetched ? &job.fetched->value() : nullptr;
    if (fetched != nullptr) job.digest = fetched->sha256_hex;
    if (job.digest.empty()) job.digest = sha256_hex(job.bytes.view());
    if (!caching) continue;
    if (fetched != nullptr && fetched->from_memo()) {
      job.picture_id = fetched->picture_id;
    } else {
      const upload_key key{job.digest, job.kind, app->oppo.app_key, fit_tag};
      // With Redis, the flight looks here first and then asks Redis (an id another replica
      // uploaded). (No co_await inside ?: : GCC 12 destroys its temporary twice.)
      if (redis) {
        job.picture_id = co_await flights->find(key);
      } else {
        job.picture_id = uploads.find(key, now);
      }
    }
    job.from_cache = job.picture_id.has_value();
    if (!dry_run) (job.from_cache ? cache_hits : cache_misses).add();
  }
  // Decode (verify, or fit) what the cache did not have, on the decode pool, both at once; an
  // unfitted image with verify_decode off needs no pixel and no hop. A dry run with a fit fits
  // even a cached source: its answer reports what would be uploaded.
  std::vector<image_job*> to_prepare;
  for (image_job& job : jobs) {
    // Cached bytes were verified (and fitted) before.
    if (job.from_cache && !(dry_run && fitting)) continue;
    if (!fitting && !settings.images.verify_decode) {
      job.upload = fitted_image{job.bytes, job.facts->format, job.facts->width, job.facts->height};
    } else {
      to_prepare.push_back(&job);
    }
  }
  const auto prepare = [&](image_job& job) {
    // The header was read above from these bytes: the pool does not read it again.
    return async_prepare_upload(decode_pool, job.bytes, *job.facts, *job.rule, fit,
                                settings.images.verify_decode, job.field, net::use_awaitable);
  };
  std::vector<std::optional<result<fitted_image>>> prepared;
  if (to_prepare.size() == 2) {
    auto [first, second] = co_await (prepare(*to_prepare[0]) && prepare(*to_prepare[1]));
    prepared.push_back(std::move(first));
    prepared.push_back(std::move(second));
  } else if (to_prepare.size() == 1) {
    prepared.push_back(co_await prepare(*to_prepare[0]));
  }
  for (std::size_t i = 0; i < to_prepare.size(); ++i) {  // big before small, as jobs are
    if (!*prepared[i]) co_return trace.fail(prepared[i]->error());
    to_prepare[i]->upload = std::move(*prepared[i]).value();
  }

  // Every check passed: what may be revalidated is remembered, with its freshness for this
  // requester.
  for (const image_job& job : jobs) {
    if (!job.fetched) continue;  // the bytes came in the request body
    const fetched_image& fetched = job.fetched->value();
    if (!fetched.revalidate_with || fetched.from_memo() || job.digest.empty()) continue;
    revalidation.remember(job.url, job.kind,
                          {*fetched.revalidate_with, job.digest, *job.facts, fetched.bytes->size(),
                           fetched.fresh_until, fresh_requester(*app, fit_tag)},
                          std::chrono::steady_clock::now());
  }

  // A dry run stops before the upload (and before any token): the facts of each image.
  if (dry_run) {
    std::vector<dry_run_image> checked;
    for (const image_job& job : jobs) {
      checked.push_back(
          {job.kind, *job.facts, job.bytes.size(), job.digest, job.from_cache, std::nullopt});
      dry_run_image& image = checked.back();
      if (fitting) image.fitted = false;
      if (job.upload && job.upload->fitted) {  // the facts of the gateway's own encoding
        image.facts.format = job.upload->format;
        image.facts.width = job.upload->width;
        image.facts.height = job.upload->height;
        image.bytes = job.upload->bytes.size();
        image.sha256 = sha256_hex(job.upload->bytes.view());
        image.fitted = true;
      }
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
    const auto send = [&job, app, deadline, &trace, this] {
      return oppo.upload(app->oppo, job.kind, job.upload->bytes, job.upload->format, deadline,
                         trace.tracing);
    };
    if (!caching) return send();
    return flights->upload_once({job.digest, job.kind, app->oppo.app_key, fit_tag}, deadline,
                                keep_for, send);
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

  std::array<const std::string*, 2> ids{};
  for (const image_job& job : jobs) ids[static_cast<std::size_t>(job.kind)] = &*job.picture_id;
  co_return ids_answer(ids, to_upload.empty(), trace);
}

std::optional<api_response> gateway::impl::answer_if_fresh(const admitted_request& admitted,
                                                           request_trace& trace) {
  const image_request& asked = admitted.asked;
  // A fit takes its slot first, a dry run reports bytes, a form brings its own: not here.
  if (admitted.form || admitted.options.dry_run || asked.fit != fit_mode::none || !revalidating()) {
    return std::nullopt;
  }
  const app_config& app = *admitted.app;
  const std::string fit_tag = fit_cache_tag(asked.fit, asked.background);
  const fetch_context counted = fetch_context_for(app, fit_tag, true);
  // Looked up without counting: the fetch stage looks again when one of them is not fresh.
  fetch_context probe = counted;
  probe.observe = nullptr;
  std::array<std::optional<fetched_image>, 2> fresh;
  for (const image_kind kind : all_image_kinds) {
    if (!asked.url(kind)) continue;
    auto found = fresh_image(probe, *asked.url(kind), kind, cached_id_for(kind, app, fit_tag));
    if (!found) return std::nullopt;
    fresh[static_cast<std::size_t>(kind)] = std::move(found);
  }
  std::array<const std::string*, 2> ids{};
  for (const image_kind kind : all_image_kinds) {
    auto& image = fresh[static_cast<std::size_t>(kind)];
    if (!image) continue;
    if (counted.observe) counted.observe("fresh", 0, std::chrono::microseconds(0));
    cache_hits.add();
    ids[static_cast<std::size_t>(kind)] = &*image->picture_id;
  }
  return ids_answer(ids, true, trace);
}

std::string gateway::impl::fresh_requester(const app_config& app, std::string_view fit_tag) {
  std::string requester = app.oppo.app_key;
  requester += '|';
  requester += fit_tag;
  return requester;
}

bool gateway::impl::revalidating() const {
  return settings.fetch.revalidate && settings.cache.max_entries > 0;
}

fetch_context gateway::impl::fetch_context_for(const app_config& app, std::string_view fit_tag,
                                               bool may_revalidate, const trace_context* tracing) {
  const bool revalidate = may_revalidate && revalidating();
  return fetch_context{
      fetch_transport,
      fetch,
      revalidate ? &revalidation : nullptr,
      revalidate ? &url_fetches : nullptr,
      settings.cache.max_entries > 0,
      [this](std::string_view outcome, std::size_t bytes, std::chrono::microseconds elapsed) {
        if (outcome == "fresh") {  // no transfer: nothing to time
          fresh_answers.add();
          return;
        }
        stats.fetches.add({std::string(outcome)});
        stats.fetch_duration.observe({}, std::chrono::duration<double>(elapsed).count());
        if (bytes > 0) stats.fetched_bytes.add({}, static_cast<double>(bytes));
      },
      tracing,
      fresh_requester(app, fit_tag)};
}

cached_id_lookup gateway::impl::cached_id_for(image_kind kind, const app_config& app,
                                              std::string fit_tag) {
  // Its OPPO app and its fit: a fitted picture is another upload than its source.
  return [this, kind, oppo_app = app.oppo.app_key,
          fit_tag = std::move(fit_tag)](const std::string& digest) {
    return uploads.find({digest, kind, oppo_app, fit_tag}, std::chrono::steady_clock::now());
  };
}

net::awaitable<result<fetched_image>> gateway::impl::fetch_counted(
    std::string url, image_kind kind, std::size_t max_bytes, steady_time deadline,
    const app_config& app, std::string fit_tag, bool may_revalidate, const trace_context& tracing) {
  const fetch_context context = fetch_context_for(app, fit_tag, may_revalidate, &tracing);
  // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
  cached_id_lookup cached_id = cached_id_for(kind, app, std::move(fit_tag));
  auto fetched = co_await fetch_image(context, std::move(url), kind, max_bytes, deadline,
                                      std::move(cached_id));
  co_return fetched;
}

}  // namespace image_gateway
