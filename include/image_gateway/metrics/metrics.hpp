#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

// The storage and the text format are prometheus-cpp's (core only: its Registry, Family,
// Counter, Histogram, Gauge and TextSerializer; /metrics stays our own route, not its exposer).
namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace image_gateway::metrics {

using label_values = std::vector<std::string>;

// A counter with labels; values only go up. Thread-safe. Label values are given in the order of
// the label names.
class counter_family {
 public:
  // One series of the family, looked up once: adding through it takes no label vector, no map
  // walk and no lock of ours, for counters bumped on every request. Valid as long as the family.
  class series {
   public:
    void add(double amount = 1) const;

   private:
    friend class counter_family;
    explicit series(prometheus::Counter& counter) : counter_(&counter) {}
    prometheus::Counter* counter_;
  };

  counter_family(std::string name, std::string help, std::vector<std::string> label_names);
  ~counter_family();
  counter_family(const counter_family&) = delete;
  counter_family& operator=(const counter_family&) = delete;

  void add(const label_values& labels, double amount = 1);
  // The series with these labels, created (at 0, and rendered from now on) when new.
  series bind(const label_values& labels);
  double value(const label_values& labels) const;
  void render(std::string& out) const;

 private:
  prometheus::Counter& find_or_add(const label_values& labels);

  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::unique_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* family_;
  mutable std::mutex mutex_;
  std::map<label_values, prometheus::Counter*> index_;  // the family's series by label values
};

// A histogram with labels and fixed buckets (upper bounds, seconds or bytes). Thread-safe.
class histogram_family {
 public:
  // One series of the family, looked up once (see counter_family::series). An observation
  // locks only its series, so a scrape never sees a count without its bucket.
  class series {
   public:
    void observe(double value) const;

   private:
    friend class histogram_family;
    explicit series(prometheus::Histogram& histogram) : histogram_(&histogram) {}
    prometheus::Histogram* histogram_;
  };

  histogram_family(std::string name, std::string help, std::vector<std::string> label_names,
                   std::vector<double> bounds);
  ~histogram_family();
  histogram_family(const histogram_family&) = delete;
  histogram_family& operator=(const histogram_family&) = delete;

  void observe(const label_values& labels, double value);
  // The series with these labels, created (empty, and rendered from now on) when new.
  series bind(const label_values& labels);
  std::uint64_t count(const label_values& labels) const;
  void render(std::string& out) const;

 private:
  prometheus::Histogram& find_or_add(const label_values& labels);

  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
  std::unique_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>* family_;
  mutable std::mutex mutex_;
  std::map<label_values, prometheus::Histogram*> index_;
};

// A value read when scraped: a gauge it owns, or a function of other state (set_source).
// `type` is "gauge", or "counter" for a total kept elsewhere (e.g. cache evictions).
class gauge {
 public:
  gauge(std::string name, std::string help, std::string type = "gauge");
  ~gauge();
  gauge(const gauge&) = delete;
  gauge& operator=(const gauge&) = delete;

  void add(double delta);
  void set_source(std::function<double()> read);
  double value() const;
  void render(std::string& out) const;

 private:
  std::string name_, help_, type_;
  std::function<double()> read_;
  std::unique_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* value_;
};

// Gauges with labels, each series read from its own function when scraped (e.g. a breaker's
// state). Series are added at start; thread-safe.
class gauge_family {
 public:
  gauge_family(std::string name, std::string help, std::vector<std::string> label_names);
  void set_source(const label_values& labels, std::function<double()> read);
  double value(const label_values& labels) const;
  void render(std::string& out) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
  std::map<label_values, std::function<double()>> sources_;
};

// Latency buckets in seconds: 1 ms .. 30 s.
std::vector<double> latency_buckets();

// Everything image-gateway exports at GET /metrics (Prometheus text format 0.0.4).
struct registry {
  counter_family requests{"image_gateway_requests_total",
                          "Requests answered, by error code (0 for success) and HTTP status.",
                          {"code", "status"}};
  histogram_family request_duration{"image_gateway_request_duration_seconds",
                                    "Time from a complete request to its answer, by route.",
                                    {"route"},
                                    latency_buckets()};
  gauge in_flight{"image_gateway_requests_in_flight",
                  "Image requests being processed now (shed above server.max_inflight)."};
  counter_family shed{"image_gateway_requests_shed_total",
                      "Requests refused with 503 at a limit (reason) or after the drain window.",
                      {"reason"}};
  counter_family rate_limited{"image_gateway_rate_limited_total",
                              "Requests refused with 429 by the per-app rate limit.",
                              {"app"}};
  counter_family fetches{"image_gateway_fetches_total",
                         "Image fetches, by outcome (ok, not_modified, blocked, too_large, "
                         "failed, ...; fresh: answered within the origin's freshness, no fetch).",
                         {"outcome"}};
  histogram_family fetch_duration{"image_gateway_fetch_duration_seconds",
                                  "Time to fetch one image from its origin.",
                                  {},
                                  latency_buckets()};
  counter_family fetched_bytes{
      "image_gateway_fetched_bytes_total", "Image bytes received from origins.", {}};
  counter_family oppo_calls{"image_gateway_oppo_calls_total",
                            "Calls to OPPO, by endpoint (auth, upload) and outcome.",
                            {"endpoint", "outcome"}};
  histogram_family oppo_duration{"image_gateway_oppo_call_duration_seconds",
                                 "Time of one call to OPPO, by endpoint.",
                                 {"endpoint"},
                                 latency_buckets()};
  counter_family token_refreshes{"image_gateway_oppo_token_refreshes_total",
                                 "OPPO auth token refreshes, by outcome (ok, failed).",
                                 {"outcome"}};
  counter_family oppo_connections{
      "image_gateway_oppo_connections_opened_total",
      "New connections opened to OPPO, by endpoint (low next to calls: keep-alive works).",
      {"endpoint"}};
  gauge_family oppo_circuit_open{
      "image_gateway_oppo_circuit_open",
      "1 while the circuit breaker for an OPPO endpoint fails calls fast, else 0.",
      {"endpoint"}};
  counter_family cache_lookups{"image_gateway_upload_cache_lookups_total",
                               "Upload cache lookups, by result (hit, miss).",
                               {"result"}};
  gauge cache_entries{"image_gateway_upload_cache_entries", "Ids in the upload cache now."};
  gauge cache_evictions{"image_gateway_upload_cache_evictions_total",
                        "Ids evicted from the upload cache to stay within max_entries.", "counter"};
  gauge connections{"image_gateway_connections_open", "Client connections open now."};
  gauge_family build_info{
      "image_gateway_build_info", "Always 1; the version as a label.", {"version"}};
  gauge log_lines_dropped{"image_gateway_log_lines_dropped_total",
                          "Log lines dropped because stdout did not take them (a stalled pipe).",
                          "counter"};
  // Shared state for replicas (docs/scaling.md); rendered only when redis.url is set.
  gauge redis_up{"image_gateway_redis_up",
                 "1 while Redis is reachable and takes the gateway's writes (shared state is "
                 "used), else 0."};
  counter_family redis_errors{
      "image_gateway_redis_errors_total",
      "Redis calls that failed and fell back to local state, and refused connection set-ups, "
      "by reason (down: not sent while Redis is down; timeout, connection, protocol, "
      "error_reply; readonly, wrongpass, noauth, noperm, tls, moved: Redis unusable).",
      {"reason"}};
  histogram_family redis_duration{
      "image_gateway_redis_call_duration_seconds",
      "Time of one Redis call, by call.",
      {"call"},
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5}};
  bool redis_enabled = false;

  // The whole exposition.
  std::string render() const;
};

}  // namespace image_gateway::metrics
