#pragma once
// The request target as the routes see it (RFC 9112 3.2): origin-form "/path?query" as sent,
// and absolute-form "http://host:port/path?query" reduced to its path and query, as a server
// must accept it. Pure, so it is tested (and fuzzed) without sockets.
#include <optional>
#include <string>
#include <string_view>

namespace image_gateway {

struct origin_target {
  std::string target;  // "/path?query"
  std::string path;    // "/path"
};

// The origin-form of `target`, or nullopt when it carries userinfo ("http://user:pw@host/"):
// refused, because a secret in it would otherwise reach a detail or a log line. A target that is
// neither form (asterisk-form, a bare word) is kept as it is: it simply matches no route.
std::optional<origin_target> origin_form(std::string_view target);

// What the answer's detail says about a refused target; it never repeats the target.
inline constexpr std::string_view userinfo_in_target_detail =
    "the request target carries userinfo (user:password@): refused, and not repeated here";

}  // namespace image_gateway
