#pragma once
// The common request body, read without a JSON tree: one object whose members are all strings
// or null, written in plain ASCII without escapes ({"big_picture_url":"https://…", …}).
// Anything else (numbers, nesting, escapes, non-ASCII, too many members) is left to the full
// parser: for what this accepts, both read the same keys and values, byte for byte.
#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace image_gateway {

struct flat_json_member {
  std::string_view key;
  std::optional<std::string_view> value;  // nullopt: null
};

struct flat_json_object {
  static constexpr std::size_t max_members = 8;
  std::array<flat_json_member, max_members> members;
  std::size_t size = 0;

  // The first member with this key, or nullptr.
  const flat_json_member* find(std::string_view key) const;
  // The first key given twice, if any.
  std::optional<std::string_view> duplicate_key() const;
};

// The object, or nullopt when `text` is not of that simple shape (which says nothing about
// whether it is valid JSON).
std::optional<flat_json_object> read_flat_json_object(std::string_view text);

}  // namespace image_gateway
