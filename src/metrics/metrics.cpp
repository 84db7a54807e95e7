#include "image_gateway/metrics/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace image_gateway::metrics {
namespace {

std::string format_number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

std::string escape_label(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// {a="x",b="y"} plus an optional extra label (le for buckets).
std::string label_text(const std::vector<std::string>& names, const label_values& values,
                       std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + escape_label(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

void header(std::string& out, const std::string& name, const std::string& help,
            std::string_view type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + std::string(type) + "\n";
}

}  // namespace

counter_family::counter_family(std::string name, std::string help,
                               std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void counter_family::add(const label_values& labels, double amount) { bind(labels).add(amount); }

counter_family::series counter_family::bind(const label_values& labels) {
  std::lock_guard lock(mutex_);
  return series(values_.try_emplace(labels, 0.0).first->second);
}

double counter_family::value(const label_values& labels) const {
  std::lock_guard lock(mutex_);
  const auto found = values_.find(labels);
  return found == values_.end() ? 0 : found->second.load();
}

void counter_family::render(std::string& out) const {
  header(out, name_, help_, "counter");
  std::lock_guard lock(mutex_);
  if (values_.empty() && label_names_.empty()) out += name_ + " 0\n";
  for (const auto& [labels, value] : values_) {
    out += name_ + label_text(label_names_, labels) + " " + format_number(value.load()) + "\n";
  }
}

histogram_family::histogram_family(std::string name, std::string help,
                                   std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

histogram_family::series_data& histogram_family::find_or_add(const label_values& labels) {
  series_data& s = series_[labels];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size(), 0);
  return s;
}

void histogram_family::observe(const label_values& labels, double value) {
  std::lock_guard lock(mutex_);
  series_data& s = find_or_add(labels);
  observe_locked(s, value);
}

histogram_family::series histogram_family::bind(const label_values& labels) {
  std::lock_guard lock(mutex_);
  return series(*this, find_or_add(labels));
}

void histogram_family::observe(series_data& s, double value) {
  std::lock_guard lock(mutex_);
  observe_locked(s, value);
}

void histogram_family::observe_locked(series_data& s, double value) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) {
      ++s.buckets[i];
      break;
    }
  }
  s.sum += value;
  ++s.count;
}

std::uint64_t histogram_family::count(const label_values& labels) const {
  std::lock_guard lock(mutex_);
  const auto found = series_.find(labels);
  return found == series_.end() ? 0 : found->second.count;
}

void histogram_family::render(std::string& out) const {
  header(out, name_, help_, "histogram");
  std::lock_guard lock(mutex_);
  for (const auto& [labels, s] : series_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      out += name_ + "_bucket" + label_text(label_names_, labels, "le", format_number(bounds_[i])) +
             " " + std::to_string(cumulative) + "\n";
    }
    out += name_ + "_bucket" + label_text(label_names_, labels, "le", "+Inf") + " " +
           std::to_string(s.count) + "\n";
    out += name_ + "_sum" + label_text(label_names_, labels) + " " + format_number(s.sum) + "\n";
    out +=
        name_ + "_count" + label_text(label_names_, labels) + " " + std::to_string(s.count) + "\n";
  }
}

gauge::gauge(std::string name, std::string help, std::string type)
    : name_(std::move(name)), help_(std::move(help)), type_(std::move(type)) {}

void gauge::add(double delta) { value_.fetch_add(delta); }

void gauge::set_source(std::function<double()> read) { read_ = std::move(read); }

double gauge::value() const { return read_ ? read_() : value_.load(); }

void gauge::render(std::string& out) const {
  header(out, name_, help_, type_);
  out += name_ + " " + format_number(value()) + "\n";
}

gauge_family::gauge_family(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void gauge_family::set_source(const label_values& labels, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  sources_[labels] = std::move(read);
}

double gauge_family::value(const label_values& labels) const {
  std::lock_guard lock(mutex_);
  const auto found = sources_.find(labels);
  return found == sources_.end() || !found->second ? 0 : found->second();
}

void gauge_family::render(std::string& out) const {
  header(out, name_, help_, "gauge");
  std::lock_guard lock(mutex_);
  for (const auto& [labels, read] : sources_) {
    out += name_ + label_text(label_names_, labels) + " " + format_number(read ? read() : 0) + "\n";
  }
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
  log_lines_dropped.render(out);
  return out;
}

}  // namespace image_gateway::metrics
