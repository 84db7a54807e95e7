// The one translation unit that compiles stb_image, hardened for hostile input: only the PNG and
// JPEG decoders, no file access, small maximum dimensions, and every allocation charged to a
// per-call budget so a small file that inflates to gigabytes fails cleanly
// (docs/security.md#hostile-images).
#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "jpeg_markers.hpp"
#include "pixel_decode.hpp"
#include "png_guard.hpp"
#include "stb_bridge.hpp"

namespace {

struct budget_context {
  std::size_t limit = 0;
  std::size_t in_use = 0;
  bool exceeded = false;
};

// Set for the duration of one stb call on this thread; stb is called from worker threads.
thread_local budget_context* current_budget = nullptr;

// Every block carries its size in front, so free and realloc can account for it.
constexpr std::size_t header_size = alignof(std::max_align_t);
static_assert(header_size >= sizeof(std::size_t));

std::size_t& block_size(void* base) { return *static_cast<std::size_t*>(base); }

bool charge(std::size_t old_size, std::size_t new_size) {
  budget_context* budget = current_budget;
  if (budget == nullptr || new_size <= old_size) return true;
  std::size_t more = new_size - old_size;
  if (more > budget->limit - budget->in_use) {
    budget->exceeded = true;
    return false;
  }
  return true;
}

void account(std::size_t old_size, std::size_t new_size) {
  budget_context* budget = current_budget;
  if (budget == nullptr) return;
  // A block from outside this budget's call must not wrap the count below zero.
  budget->in_use = old_size > budget->in_use ? 0 : budget->in_use - old_size;
  budget->in_use += new_size;
}

// Which blocks are zeroed. On hostile input stb can read memory it never wrote (see
// jpeg_hazard): in its decoder state (Huffman and quantisation tables, component descriptors:
// stbi__jpeg is ~20 KiB, read here for headers only, the PNG and zlib state far less), where a
// stale byte could become an index, zeros keep such reads in bounds and deterministic. Blocks
// of 64 KiB and more are image data (zlib output, pixel rows): stb reads back only what it
// wrote there (zlib distances and PNG row lengths are checked), so zeroing them (memset of
// megabytes, ~30 % of a decode) bought nothing. The budget still counts every byte, zeroed or
// not.
constexpr std::size_t zeroed_below = 64 * 1024;

void* budget_malloc(std::size_t size) {
  if (size > SIZE_MAX - header_size || !charge(0, size)) return nullptr;
  void* base =
      size < zeroed_below ? std::calloc(1, header_size + size) : std::malloc(header_size + size);
  if (base == nullptr) return nullptr;
  block_size(base) = size;
  account(0, size);
  return static_cast<char*>(base) + header_size;
}

void budget_free(void* pointer) {
  if (pointer == nullptr) return;
  void* base = static_cast<char*>(pointer) - header_size;
  account(block_size(base), 0);
  std::free(base);
}

// On failure the old block stays valid and charged, as realloc promises; stb frees it.
void* budget_realloc(void* pointer, std::size_t size) {
  if (pointer == nullptr) return budget_malloc(size);
  void* base = static_cast<char*>(pointer) - header_size;
  std::size_t old_size = block_size(base);
  if (size > SIZE_MAX - header_size || !charge(old_size, size)) return nullptr;
  void* grown = std::realloc(base, header_size + size);
  if (grown == nullptr) return nullptr;
  if (size > old_size && size < zeroed_below)
    std::memset(static_cast<char*>(grown) + header_size + old_size, 0, size - old_size);
  block_size(grown) = size;
  account(old_size, size);
  return static_cast<char*>(grown) + header_size;
}

class scoped_budget {
 public:
  explicit scoped_budget(std::size_t limit) : previous_(current_budget) {
    context_.limit = limit;
    current_budget = &context_;
  }
  ~scoped_budget() { current_budget = previous_; }
  scoped_budget(const scoped_budget&) = delete;
  scoped_budget& operator=(const scoped_budget&) = delete;

  const budget_context& context() const { return context_; }

 private:
  budget_context context_;
  budget_context* previous_;
};

// stb_image 2.27 (Debian 12's copy) trusts two things in a JPEG that a hostile file can break,
// both found by fuzzing this gate and fixed upstream only in 2.28:
//  - a DHT table with more than 256 codes overflows the table arrays inside stb's decoder state;
//  - a scan that uses a Huffman table no DHT defined reads uninitialised tables (out-of-bounds
//    reads, and an assertion failure in debug builds).
// This walks the file as stb does (segments by their length; junk and entropy-coded data up to
// the next 0xFF followed by a marker other than 0x00 or a restart, which is where stb's reader
// stops too) and names the first such hazard, before stb sees any byte. Where stb would refuse
// the file anyway the walk just goes on, so it sees every DHT and SOS stb could act on.
std::optional<std::string> jpeg_hazard(std::span<const unsigned char> bytes) {
  const std::size_t n = bytes.size();
  auto at = [&](std::size_t i) -> unsigned { return i < n ? bytes[i] : 0U; };  // stb reads 0 at EOF
  // stb's SOI test: 0xFF, any number of fill 0xFF, then 0xD8.
  if (at(0) != 0xff) return std::nullopt;
  std::size_t soi = 1;
  while (soi < n && bytes[soi] == 0xff) ++soi;
  if (at(soi) != 0xd8) return std::nullopt;
  bool dc_defined[4] = {};
  bool ac_defined[4] = {};
  bool progressive = false;
  std::size_t pos = soi + 1;
  while (pos < n) {
    const std::size_t ff = image_gateway::next_ff(bytes, pos);
    std::size_t q = ff + 1;
    while (q < n && bytes[q] == 0xff) ++q;  // fill bytes
    if (q >= n) break;
    unsigned marker = bytes[q];
    pos = q + 1;
    bool standalone = marker == 0x00 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7);
    if (standalone) continue;   // inside a scan: stuffed 0xFF or restart; outside: stb refuses
    if (marker == 0xd9) break;  // EOI: stb reads no further
    std::size_t length = (std::size_t{at(pos)} << 8) | at(pos + 1);
    if (marker == 0xc4) {
      // Exactly stb's loop: each table is read whole, even past the segment's stated length.
      long remaining = static_cast<long>(length) - 2;
      std::size_t p = pos + 2;
      while (remaining > 0) {
        unsigned tc = at(p) >> 4;
        unsigned th = at(p) & 15U;
        if (tc > 1 || th > 3) break;  // stb refuses the file here
        unsigned codes = 0;
        for (std::size_t i = 1; i <= 16; ++i) codes += at(p + i);
        if (codes > 256) return std::string("bad DHT table: more than 256 codes");
        (tc == 0 ? dc_defined : ac_defined)[th] = true;
        p += 17 + codes;
        remaining -= 17 + static_cast<long>(codes);
      }
    } else if (marker >= 0xc0 && marker <= 0xc2) {
      progressive = marker == 0xc2;
    } else if (marker == 0xda) {
      unsigned components = std::min(at(pos + 2), 4U);
      unsigned spectral_start = at(pos + 3 + 2 * components);
      bool uses_dc = !progressive || spectral_start == 0;
      bool uses_ac = !progressive || spectral_start > 0;
      for (unsigned i = 0; i < components; ++i) {
        unsigned tables = at(pos + 4 + 2 * i);
        unsigned dc = tables >> 4;
        unsigned ac = tables & 15U;
        if ((uses_dc && dc <= 3 && !dc_defined[dc]) || (uses_ac && ac <= 3 && !ac_defined[ac])) {
          return std::string("scan uses an undefined Huffman table");
        }
      }
    }
    pos += length;  // past a scan header, the entropy-coded data is skipped like junk above
  }
  return std::nullopt;
}

}  // namespace

#define STBI_MALLOC(size) budget_malloc(size)
#define STBI_REALLOC(pointer, size) budget_realloc(pointer, size)
#define STBI_FREE(pointer) budget_free(pointer)

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
// Large enough for the panoramas a fit accepts; memory is bounded by the budget, not by this.
#define STBI_MAX_DIMENSIONS 16384

// Third-party code: its warnings are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#include <stb_image.h>
#pragma GCC diagnostic pop

static_assert(STBI_MAX_DIMENSIONS == image_gateway::stb_bridge::max_dimension);

namespace image_gateway::stb_bridge {

namespace {

// Memory allowed for reading a header (stb's JPEG reader allocates its ~20 KB state).
constexpr std::size_t header_budget = 1024 * 1024;

// stbi_failure_reason() is thread_local in C++ builds of stb (STBI_THREAD_LOCAL), so the reason
// read here is this thread's own; cleared before each call, it is that call's, never a reason
// left by an earlier image. Two failures come without usable words: some corrupt data fails with
// no reason at all (a deflate block of the reserved type 3), and an unknown critical PNG chunk is
// worded in one static buffer for all threads, "XXXX PNG chunk not known" with the chunk type's
// raw bytes, cut short to "" or "I" by a zero byte.
void clear_failure_reason() { stbi__g_failure_reason = nullptr; }

std::string failure_reason() {
  const char* reason = stbi_failure_reason();
  if (reason == nullptr) return "corrupt image data, the decoder gave no reason";
  const std::string_view text(reason);
  // Every reason stb words itself is a literal of at least 5 characters.
  if (text.size() < 4 || text.ends_with(" PNG chunk not known"))
    return "unknown critical PNG chunk";
  return std::string(text);
}

}  // namespace

header_info info(std::span<const unsigned char> bytes) {
  header_info result;
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    result.why = "too large";
    return result;
  }
  if (auto hazard = jpeg_hazard(bytes)) {
    result.format = image_format::jpeg;
    result.why = *hazard;
    return result;
  }
  scoped_budget budget(header_budget);
  clear_failure_reason();
  const auto* data = bytes.data();
  int length = static_cast<int>(bytes.size());

  // What stbi_info_from_memory does, decoder by decoder, so that the failure reason of the
  // decoder that claims the bytes survives (stbi_info_from_memory replaces it with "unknown
  // image type") and we learn which decoder that was.
  stbi__context context;
  stbi__start_mem(&context, data, length);
  int components = 0;
  int ok = 0;
  if (stbi__png_test(&context) != 0) {
    result.format = image_format::png;
    ok = stbi__png_info(&context, &result.width, &result.height, &components);
  } else if (stbi__jpeg_test(&context) != 0) {
    result.format = image_format::jpeg;
    ok = stbi__jpeg_info(&context, &result.width, &result.height, &components);
  } else {
    stbi__err("unknown image type", "Image not of any known type, or corrupt");
  }
  if (ok == 0) {
    result.why = failure_reason();
    return result;
  }
  result.ok = true;
  return result;
}

}  // namespace image_gateway::stb_bridge

namespace image_gateway::pixel_decode {

namespace {
void release_stb_pixels(void* pixels) { stbi_image_free(pixels); }
}  // namespace

decoded_pixels decode_png(std::span<const unsigned char> bytes, int channels,
                          std::size_t budget_bytes) {
  decoded_pixels result;
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    result.why = "too large";
    return result;
  }
  png_guard::verdict guarded = png_guard::check(bytes);
  if (guarded.refusal) {
    result.why = *guarded.refusal;
    return result;
  }
  if (!guarded.rewritten.empty()) {  // a copy with its palette padded, no larger than 1 KiB more
    bytes = {reinterpret_cast<const unsigned char*>(guarded.rewritten.data()),
             guarded.rewritten.size()};
  }
  scoped_budget budget(budget_bytes);
  stb_bridge::clear_failure_reason();
  int components = 0;
  stbi__context context;
  stbi__start_mem(&context, bytes.data(), static_cast<int>(bytes.size()));
  // PNG only: stb's JPEG decoder never sees pixel data (see pixel_decode.hpp).
  if (stbi__png_test(&context) == 0) {
    result.why = "not a PNG image";
    return result;
  }
  result.pixels =
      pixel_buffer(stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()),
                                         &result.width, &result.height, &components, channels),
                   pixel_deleter{release_stb_pixels});
  if (!result.pixels) {
    result.over_budget = budget.context().exceeded;
    result.why = stb_bridge::failure_reason();
    return result;
  }
  result.channels = channels == 0 ? components : channels;
  return result;
}

}  // namespace image_gateway::pixel_decode
