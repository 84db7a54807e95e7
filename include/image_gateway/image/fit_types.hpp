#pragma once
// What a caller may ask of an image of the wrong size
// (docs/api.md#fitting-pictures-of-other-sizes-fit): the vocabulary shared by the request parsers
// (JSON and multipart), the fitter and the cache key.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace image_gateway {

enum class fit_mode { none, contain, cover };

// An opaque colour, 8 bits per channel.
struct rgb {
  unsigned char r = 0;
  unsigned char g = 0;
  unsigned char b = 0;
  friend bool operator==(const rgb&, const rgb&) = default;
};

inline constexpr rgb white{255, 255, 255};

// How large a source a fit accepts (config images.fit), checked on the header before any pixel
// is decoded; and how many requests with a fit may run at once (each holds sources of up to
// max_source_bytes: the gate keeps their memory bounded; more are refused with 503/27000).
struct fit_limits {
  std::size_t max_source_bytes = 10485760;
  std::size_t max_source_pixels = 16777216;
  std::size_t max_inflight = 8;
  // How many of those places one app may hold at once (0: half of max_inflight, at least 1);
  // over it the app is refused like when every place is taken, while other apps still fit.
  std::size_t max_inflight_per_app = 0;
};

// "none", "contain" or "cover" exactly (case-sensitive, as docs/api.md spells them); else nullopt.
std::optional<fit_mode> parse_fit(std::string_view text);
std::string_view to_string(fit_mode mode);

// "#RRGGBB" with hex digits of either case; anything else (no '#', 3 digits, alpha) is nullopt.
std::optional<rgb> parse_colour(std::string_view text);
// "#rrggbb", lowercase.
std::string to_hex(rgb colour);

// What the fit adds to an upload's identity, for the cache key: "" for none (so the keys of
// unfitted images are what they always were), "contain#rrggbb", or "cover" (the background
// never shows in a cover, so it does not split the cache).
std::string fit_cache_tag(fit_mode mode, rgb background);

}  // namespace image_gateway
