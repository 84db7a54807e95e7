#include "image_gateway/server/request_target.hpp"

#include <algorithm>

#include "image_gateway/util/strings.hpp"

namespace image_gateway {
namespace {

// "http://" or "https://" in any case: the length of the prefix, or 0.
std::size_t scheme_length(std::string_view target) {
  for (const std::string_view scheme :
       {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      return scheme.size();
    }
  }
  return 0;
}

}  // namespace

std::optional<origin_target> origin_form(std::string_view target) {
  origin_target origin;
  if (const std::size_t scheme = scheme_length(target); scheme > 0) {
    // The authority runs to the first '/', '?' or '#' (RFC 3986 3.2).
    const std::string_view rest = target.substr(scheme);
    const std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
    if (rest.substr(0, authority_end).find('@') != std::string_view::npos) return std::nullopt;
    const std::string_view after = rest.substr(authority_end);
    origin.target = after.starts_with('/') ? std::string(after) : "/" + std::string(after);
  } else if (!target.starts_with('/') && target.find('@') != std::string_view::npos) {
    // "user:pw@host/p" without a scheme: no form a server accepts, and userinfo all the same.
    return std::nullopt;
  } else {
    origin.target = std::string(target);
  }
  origin.path = origin.target.substr(0, origin.target.find('?'));
  return origin;
}

}  // namespace image_gateway
