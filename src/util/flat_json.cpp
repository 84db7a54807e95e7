#include "image_gateway/util/flat_json.hpp"

#include "image_gateway/util/byte_scan.hpp"

namespace image_gateway {
namespace {

// A cursor over the text; every reader returns false when the text leaves the simple shape.
struct cursor {
  std::string_view text;
  std::size_t at = 0;

  void skip_space() {
    while (at < text.size() &&
           (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r')) {
      ++at;
    }
  }
  bool take(char c) {
    skip_space();
    if (at >= text.size() || text[at] != c) return false;
    ++at;
    return true;
  }
  // A string of plain bytes (printable ASCII, no '"' or '\\', so no escapes).
  bool string(std::string_view& out) {
    if (!take('"')) return false;
    const std::size_t end = json_plain_end(text, at);
    if (end >= text.size() || text[end] != '"') return false;
    out = text.substr(at, end - at);
    at = end + 1;
    return true;
  }
  bool value(std::optional<std::string_view>& out) {
    skip_space();
    if (text.substr(at, 4) == "null") {
      at += 4;
      out.reset();
      return true;
    }
    std::string_view s;
    if (!string(s)) return false;
    out = s;
    return true;
  }
};

}  // namespace

const flat_json_member* flat_json_object::find(std::string_view key) const {
  for (std::size_t i = 0; i < size; ++i) {
    if (members[i].key == key) return &members[i];
  }
  return nullptr;
}

std::optional<std::string_view> flat_json_object::duplicate_key() const {
  for (std::size_t i = 0; i < size; ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (members[i].key == members[j].key) return members[i].key;
    }
  }
  return std::nullopt;
}

std::optional<flat_json_object> read_flat_json_object(std::string_view text) {
  cursor in{text};
  flat_json_object object;
  if (!in.take('{')) return std::nullopt;
  if (!in.take('}')) {
    for (;;) {
      if (object.size == flat_json_object::max_members) return std::nullopt;
      flat_json_member& member = object.members[object.size++];
      if (!in.string(member.key) || !in.take(':') || !in.value(member.value)) return std::nullopt;
      if (in.take(',')) continue;
      if (in.take('}')) break;
      return std::nullopt;
    }
  }
  in.skip_space();
  if (in.at != text.size()) return std::nullopt;
  return object;
}

}  // namespace image_gateway
