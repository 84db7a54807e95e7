#include "dry_run.hpp"

#include <nlohmann/json.hpp>

namespace image_gateway {
namespace {

std::string_view format_name(image_format format) {
  return format == image_format::png ? "png" : "jpeg";
}

}  // namespace

std::string dry_run_body(const std::vector<dry_run_image>& images) {
  nlohmann::ordered_json body = nlohmann::ordered_json::object();
  for (const dry_run_image& image : images) {
    nlohmann::ordered_json facts;
    facts["format"] = format_name(image.facts.format);
    facts["width"] = image.facts.width;
    facts["height"] = image.facts.height;
    facts["bytes"] = image.bytes;
    facts["sha256"] = image.sha256;
    facts["cached"] = image.cached;
    if (image.fitted) facts["fitted"] = *image.fitted;
    body[std::string(kind_name(image.kind))] = std::move(facts);
  }
  return body.dump();
}

}  // namespace image_gateway
