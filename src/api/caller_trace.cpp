#include <string_view>
#include <vector>

#include "gateway_impl.hpp"

namespace image_gateway {

trace_context caller_trace(const api_request& request, bool start_one) {
  std::vector<std::string_view> tracestates;
  for (const auto& [name, value] : request.headers) {
    if (name == "tracestate") tracestates.emplace_back(value);
  }
  return incoming_trace(request.header("traceparent"), tracestates, start_one);
}

}  // namespace image_gateway
