#pragma once
// An api_response in its HTTP/1.1 wire form, for every answer the server writes.
#include <array>
#include <cstddef>
#include <string>

#include "beast.hpp"
#include "image_gateway/api/http_types.hpp"

namespace image_gateway {

// An answer ready for the socket: the status line and fields, and the body beside them so that
// one gather write sends both without copying the body.
// Answers up to this size (head and body) are sent as one piece, with one send(2).
inline constexpr std::size_t small_answer_bytes = 16 * 1024;

struct wire_response {
  std::string head;
  std::string body;

  std::array<net::const_buffer, 2> buffers() const {
    return {net::buffer(head), net::buffer(body)};
  }
};

// The status line for `version` (11 = HTTP/1.1), Server, Content-Type, the answer's own fields,
// Connection when it differs from the version's default, Content-Length. A CR or LF inside a
// field value becomes a space.
wire_response to_wire_response(api_response&& answer, unsigned version, bool keep_alive);
// The same into `out`, whose head keeps its room from an earlier answer.
void to_wire_response(api_response&& answer, unsigned version, bool keep_alive, wire_response& out);

}  // namespace image_gateway
