#include "image_gateway/util/json_duplicates.hpp"

namespace image_gateway {

nlohmann::json::parser_callback_t duplicate_key_watch::callback() {
  return [this](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    return on_event(event, parsed);
  };
}

std::string duplicate_key_watch::path() const {
  std::string path;
  for (const frame& f : stack_) {
    if (f.is_array) {
      path += "[" + std::to_string(f.index) + "]";
    } else {
      path += (path.empty() ? "" : ".") + f.key;
    }
  }
  return path;
}

bool duplicate_key_watch::on_event(nlohmann::json::parse_event_t event,
                                   const nlohmann::json& parsed) {
  using event_t = nlohmann::json::parse_event_t;
  const auto element_done = [this] {
    if (!stack_.empty() && stack_.back().is_array) ++stack_.back().index;
  };
  switch (event) {
    case event_t::object_start:
      stack_.emplace_back();
      break;
    case event_t::array_start:
      stack_.emplace_back().is_array = true;
      break;
    case event_t::key:
      if (!stack_.empty()) {
        frame& object = stack_.back();
        object.key = parsed.get<std::string>();
        if (!object.keys.insert(object.key).second && !first_) first_ = path();
      }
      break;
    case event_t::object_end:
    case event_t::array_end:
      if (!stack_.empty()) stack_.pop_back();
      element_done();
      break;
    case event_t::value:
      element_done();
      break;
  }
  return true;
}

}  // namespace image_gateway
