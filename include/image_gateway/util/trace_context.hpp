#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace image_gateway {

// A caller's W3C Trace Context (`traceparent` and `tracestate`), continued on the calls the
// gateway makes for the request: same trace id, the gateway's own parent id per call, flags kept.
// Empty (no trace_id) when there is none to continue.
struct trace_context {
  std::string trace_id;    // 32 lowercase hex digits, not all zero
  std::uint8_t flags = 0;  // trace-flags (bit 0: sampled)
  std::string tracestate;  // forwarded as it came, or "" (dropped when not well formed)

  bool empty() const { return trace_id.empty(); }
};

// The trace-flags byte of a trace the gateway starts itself: sampled, so that services called
// with it record their part.
inline constexpr std::uint8_t started_trace_flags = 0x01;

// Reads a `traceparent` value: version 00 is exactly "00-<32 hex>-<16 hex>-<2 hex>" in lowercase
// hex with neither id all zero; version ff is invalid; a later version is read at the same
// positions, may carry more fields after a '-', and keeps only its sampled flag. nullopt for
// anything else (a malformed value is ignored, never echoed).
std::optional<trace_context> parse_traceparent(std::string_view value);

// A `tracestate` value worth forwarding: at most 512 bytes and 32 list members, printable ASCII
// (tabs and spaces allowed), each non-empty member "key=value". "" otherwise.
std::string sane_tracestate(std::string_view value);

// The caller's trace from its headers (several `tracestate` headers are joined with ','), or,
// when it sent none valid and `start_one` is set, a new trace with a random id.
trace_context incoming_trace(std::string_view traceparent,
                             const std::vector<std::string_view>& tracestates, bool start_one);

// Adds the headers ("Name: value") of one outgoing call in `trace` (none when it is empty): a
// `traceparent` of version 00 with a new random parent id (this call's span), and the
// `tracestate` if any.
void add_trace_headers(std::vector<std::string>& headers, const trace_context& trace);

// A random non-zero id of `digits` lowercase hex digits (16: a parent id, 32: a trace id).
std::string random_trace_id(std::size_t digits);

}  // namespace image_gateway
