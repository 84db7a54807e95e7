#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace image_gateway::oppo {

struct multipart_part {
  std::string name;
  std::string filename;      // empty for a text part
  std::string content_type;  // empty when the part did not say
  std::string data;
};

// The boundary parameter of a multipart/form-data Content-Type, or nullopt.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// Splits a multipart/form-data body (RFC 7578); nullopt when it is malformed.
std::optional<std::vector<multipart_part>> parse_multipart(std::string_view body,
                                                           std::string_view boundary);

}  // namespace image_gateway::oppo
