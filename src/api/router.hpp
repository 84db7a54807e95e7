#pragma once

#include <string_view>

namespace image_gateway {

enum class route { image_upload, health, ready, metrics, not_found };

// Which endpoint a method and path (query string already removed) go to. A known path with the
// wrong method is not_found too (21001 covers both: docs/api.md#errors).
route resolve_route(std::string_view method, std::string_view path);

}  // namespace image_gateway
