#include "image_gateway/image/image_check.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include "image_gateway/util/strings.hpp"
#include "jpeg_markers.hpp"
#include "pixel_decode.hpp"
#include "stb_bridge.hpp"

namespace image_gateway {

namespace {

constexpr unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};

// Progressive JPEGs are decoded scan by scan; each scan is a pass over every block, so a file made
// of thousands of tiny scans costs CPU out of all proportion to its size. Real encoders use about
// ten; 64 is generous.
constexpr std::size_t max_jpeg_scans = 64;

bool starts_with(std::span<const unsigned char> bytes, std::string_view prefix) {
  if (bytes.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (bytes[i] != static_cast<unsigned char>(prefix[i])) return false;
  }
  return true;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (ascii_lower(text[i]) != prefix[i]) return false;
  }
  return true;
}

// What a refused file most likely is, for the detail; empty when there is no good guess.
std::string looks_like(std::span<const unsigned char> bytes) {
  if (bytes.empty()) return "it is empty";
  if (starts_with(bytes, "GIF87a") || starts_with(bytes, "GIF89a")) return "it looks like GIF";
  if (bytes.size() >= 12 && starts_with(bytes, "RIFF") && starts_with(bytes.subspan(8), "WEBP")) {
    return "it looks like WebP";
  }
  if (bytes.size() >= 12 && starts_with(bytes.subspan(4), "ftyp")) {
    return "it looks like AVIF/HEIC or another ISO media file";
  }
  if (starts_with(bytes, "BM")) return "it looks like BMP";
  if (starts_with(bytes, std::string_view("II*\0", 4)) ||
      starts_with(bytes, std::string_view("MM\0*", 4))) {
    return "it looks like TIFF";
  }
  if (starts_with(bytes, "%PDF")) return "it looks like PDF";

  // Markup: skip a UTF-8 byte order mark and leading white space, then read a little text.
  std::size_t start = starts_with(bytes, "\xEF\xBB\xBF") ? 3 : 0;
  while (start < bytes.size() && (bytes[start] == ' ' || bytes[start] == '\t' ||
                                  bytes[start] == '\r' || bytes[start] == '\n')) {
    ++start;
  }
  auto head = bytes.subspan(start, std::min<std::size_t>(bytes.size() - start, 1024));
  std::string_view text(reinterpret_cast<const char*>(head.data()), head.size());
  if (starts_with_ci(text, "<svg")) return "it looks like SVG";
  if (starts_with_ci(text, "<?xml")) {
    std::string lowered(text);
    for (char& c : lowered) c = ascii_lower(c);
    return lowered.find("<svg") != std::string::npos ? "it looks like SVG" : "it looks like XML";
  }
  if (starts_with_ci(text, "<!doctype html") || starts_with_ci(text, "<html") ||
      starts_with_ci(text, "<head") || starts_with_ci(text, "<body")) {
    return "it looks like HTML";
  }
  if (starts_with(head, "<")) return "it looks like HTML or XML";
  if (starts_with(head, "{") || starts_with(head, "[")) return "it looks like JSON";
  return {};
}

std::uint32_t be32(std::span<const unsigned char> bytes, std::size_t at) {
  return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
         (std::uint32_t{bytes[at + 2]} << 8) | std::uint32_t{bytes[at + 3]};
}

struct dimensions {
  std::uint32_t width;
  std::uint32_t height;
};

// The dimensions a header declares, read without stb: only used to word the refusal of an image
// stb would not even read because it is larger than STBI_MAX_DIMENSIONS.
std::optional<dimensions> declared_dimensions(std::span<const unsigned char> bytes,
                                              image_format format) {
  if (format == image_format::png) {
    // Signature, then IHDR first: length(4) "IHDR" width(4) height(4).
    if (bytes.size() < 24 || !starts_with(bytes.subspan(12), "IHDR")) return std::nullopt;
    return dimensions{be32(bytes, 16), be32(bytes, 20)};
  }
  // JPEG: walk the marker segments after SOI to the first SOFn.
  std::size_t pos = 2;
  while (pos < bytes.size()) {
    if (bytes[pos] != 0xff) return std::nullopt;
    while (pos < bytes.size() && bytes[pos] == 0xff) ++pos;  // fill bytes
    if (pos >= bytes.size()) return std::nullopt;
    unsigned marker = bytes[pos++];
    if ((marker >= 0xd0 && marker <= 0xd7) || marker == 0x01) continue;  // no length
    if (marker == 0xd9 || marker == 0xda) return std::nullopt;           // EOI or SOS first
    if (pos + 2 > bytes.size()) return std::nullopt;
    std::size_t length = (std::size_t{bytes[pos]} << 8) | bytes[pos + 1];
    if (length < 2) return std::nullopt;
    bool sof =
        marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
    if (sof) {
      if (pos + 7 > bytes.size()) return std::nullopt;
      std::uint32_t height = (std::uint32_t{bytes[pos + 3]} << 8) | bytes[pos + 4];
      std::uint32_t width = (std::uint32_t{bytes[pos + 5]} << 8) | bytes[pos + 6];
      return dimensions{width, height};
    }
    pos += length;
  }
  return std::nullopt;
}

// An upper bound on the scans: every SOS marker is the bytes FF DA, and entropy-coded data
// never holds them (an FF there is followed by 00 or a restart marker). FF DA inside another
// segment's payload is counted too, which only errs on the strict side.
std::size_t count_jpeg_scans(std::span<const unsigned char> bytes) {
  std::size_t scans = 0;
  for (std::size_t i = next_ff(bytes, 0); i + 1 < bytes.size(); i = next_ff(bytes, i + 1)) {
    if (bytes[i + 1] == 0xda) ++scans;
  }
  return scans;
}

std::string_view format_name(image_format format) {
  return format == image_format::png ? "PNG" : "JPEG";
}

api_error error(error_kind kind, std::string_view field, std::string detail) {
  return api_error{kind, std::string(field) + ": " + detail, std::nullopt};
}

}  // namespace

std::string_view mime_type(image_format format) {
  return format == image_format::png ? "image/png" : "image/jpeg";
}

std::string_view file_extension(image_format format) {
  return format == image_format::png ? ".png" : ".jpg";
}

std::optional<image_format> sniff_format(std::span<const unsigned char> bytes) {
  if (bytes.size() >= sizeof png_signature &&
      std::equal(std::begin(png_signature), std::end(png_signature), bytes.begin())) {
    return image_format::png;
  }
  if (bytes.size() >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) {
    return image_format::jpeg;
  }
  return std::nullopt;
}

namespace {

// Magic bytes, then the header through stb's reader (whose format must match the magic). A
// header stb will not read because a side is beyond its maximum is worded as a size problem:
// "image is WxH px, <wanted>".
result<image_facts> read_header(std::span<const unsigned char> bytes, std::string_view field,
                                const std::string& wanted) {
  auto format = sniff_format(bytes);
  if (!format) {
    std::string guess = looks_like(bytes);
    return error(
        error_kind::image_bad_format, field,
        "not a PNG or JPEG image (magic bytes" + (guess.empty() ? "" : "; " + guess) + ")");
  }
  stb_bridge::header_info header = stb_bridge::info(bytes);
  if (!header.ok) {
    // Larger than stb will read at all: still a size problem, worded with the declared size.
    auto declared = declared_dimensions(bytes, *format);
    if (header.why == "too large" && declared &&
        (declared->width > static_cast<std::uint32_t>(stb_bridge::max_dimension) ||
         declared->height > static_cast<std::uint32_t>(stb_bridge::max_dimension))) {
      return error(error_kind::image_bad_size, field,
                   "image is " + std::to_string(declared->width) + "x" +
                       std::to_string(declared->height) + " px, " + wanted);
    }
    return error(
        error_kind::image_bad_format, field,
        std::string(format_name(*format)) + " header could not be read (" + header.why + ")");
  }
  if (header.format != format) {
    return error(error_kind::image_bad_format, field,
                 std::string(format_name(*format)) +
                     " header could not be read (it is not what the magic bytes say)");
  }
  return image_facts{*format, header.width, header.height};
}

}  // namespace

result<image_facts> inspect_image(std::span<const unsigned char> bytes, const image_rule& rule,
                                  std::string_view field) {
  if (bytes.size() > rule.max_bytes) {
    return error(error_kind::image_too_large, field,
                 "image is " + std::to_string(bytes.size()) + " bytes, OPPO allows at most " +
                     std::to_string(rule.max_bytes));
  }
  std::string wanted =
      "OPPO requires " + std::to_string(rule.width) + "x" + std::to_string(rule.height);
  auto header = read_header(bytes, field, wanted);
  if (!header) return header;
  const image_facts& facts = header.value();
  if (facts.width != rule.width || facts.height != rule.height) {
    return error(error_kind::image_bad_size, field,
                 "image is " + std::to_string(facts.width) + "x" + std::to_string(facts.height) +
                     " px, " + wanted);
  }
  return header;
}

result<image_facts> inspect_fit_source(std::span<const unsigned char> bytes,
                                       const fit_limits& limits, std::string_view field) {
  if (bytes.size() > limits.max_source_bytes) {
    return error(error_kind::image_too_large, field,
                 "image is " + std::to_string(bytes.size()) + " bytes, a fit accepts at most " +
                     std::to_string(limits.max_source_bytes));
  }
  const std::string wanted =
      "a fit accepts at most " + std::to_string(limits.max_source_pixels) + " pixels";
  auto header = read_header(bytes, field, wanted);
  if (!header) return header;
  const image_facts& facts = header.value();
  const auto pixels =
      static_cast<std::size_t>(facts.width) * static_cast<std::size_t>(facts.height);
  if (pixels > limits.max_source_pixels) {
    return error(error_kind::image_bad_size, field,
                 "image is " + std::to_string(facts.width) + "x" + std::to_string(facts.height) +
                     " px (" + std::to_string(pixels) + " pixels), " + wanted);
  }
  return header;
}

std::optional<api_error> decode_precheck(std::span<const unsigned char> bytes,
                                         std::string_view field) {
  auto format = sniff_format(bytes);
  // stb is lenient about magic bytes (fill bytes before a JPEG's SOI); only ever hand it files
  // that passed the strict check.
  if (!format) {
    return error(error_kind::image_undecodable, field,
                 "image does not decode (not a PNG or JPEG image)");
  }
  if (format == image_format::jpeg) {
    std::size_t scans = count_jpeg_scans(bytes);
    if (scans > max_jpeg_scans) {
      return error(error_kind::image_undecodable, field,
                   "image does not decode (too many progressive scans: " + std::to_string(scans) +
                       ", at most " + std::to_string(max_jpeg_scans) + ")");
    }
  }
  return std::nullopt;
}

std::optional<api_error> verify_decode(std::span<const unsigned char> bytes, std::string_view field,
                                       std::size_t budget_bytes) {
  if (auto problem = decode_precheck(bytes, field)) return problem;
  // Decoded and freed at once: only whether it decodes, and why not.
  const pixel_decode::decoded_pixels decoded = pixel_decode::decode_pixels(bytes, 0, budget_bytes);
  if (decoded.pixels) return std::nullopt;
  return pixel_decode::decode_failure(decoded, budget_bytes, field);
}

}  // namespace image_gateway
