#pragma once
// Where a source lands in the target for contain and cover: pure integer arithmetic, no pixels.
#include "image_gateway/image/fit_types.hpp"

namespace image_gateway {

struct fit_plan {
  // The whole source scaled, aspect ratio kept (rounded to the nearest pixel, at least 1).
  // contain: it fits inside the target (one side equal to the target's); cover: it covers the
  // target (one side equal, the other at least the target's).
  long long scaled_width = 0;
  long long scaled_height = 0;
  // contain: the top-left corner of the scaled image on the target canvas; the bars are the
  // rest, and where the free space is odd the right/bottom bar is one pixel wider.
  // cover: the top-left corner of the target-sized window kept from the scaled image; the
  // overflow is cropped equally from both sides (the right/bottom side one more when odd).
  long long x = 0;
  long long y = 0;
};

// Requires positive sizes and mode contain or cover (none gives the source unscaled at 0,0).
fit_plan plan_fit(int source_width, int source_height, int target_width, int target_height,
                  fit_mode mode);

// Shrink-on-load: how far a decoder may reduce a width x height source before the final filter
// and still leave at least min_width x min_height pixels (so that filter only ever shrinks).
// Requires positive sizes.
//  - JPEG (libjpeg-turbo's DCT scaling, each side ceil(side * M / 8)): the smallest M in 1..8
//    that leaves enough; 8 (a full decode) when no smaller one does.
//  - PNG (a box reduction by an integer factor k, each side ceil(side / k)): the largest k that
//    leaves enough; 1 when none does.
int jpeg_scale_eighths(int width, int height, long long min_width, long long min_height);
int box_reduction_factor(int width, int height, long long min_width, long long min_height);

}  // namespace image_gateway
