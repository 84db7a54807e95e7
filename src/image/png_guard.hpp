#pragma once
// What stb_image 2.27's PNG decoder must not be given as it is (stb_image_impl.cpp consults this
// before every PNG decode). Pure: bytes in, a verdict out.
#include <optional>
#include <span>
#include <string>

namespace image_gateway::png_guard {

struct verdict {
  std::optional<std::string> refusal;  // a reason to refuse the file before stb sees it
  std::string rewritten;               // when not empty: decode these bytes instead
};

// Two things, both found reading or fuzzing stb 2.27:
//  - an empty IDAT chunk before the image data makes stb copy from a null pointer: refused;
//  - a pixel whose palette index lies past the PLTE's entries makes stb read bytes of its
//    palette array that nothing wrote (stack memory of an earlier call), which a fit would then
//    re-encode and upload. A short PLTE is therefore padded to 256 opaque black entries in a
//    copy (stb skips CRCs), so such pixels come out black; a tRNS with more entries than the
//    file's own palette is refused, as stb refused it before the padding.
// Anything else, malformed or not, is left for stb to judge.
verdict check(std::span<const unsigned char> bytes);

}  // namespace image_gateway::png_guard
