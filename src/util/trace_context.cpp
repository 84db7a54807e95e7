#include "image_gateway/util/trace_context.hpp"

#include <algorithm>

#include "image_gateway/util/random_hex.hpp"

namespace image_gateway {

namespace {

bool lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zero(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '0'; });
}

int hex_value(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

constexpr std::size_t version_00_size = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2
constexpr std::size_t max_tracestate_bytes = 512;
constexpr std::size_t max_tracestate_members = 32;

}  // namespace

std::optional<trace_context> parse_traceparent(std::string_view value) {
  if (value.size() < version_00_size) return std::nullopt;
  const std::string_view version = value.substr(0, 2);
  const std::string_view trace_id = value.substr(3, 32);
  const std::string_view parent_id = value.substr(36, 16);
  const std::string_view flags = value.substr(53, 2);
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  if (!lower_hex(version) || !lower_hex(trace_id) || !lower_hex(parent_id) || !lower_hex(flags)) {
    return std::nullopt;
  }
  if (version == "ff" || all_zero(trace_id) || all_zero(parent_id)) return std::nullopt;
  const bool version_00 = version == "00";
  // Version 00 ends after its flags; a later version may add fields, each after a '-'.
  if (version_00 && value.size() != version_00_size) return std::nullopt;
  if (!version_00 && value.size() > version_00_size && value[version_00_size] != '-') {
    return std::nullopt;
  }
  trace_context context;
  context.trace_id = std::string(trace_id);
  const auto byte = static_cast<std::uint8_t>(hex_value(flags[0]) * 16 + hex_value(flags[1]));
  // The gateway speaks version 00: of a later version's flags, only the sampled bit is known.
  context.flags = version_00 ? byte : static_cast<std::uint8_t>(byte & 0x01);
  return context;
}

std::string sane_tracestate(std::string_view value) {
  if (value.size() > max_tracestate_bytes) return {};
  std::size_t members = 0;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view member = value.substr(start, end - start);
    while (!member.empty() && (member.front() == ' ' || member.front() == '\t')) {
      member.remove_prefix(1);
    }
    while (!member.empty() && (member.back() == ' ' || member.back() == '\t')) {
      member.remove_suffix(1);
    }
    if (!member.empty()) {
      const std::size_t equals = member.find('=');
      if (equals == 0 || equals == std::string_view::npos || equals + 1 == member.size()) return {};
      for (const char c : member) {
        if (c < 0x20 || c > 0x7e) return {};
      }
      if (++members > max_tracestate_members) return {};
    }
    start = end + 1;
  }
  return members == 0 ? std::string() : std::string(value);
}

trace_context incoming_trace(std::string_view traceparent,
                             const std::vector<std::string_view>& tracestates, bool start_one) {
  if (std::optional<trace_context> caller = parse_traceparent(traceparent)) {
    std::string joined;
    for (const std::string_view part : tracestates) {
      if (!joined.empty()) joined += ',';
      joined += part;
    }
    caller->tracestate = sane_tracestate(joined);
    return std::move(*caller);
  }
  trace_context context;
  if (start_one) {
    context.trace_id = random_trace_id(32);
    context.flags = started_trace_flags;
  }
  return context;
}

void add_trace_headers(std::vector<std::string>& headers, const trace_context& trace) {
  if (trace.empty()) return;
  static constexpr char hex_digits[] = "0123456789abcdef";
  std::string parent = "traceparent: 00-";
  parent += trace.trace_id;
  parent += '-';
  parent += random_trace_id(16);
  parent += '-';
  parent += hex_digits[trace.flags >> 4];
  parent += hex_digits[trace.flags & 0xf];
  headers.push_back(std::move(parent));
  if (!trace.tracestate.empty()) headers.push_back("tracestate: " + trace.tracestate);
}

std::string random_trace_id(std::size_t digits) {
  std::string id = random_hex(digits);
  while (all_zero(id)) id = random_hex(digits);  // an all-zero id is invalid
  return id;
}

}  // namespace image_gateway
