#include "image_gateway/metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <stdexcept>

namespace image_gateway::metrics {
namespace {

prometheus::Labels labels_of(const std::vector<std::string>& names, const label_values& values) {
  if (values.size() != names.size()) {
    throw std::invalid_argument("metrics: " + std::to_string(values.size()) + " label values for " +
                                std::to_string(names.size()) + " labels");
  }
  prometheus::Labels labels;
  for (std::size_t i = 0; i < names.size(); ++i) labels.emplace(names[i], values[i]);
  return labels;
}

// The families of a registry in the text format; a family without series still shows its HELP
// and TYPE (prometheus-cpp leaves it out), so a scrape lists every metric from the start.
void serialize(const prometheus::Registry& registry, const std::string& name,
               const std::string& help, prometheus::MetricType type, std::string& out) {
  std::vector<prometheus::MetricFamily> families = registry.Collect();
  if (families.empty()) families.push_back(prometheus::MetricFamily{name, help, type, {}});
  out += prometheus::TextSerializer().Serialize(families);
}

}  // namespace

void counter_family::series::add(double amount) const { counter_->Increment(amount); }

counter_family::counter_family(std::string name, std::string help,
                               std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      registry_(std::make_unique<prometheus::Registry>()),
      family_(&prometheus::BuildCounter().Name(name_).Help(help_).Register(*registry_)) {
  if (label_names_.empty()) find_or_add({});  // a plain total shows 0 before its first add
}

counter_family::~counter_family() = default;

prometheus::Counter& counter_family::find_or_add(const label_values& labels) {
  std::lock_guard lock(mutex_);
  prometheus::Counter*& counter = index_[labels];
  if (counter == nullptr) counter = &family_->Add(labels_of(label_names_, labels));
  return *counter;
}

void counter_family::add(const label_values& labels, double amount) {
  find_or_add(labels).Increment(amount);
}

counter_family::series counter_family::bind(const label_values& labels) {
  return series(find_or_add(labels));
}

double counter_family::value(const label_values& labels) const {
  std::lock_guard lock(mutex_);
  const auto found = index_.find(labels);
  return found == index_.end() ? 0 : found->second->Value();
}

void counter_family::render(std::string& out) const {
  serialize(*registry_, name_, help_, prometheus::MetricType::Counter, out);
}

void histogram_family::series::observe(double value) const { histogram_->Observe(value); }

histogram_family::histogram_family(std::string name, std::string help,
                                   std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)),
      registry_(std::make_unique<prometheus::Registry>()),
      family_(&prometheus::BuildHistogram().Name(name_).Help(help_).Register(*registry_)) {}

histogram_family::~histogram_family() = default;

prometheus::Histogram& histogram_family::find_or_add(const label_values& labels) {
  std::lock_guard lock(mutex_);
  prometheus::Histogram*& histogram = index_[labels];
  if (histogram == nullptr) histogram = &family_->Add(labels_of(label_names_, labels), bounds_);
  return *histogram;
}

void histogram_family::observe(const label_values& labels, double value) {
  find_or_add(labels).Observe(value);
}

histogram_family::series histogram_family::bind(const label_values& labels) {
  return series(find_or_add(labels));
}

std::uint64_t histogram_family::count(const label_values& labels) const {
  std::lock_guard lock(mutex_);
  const auto found = index_.find(labels);
  return found == index_.end() ? 0 : found->second->Collect().histogram.sample_count;
}

void histogram_family::render(std::string& out) const {
  serialize(*registry_, name_, help_, prometheus::MetricType::Histogram, out);
}

gauge::gauge(std::string name, std::string help, std::string type)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(std::move(type)),
      registry_(std::make_unique<prometheus::Registry>()),
      value_(&prometheus::BuildGauge().Name(name_).Help(help_).Register(*registry_).Add({})) {
  if (type_ != "gauge" && type_ != "counter") {
    throw std::invalid_argument("metrics: " + name_ + ": type is gauge or counter");
  }
}

gauge::~gauge() = default;

void gauge::add(double delta) { value_->Increment(delta); }

void gauge::set_source(std::function<double()> read) { read_ = std::move(read); }

double gauge::value() const { return read_ ? read_() : value_->Value(); }

// A value read at scrape time has no prometheus-cpp metric type: the family is made here.
void gauge::render(std::string& out) const {
  prometheus::ClientMetric sample;
  prometheus::MetricType type = prometheus::MetricType::Gauge;
  if (type_ == "counter") {
    type = prometheus::MetricType::Counter;
    sample.counter.value = value();
  } else {
    sample.gauge.value = value();
  }
  out += prometheus::TextSerializer().Serialize(
      {prometheus::MetricFamily{name_, help_, type, {sample}}});
}

gauge_family::gauge_family(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void gauge_family::set_source(const label_values& labels, std::function<double()> read) {
  labels_of(label_names_, labels);  // the right number of values, or it throws
  std::lock_guard lock(mutex_);
  sources_[labels] = std::move(read);
}

double gauge_family::value(const label_values& labels) const {
  std::lock_guard lock(mutex_);
  const auto found = sources_.find(labels);
  return found == sources_.end() || !found->second ? 0 : found->second();
}

void gauge_family::render(std::string& out) const {
  prometheus::MetricFamily family{name_, help_, prometheus::MetricType::Gauge, {}};
  {
    std::lock_guard lock(mutex_);
    for (const auto& [labels, read] : sources_) {
      prometheus::ClientMetric sample;
      for (std::size_t i = 0; i < label_names_.size(); ++i) {
        sample.label.push_back({label_names_[i], labels[i]});
      }
      sample.gauge.value = read ? read() : 0;
      family.metric.push_back(std::move(sample));
    }
  }
  out += prometheus::TextSerializer().Serialize({family});
}

std::vector<double> latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::string registry::render() const {
  std::string out;
  out.reserve(8192);
  requests.render(out);
  request_duration.render(out);
  in_flight.render(out);
  shed.render(out);
  rate_limited.render(out);
  fetches.render(out);
  fetch_duration.render(out);
  fetched_bytes.render(out);
  oppo_calls.render(out);
  oppo_duration.render(out);
  token_refreshes.render(out);
  oppo_connections.render(out);
  oppo_circuit_open.render(out);
  cache_lookups.render(out);
  cache_entries.render(out);
  cache_evictions.render(out);
  connections.render(out);
  build_info.render(out);
  if (redis_enabled) {
    redis_up.render(out);
    redis_errors.render(out);
    redis_duration.render(out);
  }
  return out;
}

}  // namespace image_gateway::metrics
