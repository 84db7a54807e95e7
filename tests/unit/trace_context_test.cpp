#include "image_gateway/util/trace_context.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace image_gateway {
namespace {

constexpr const char* trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, Version00IsRead) {
  const auto context = parse_traceparent(valid);
  ASSERT_TRUE(context);
  EXPECT_EQ(context->trace_id, trace_id);
  EXPECT_EQ(context->flags, 0x01);
  EXPECT_TRUE(context->tracestate.empty());
  // Every flag bit of version 00 is kept, not only "sampled".
  const auto unsampled =
      parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled);
  EXPECT_EQ(unsampled->flags, 0x00);
  EXPECT_EQ(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")->flags,
            0x03);
}

TEST(Traceparent, WrongLengthsAreRefused) {
  const std::string v = valid;
  EXPECT_FALSE(parse_traceparent(""));
  EXPECT_FALSE(parse_traceparent(v.substr(0, 54)));  // one flag digit short
  EXPECT_FALSE(parse_traceparent(v + "0"));
  EXPECT_FALSE(parse_traceparent(v + "-extra"));  // version 00 has no more fields
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b77-1"));
  EXPECT_FALSE(parse_traceparent("0-04bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent(" " + v));
  EXPECT_FALSE(parse_traceparent(v + " "));
}

TEST(Traceparent, UppercaseAndJunkAreRefused) {
  EXPECT_FALSE(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A"));
  EXPECT_FALSE(parse_traceparent("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"));
  EXPECT_FALSE(parse_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7\r\n01"));
  EXPECT_FALSE(parse_traceparent(std::string(55, 'x')));
  EXPECT_FALSE(parse_traceparent("not a traceparent at all, just some text of length 55.."));
}

TEST(Traceparent, AllZeroIdsAreRefused) {
  EXPECT_FALSE(parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
}

TEST(Traceparent, VersionFfIsInvalid) {
  EXPECT_FALSE(parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-aa"));
}

TEST(Traceparent, LaterVersionsAreReadAtTheVersion00Positions) {
  const auto exact = parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->trace_id, trace_id);
  EXPECT_EQ(exact->flags, 0x01);
  // More fields after a '-' are allowed; only the sampled flag is kept (the gateway speaks 00).
  const auto longer =
      parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-the-future");
  ASSERT_TRUE(longer);
  EXPECT_EQ(longer->trace_id, trace_id);
  EXPECT_EQ(longer->flags, 0x01);
  EXPECT_EQ(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02")->flags, 0);
  // But what follows the flags must start a field.
  EXPECT_FALSE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
  // Its fields are still checked.
  EXPECT_FALSE(parse_traceparent("cc-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0X-a"));
}

TEST(Tracestate, WellFormedListsAreForwardedAsTheyCame) {
  EXPECT_EQ(sane_tracestate("congo=t61rcWkgMzE"), "congo=t61rcWkgMzE");
  EXPECT_EQ(sane_tracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");
  EXPECT_EQ(sane_tracestate("a=1,,b=2"), "a=1,,b=2");  // empty members are allowed
  EXPECT_EQ(sane_tracestate(""), "");
  EXPECT_EQ(sane_tracestate(" , "), "");
}

TEST(Tracestate, MalformedOrOversizedListsAreDropped) {
  EXPECT_EQ(sane_tracestate("novalue"), "");
  EXPECT_EQ(sane_tracestate("=value"), "");
  EXPECT_EQ(sane_tracestate("key="), "");
  EXPECT_EQ(sane_tracestate("a=1\r\nx-injected: yes"), "");
  EXPECT_EQ(sane_tracestate("a=\x01"), "");
  EXPECT_EQ(sane_tracestate("k=" + std::string(511, 'v')), "");
  std::string many;
  for (int i = 0; i < 33; ++i) many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_EQ(sane_tracestate(many), "");
  many = many.substr(0, many.rfind(','));  // 32 members: fine
  EXPECT_EQ(sane_tracestate(many), many);
}

TEST(IncomingTrace, CallersTraceIsContinuedWithItsTracestate) {
  const trace_context context =
      incoming_trace(valid, {"rojo=00f067aa0ba902b7", "congo=t61"}, false);
  EXPECT_EQ(context.trace_id, trace_id);
  EXPECT_EQ(context.flags, 0x01);
  EXPECT_EQ(context.tracestate, "rojo=00f067aa0ba902b7,congo=t61");
}

TEST(IncomingTrace, MalformedTraceparentMeansNoTraceAndNoTracestate) {
  const trace_context context =
      incoming_trace("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", {"a=1"}, false);
  EXPECT_TRUE(context.empty());
  EXPECT_TRUE(context.tracestate.empty());
  EXPECT_TRUE(incoming_trace("", {}, false).empty());
}

TEST(IncomingTrace, StartsATraceOnlyWhenAsked) {
  const trace_context started = incoming_trace("junk", {"a=1"}, true);
  ASSERT_EQ(started.trace_id.size(), 32u);
  EXPECT_TRUE(parse_traceparent("00-" + started.trace_id + "-00f067aa0ba902b7-01"));
  EXPECT_EQ(started.flags, started_trace_flags);
  EXPECT_TRUE(started.tracestate.empty());
  EXPECT_NE(incoming_trace("", {}, true).trace_id, started.trace_id);
  // A caller's valid trace wins over starting one.
  EXPECT_EQ(incoming_trace(valid, {}, true).trace_id, trace_id);
}

TEST(OutgoingTrace, EachCallGetsItsOwnParentIdInTheCallersTrace) {
  const trace_context context = incoming_trace(valid, {"congo=t61"}, false);
  std::vector<std::string> first = {"Accept: image/png"};
  add_trace_headers(first, context);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0], "Accept: image/png");  // kept
  first.erase(first.begin());
  std::vector<std::string> second;
  add_trace_headers(second, context);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(first[1], "tracestate: congo=t61");
  const std::string prefix = "traceparent: ";
  ASSERT_EQ(first[0].substr(0, prefix.size()), prefix);
  const auto sent = parse_traceparent(first[0].substr(prefix.size()));
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->trace_id, trace_id);
  EXPECT_EQ(sent->flags, 0x01);
  EXPECT_EQ(first[0].substr(prefix.size(), 3), "00-");
  const std::string parent = first[0].substr(prefix.size() + 36, 16);
  EXPECT_NE(parent, "00f067aa0ba902b7");  // the gateway's own span, not the caller's
  EXPECT_NE(parent, second[0].substr(prefix.size() + 36, 16));
}

TEST(OutgoingTrace, FlagsAreWrittenAsTwoHexDigitsAndNoTraceSendsNothing) {
  trace_context context;
  std::vector<std::string> none;
  add_trace_headers(none, context);
  EXPECT_TRUE(none.empty());
  context.trace_id = trace_id;
  context.flags = 0xa0;
  std::vector<std::string> headers;
  add_trace_headers(headers, context);
  ASSERT_EQ(headers.size(), 1u);  // no tracestate header without one
  EXPECT_EQ(headers[0].substr(headers[0].size() - 3), "-a0");
}

}  // namespace
}  // namespace image_gateway
