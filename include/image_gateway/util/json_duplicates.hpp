#pragma once
// Keys given twice in one JSON object, found while nlohmann::json parses: it keeps the last one
// silently, so a reader that keeps the first (a validator in front, another config tool) would
// see another document. Include only where nlohmann::json is used already.
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace image_gateway {

class duplicate_key_watch {
 public:
  // The callback to parse with: nlohmann::json::parse(text, watch.callback(), ...). It refers to
  // this object, which must outlive the parse, and keeps every value.
  nlohmann::json::parser_callback_t callback();

  // The first key an object gave twice, as a path from the root: just the key at the top level
  // ("big_picture_url"), else "server.port", "apps[2].app_key"; nullopt when none. Keys are
  // compared as decoded ("a\u005fb" is "a_b"), at any depth.
  const std::optional<std::string>& first_duplicate() const { return first_; }

 private:
  struct frame {
    bool is_array = false;
    std::size_t index = 0;  // of the element being read, in an array
    std::string key;        // the last key read, in an object
    std::set<std::string> keys;
  };
  std::string path() const;
  bool on_event(nlohmann::json::parse_event_t event, const nlohmann::json& parsed);

  std::vector<frame> stack_;
  std::optional<std::string> first_;
};

}  // namespace image_gateway
