#include "wire_response.hpp"

#include <algorithm>

#include "image_gateway/util/byte_scan.hpp"

namespace image_gateway {
namespace {

// Beast trims field values when it stores them; so does the wire form below.
std::string_view trim_value(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

void append_field(std::string& head, std::string_view name, std::string_view value) {
  head.append(name).append(": ");
  value = trim_value(value);
  const std::size_t start = head.size();
  head.append(value);
  // Defence in depth: a CR or LF in a value would split the answer (header injection).
  if (has_line_break(value)) {
    for (auto c = head.begin() + static_cast<std::ptrdiff_t>(start); c != head.end(); ++c) {
      if (*c == '\r' || *c == '\n') *c = ' ';
    }
  }
  head.append("\r\n");
}
// The status line, Server and Content-Type of the last answer built on this thread.
struct start_lines {
  unsigned version = 0;
  int status = 0;
  std::string content_type;
  std::string text;
};

}  // namespace

// The bytes Beast's response serializer wrote (same status line, fields in the same order,
// Connection as message::keep_alive() sets it, Content-Length as prepare_payload() does),
// built in one string: Beast's per-field allocations and buffer-sequence machinery were ~10 %
// of the CPU of a small answer such as a 401.
wire_response to_wire_response(api_response&& answer, unsigned version, bool keep_alive) {
  wire_response wire;
  to_wire_response(std::move(answer), version, keep_alive, wire);
  return wire;
}

void to_wire_response(api_response&& answer, unsigned version, bool keep_alive,
                      wire_response& wire) {
  const auto status = static_cast<http::status>(answer.status);
  wire.head.clear();
  // Room for a small body too: the session sends a small answer as one piece, head and body.
  wire.head.reserve(160 + answer.content_type.size() + 48 * answer.headers.size() +
                    std::min(answer.body.size(), small_answer_bytes));
  // "HTTP/1.1 401 Unauthorized", Server and Content-Type are the same for every answer of one
  // status and type: built once per thread and kind of answer, then copied.
  thread_local start_lines last;
  if (last.version != version || last.status != answer.status ||
      last.content_type != answer.content_type) {
    last.version = version;
    last.status = answer.status;
    last.content_type = answer.content_type;
    last.text.clear();
    // The request's version, written as Beast writes it.
    last.text.append("HTTP/");
    last.text.push_back(static_cast<char>('0' + version / 10));
    last.text.push_back('.');
    last.text.push_back(static_cast<char>('0' + version % 10));
    last.text.push_back(' ');
    last.text.append(std::to_string(answer.status)).append(" ");
    last.text.append(http::obsolete_reason(status)).append("\r\n");
    append_field(last.text, "Server", "image-gateway");
    if (!answer.content_type.empty()) append_field(last.text, "Content-Type", answer.content_type);
  }
  wire.head.append(last.text);
  for (const auto& [name, value] : answer.headers) append_field(wire.head, name, value);
  // HTTP/1.1 is persistent unless told otherwise, HTTP/1.0 only when told (RFC 9112 9.3).
  if (version >= 11 && !keep_alive) append_field(wire.head, "Connection", "close");
  if (version < 11 && keep_alive) append_field(wire.head, "Connection", "keep-alive");
  append_field(wire.head, "Content-Length", std::to_string(answer.body.size()));
  wire.head.append("\r\n");
  wire.body = std::move(answer.body);
}

}  // namespace image_gateway
