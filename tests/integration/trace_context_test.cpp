// W3C Trace Context through the real gateway: the fake origin and the fake OPPO record the
// `traceparent` and `tracestate` each request brought.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fakes/test_servers.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "image_gateway/util/trace_context.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;

constexpr const char* caller_trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* caller_parent_id = "00f067aa0ba902b7";

std::string caller_traceparent(const std::string& flags) {
  return std::string("00-") + caller_trace_id + "-" + caller_parent_id + "-" + flags;
}

class TraceContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    origin.serve("/big.png", samples::png(984, 369, 21));
    origin.serve("/small.png", samples::png(144, 144, 22));
  }

  gateway_under_test& start(bool generate = false) {
    config settings = test_config(oppo.base_url());
    settings.trace.generate = generate;
    gateway = std::make_unique<gateway_under_test>(std::move(settings));
    return *gateway;
  }

  client_response post(const std::vector<std::string>& headers) {
    const json request = {{"big_picture_url", origin.url("/big.png")},
                          {"small_picture_url", origin.url("/small.png")}};
    return post_images(*gateway, request.dump(), headers);
  }

  // Every upstream call of the request: two fetches, one auth call, two uploads.
  std::vector<trace_headers_seen> upstream_calls() const {
    std::vector<trace_headers_seen> calls = origin.traces.seen();
    for (const trace_headers_seen& call : oppo.traces.seen()) calls.push_back(call);
    return calls;
  }

  // The `request` log lines.
  std::vector<json> request_lines() const {
    std::vector<json> lines;
    std::istringstream in(gateway->log_output());
    for (std::string line; std::getline(in, line);) {
      const json parsed = json::parse(line, nullptr, false);
      if (!parsed.is_discarded() && parsed.value("msg", "") == "request") lines.push_back(parsed);
    }
    return lines;
  }

  fake_origin origin;
  fake_oppo_server oppo;
  std::unique_ptr<gateway_under_test> gateway;
};

TEST_F(TraceContextTest, CallersTraceIsContinuedOnEveryFetchAndOppoCall) {
  start();
  const auto response = post({"traceparent: " + caller_traceparent("01"),
                              "tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"});
  ASSERT_EQ(response.status, 200) << response.body << response.error;

  const std::vector<trace_headers_seen> calls = upstream_calls();
  ASSERT_EQ(calls.size(), 5u);  // 2 fetches, auth, 2 uploads
  std::set<std::string> parents;
  for (const trace_headers_seen& call : calls) {
    const auto sent = parse_traceparent(call.traceparent);
    ASSERT_TRUE(sent) << call.path << ": '" << call.traceparent << "'";
    EXPECT_EQ(call.traceparent.substr(0, 3), "00-") << call.path;
    EXPECT_EQ(sent->trace_id, caller_trace_id) << call.path;
    EXPECT_EQ(sent->flags, 0x01) << call.path;
    const std::string parent = call.traceparent.substr(36, 16);
    EXPECT_NE(parent, caller_parent_id) << call.path;
    parents.insert(parent);
    EXPECT_EQ(call.tracestate, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE") << call.path;
  }
  EXPECT_EQ(parents.size(), calls.size()) << "one span (parent id) of the gateway's per call";
  EXPECT_EQ(oppo.api().stats().auth_requests, 1u);

  const std::vector<json> lines = request_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].value("trace_id", ""), caller_trace_id) << lines[0].dump();
}

TEST_F(TraceContextTest, UnsampledFlagsAreKeptAndNoTracestateIsSentWithoutOne) {
  start();
  const auto response = post({"traceparent: " + caller_traceparent("00")});
  ASSERT_EQ(response.status, 200) << response.body << response.error;
  const std::vector<trace_headers_seen> calls = upstream_calls();
  ASSERT_EQ(calls.size(), 5u);
  for (const trace_headers_seen& call : calls) {
    EXPECT_EQ(call.traceparent.substr(0, 36), std::string("00-") + caller_trace_id + "-");
    EXPECT_EQ(call.traceparent.substr(52), "-00") << call.path;
    EXPECT_EQ(call.tracestate, "") << call.path;
  }
}

TEST_F(TraceContextTest, MalformedTraceparentIsIgnoredAndNeverEchoed) {
  start();
  const std::vector<std::string> malformed = {
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",    // uppercase
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // all-zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // version 00 too long
      "junk-traceparent-value"};
  for (const std::string& bad : malformed) {
    const auto response = post({"traceparent: " + bad, "tracestate: rojo=1"});
    ASSERT_EQ(response.status, 200) << bad << ": " << response.body << response.error;
    for (const auto& [name, value] : response.headers) {
      EXPECT_EQ(value.find(bad), std::string::npos) << name << " echoes " << bad;
    }
    EXPECT_EQ(response.body.find(bad), std::string::npos);
  }
  for (const trace_headers_seen& call : upstream_calls()) {
    EXPECT_EQ(call.traceparent, "") << call.path;
    EXPECT_EQ(call.tracestate, "") << call.path;
  }
  const std::string log = gateway->log_output();
  for (const std::string& bad : malformed) EXPECT_EQ(log.find(bad), std::string::npos) << bad;
  EXPECT_EQ(log.find("4bf92f3577b34da6a3ce929d0e0e4736"), std::string::npos);
  EXPECT_EQ(log.find("trace_id"), std::string::npos);
}

TEST_F(TraceContextTest, WithoutACallersTraceNoneIsInventedByDefault) {
  start();
  ASSERT_EQ(post({}).status, 200);
  const std::vector<trace_headers_seen> calls = upstream_calls();
  ASSERT_EQ(calls.size(), 5u);
  for (const trace_headers_seen& call : calls) EXPECT_EQ(call.traceparent, "") << call.path;
  const std::vector<json> lines = request_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(lines[0].contains("trace_id")) << lines[0].dump();
}

TEST_F(TraceContextTest, TraceGenerateStartsOneTracePerRequest) {
  start(/*generate=*/true);
  ASSERT_EQ(post({"tracestate: rojo=1"}).status, 200);
  const std::vector<trace_headers_seen> calls = upstream_calls();
  ASSERT_EQ(calls.size(), 5u);
  const std::vector<json> lines = request_lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string trace_id = lines[0].value("trace_id", "");
  ASSERT_EQ(trace_id.size(), 32u) << lines[0].dump();
  for (const trace_headers_seen& call : calls) {
    const auto sent = parse_traceparent(call.traceparent);
    ASSERT_TRUE(sent) << call.path << ": '" << call.traceparent << "'";
    EXPECT_EQ(sent->trace_id, trace_id) << call.path;
    EXPECT_EQ(sent->flags, started_trace_flags) << call.path;
    EXPECT_EQ(call.tracestate, "") << call.path;  // a caller's tracestate without its trace
  }
  // A caller's valid trace still wins.
  ASSERT_EQ(post({"traceparent: " + caller_traceparent("01")}).status, 200);
  EXPECT_EQ(request_lines().back().value("trace_id", ""), caller_trace_id);
}

}  // namespace
}  // namespace image_gateway::testing
