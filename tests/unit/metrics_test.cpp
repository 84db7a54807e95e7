#include "image_gateway/metrics/metrics.hpp"

#include "image_gateway/metrics/series_table.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace image_gateway::metrics {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines_of(text)) {
    if (l == line) return true;
  }
  return false;
}

// The text is prometheus-cpp's: HELP and TYPE first, then one line per label set in no
// particular order.
TEST(Metrics, CounterRendersHelpTypeAndOneLinePerLabelSet) {
  counter_family requests("igw_test_requests_total", "Requests.", {"code", "status"});
  requests.add({"0", "200"});
  requests.add({"0", "200"});
  requests.add({"23001", "401"}, 3);
  std::string out;
  requests.render(out);
  const auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 4u) << out;
  EXPECT_EQ(lines[0], "# HELP igw_test_requests_total Requests.");
  EXPECT_EQ(lines[1], "# TYPE igw_test_requests_total counter");
  EXPECT_TRUE(has_line(out, "igw_test_requests_total{code=\"0\",status=\"200\"} 2")) << out;
  EXPECT_TRUE(has_line(out, "igw_test_requests_total{code=\"23001\",status=\"401\"} 3")) << out;
  EXPECT_EQ(requests.value({"0", "200"}), 2);
  EXPECT_EQ(requests.value({"51", "200"}), 0);
}

TEST(Metrics, BoundSeriesAddToTheSameValue) {
  counter_family requests("igw_test_requests_total", "Requests.", {"code"});
  const auto ok = requests.bind({"0"});
  ok.add();
  ok.add(2);
  requests.add({"0"});
  EXPECT_EQ(requests.value({"0"}), 4);
  histogram_family latency("igw_test_seconds", "Latency.", {"route"}, {1});
  const auto image = latency.bind({"image"});
  image.observe(0.5);
  latency.observe({"image"}, 2);
  EXPECT_EQ(latency.count({"image"}), 2u);
}

// The lock-free table binds a series once per key, and still counts right when it is full.
TEST(Metrics, SeriesTableBindsEachKeyOnceAndOverflowsSafely) {
  counter_family requests("igw_test_table_total", "Requests.", {"code"});
  series_table<counter_family::series, 4> table;
  int binds = 0;
  const auto series_for = [&](int code) {
    return table.get(static_cast<std::uint64_t>(code) + 1, [&] {
      ++binds;
      return requests.bind({std::to_string(code)});
    });
  };
  for (int round = 0; round < 3; ++round) {
    for (int code = 0; code < 4; ++code) series_for(code).add();
  }
  EXPECT_EQ(binds, 4);
  series_for(9).add();  // no slot left: bound again on every call, counted all the same
  series_for(9).add();
  EXPECT_EQ(binds, 6);
  for (int code = 0; code < 4; ++code) EXPECT_EQ(requests.value({std::to_string(code)}), 3);
  EXPECT_EQ(requests.value({"9"}), 2);

  // Threads meeting one new key bind it once between them.
  series_table<counter_family::series, 8> shared;
  std::atomic<int> shared_binds{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        shared
            .get(7,
                 [&] {
                   ++shared_binds;
                   return requests.bind({"shared"});
                 })
            .add();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(shared_binds.load(), 1);
  EXPECT_EQ(requests.value({"shared"}), 4000);
}

// A family that has no series yet still tells scrapers it exists (prometheus-cpp alone would
// leave it out).
TEST(Metrics, FamilyWithoutSeriesShowsHelpAndType) {
  counter_family shed("igw_test_shed_total", "Shed.", {"reason"});
  histogram_family latency("igw_test_seconds", "Latency.", {"route"}, {1});
  std::string out;
  shed.render(out);
  latency.render(out);
  EXPECT_EQ(out,
            "# HELP igw_test_shed_total Shed.\n# TYPE igw_test_shed_total counter\n"
            "# HELP igw_test_seconds Latency.\n# TYPE igw_test_seconds histogram\n");
}

TEST(Metrics, WrongNumberOfLabelValuesIsRefused) {
  counter_family requests("igw_test_requests_total", "Requests.", {"code", "status"});
  EXPECT_THROW(requests.add({"0"}), std::invalid_argument);
  gauge_family open("igw_test_open", "Open.", {"endpoint"});
  EXPECT_THROW(open.set_source({}, [] { return 1.0; }), std::invalid_argument);
}

TEST(Metrics, CounterWithoutLabelsShowsZeroBeforeAnyAdd) {
  counter_family bytes("igw_test_bytes_total", "Bytes.", {});
  std::string out;
  bytes.render(out);
  EXPECT_TRUE(has_line(out, "igw_test_bytes_total 0")) << out;
  bytes.add({}, 1.5);
  out.clear();
  bytes.render(out);
  EXPECT_TRUE(has_line(out, "igw_test_bytes_total 1.5")) << out;
}

TEST(Metrics, LabelValuesAreEscaped) {
  counter_family c("igw_test_total", "Escaping.", {"app"});
  c.add({"a\"b\\c\nd"});
  std::string out;
  c.render(out);
  EXPECT_TRUE(has_line(out, R"(igw_test_total{app="a\"b\\c\nd"} 1)")) << out;
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  histogram_family h("igw_test_seconds", "Latency.", {"route"}, {0.1, 1, 10});
  h.observe({"image"}, 0.05);
  h.observe({"image"}, 0.5);
  h.observe({"image"}, 0.5);
  h.observe({"image"}, 20);
  std::string out;
  h.render(out);
  for (const char* line : {"# HELP igw_test_seconds Latency.", "# TYPE igw_test_seconds histogram",
                           "igw_test_seconds_bucket{route=\"image\",le=\"0.1\"} 1",
                           "igw_test_seconds_bucket{route=\"image\",le=\"1\"} 3",
                           "igw_test_seconds_bucket{route=\"image\",le=\"10\"} 3",
                           "igw_test_seconds_bucket{route=\"image\",le=\"+Inf\"} 4",
                           "igw_test_seconds_sum{route=\"image\"} 21.05",
                           "igw_test_seconds_count{route=\"image\"} 4"}) {
    EXPECT_TRUE(has_line(out, line)) << line << " in\n" << out;
  }
  EXPECT_EQ(lines_of(out).size(), 8u) << out;
  EXPECT_EQ(h.count({"image"}), 4u);
  EXPECT_EQ(h.count({"healthz"}), 0u);
}

TEST(Metrics, HistogramEdgeValueFallsInItsBucket) {
  histogram_family h("igw_test_seconds", "Latency.", {}, {1, 2});
  h.observe({}, 1);  // le is "less than or equal"
  std::string out;
  h.render(out);
  EXPECT_TRUE(has_line(out, "igw_test_seconds_bucket{le=\"1\"} 1")) << out;
}

TEST(Metrics, GaugeAddsAndReadsItsSource) {
  gauge g("igw_test_open", "Open.");
  g.add(3);
  g.add(-1);
  EXPECT_EQ(g.value(), 2);
  std::string out;
  g.render(out);
  EXPECT_EQ(out, "# HELP igw_test_open Open.\n# TYPE igw_test_open gauge\nigw_test_open 2\n");

  int backing = 7;
  gauge from_source("igw_test_evictions_total", "Evictions.", "counter");
  from_source.set_source([&] { return static_cast<double>(backing); });
  backing = 9;
  out.clear();
  from_source.render(out);
  EXPECT_TRUE(has_line(out, "# TYPE igw_test_evictions_total counter")) << out;
  EXPECT_TRUE(has_line(out, "igw_test_evictions_total 9")) << out;
}

TEST(Metrics, GaugeFamilyReadsEachSeries) {
  gauge_family open("igw_test_circuit_open", "Breakers.", {"endpoint"});
  bool upload_open = false;
  open.set_source({"auth"}, [] { return 0.0; });
  open.set_source({"upload"}, [&] { return upload_open ? 1.0 : 0.0; });
  upload_open = true;
  std::string out;
  open.render(out);
  EXPECT_TRUE(has_line(out, "# TYPE igw_test_circuit_open gauge")) << out;
  EXPECT_TRUE(has_line(out, "igw_test_circuit_open{endpoint=\"auth\"} 0")) << out;
  EXPECT_TRUE(has_line(out, "igw_test_circuit_open{endpoint=\"upload\"} 1")) << out;
  EXPECT_EQ(open.value({"upload"}), 1);
  EXPECT_EQ(open.value({"other"}), 0);
}

TEST(Metrics, CountersAreThreadSafe) {
  counter_family c("igw_test_total", "Concurrent.", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.add({"x"});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value({"x"}), 40000);
}

// The whole exposition: every family named image_gateway_*, HELP and TYPE once each before its
// samples, sample names that belong to the family, values that are numbers.
TEST(Metrics, RegistryExpositionIsWellFormed) {
  registry stats;
  stats.requests.add({"0", "200"});
  stats.request_duration.observe({"image"}, 0.2);
  stats.fetch_duration.observe({}, 0.1);
  stats.oppo_calls.add({"upload", "ok"});
  stats.oppo_duration.observe({"upload"}, 0.3);
  stats.oppo_circuit_open.set_source({"upload"}, [] { return 0.0; });
  stats.build_info.set_source({"1.2.3"}, [] { return 1.0; });
  const std::string text = stats.render();

  const std::regex help(R"(# HELP (image_gateway_[a-z_]+) .+)");
  const std::regex type(R"(# TYPE (image_gateway_[a-z_]+) (counter|gauge|histogram))");
  const std::regex sample(
      R"((image_gateway_[a-z_]+)(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf))");
  std::map<std::string, std::string> types;
  std::set<std::string> helped;
  std::string current;
  for (const auto& line : lines_of(text)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      EXPECT_TRUE(helped.insert(m[1]).second) << "HELP twice: " << line;
      current = m[1];
    } else if (std::regex_match(line, m, type)) {
      EXPECT_EQ(m[1], current) << "TYPE without its HELP: " << line;
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "TYPE twice: " << line;
    } else if (std::regex_match(line, m, sample)) {
      const std::string name = m[1];
      const std::string& kind = types[current];
      if (kind == "histogram") {
        EXPECT_TRUE(name == current + "_bucket" || name == current + "_sum" ||
                    name == current + "_count")
            << line;
      } else {
        EXPECT_EQ(name, current) << line;
      }
      if (kind == "counter") {
        EXPECT_TRUE(name.ends_with("_total")) << "counter names end in _total: " << line;
      }
    } else {
      ADD_FAILURE() << "not a valid exposition line: '" << line << "'";
    }
  }
  EXPECT_TRUE(has_line(text, "image_gateway_requests_total{code=\"0\",status=\"200\"} 1"));
  EXPECT_TRUE(
      has_line(text, "image_gateway_oppo_calls_total{endpoint=\"upload\",outcome=\"ok\"} 1"));
  EXPECT_TRUE(has_line(text, "image_gateway_build_info{version=\"1.2.3\"} 1"));
  for (const char* family :
       {"image_gateway_requests_total", "image_gateway_request_duration_seconds",
        "image_gateway_requests_in_flight", "image_gateway_fetches_total",
        "image_gateway_fetch_duration_seconds", "image_gateway_fetched_bytes_total",
        "image_gateway_oppo_calls_total", "image_gateway_oppo_call_duration_seconds",
        "image_gateway_oppo_token_refreshes_total", "image_gateway_upload_cache_lookups_total",
        "image_gateway_upload_cache_entries", "image_gateway_upload_cache_evictions_total",
        "image_gateway_connections_open", "image_gateway_oppo_circuit_open"}) {
    EXPECT_TRUE(types.contains(family)) << family;
  }
}

}  // namespace
}  // namespace image_gateway::metrics
