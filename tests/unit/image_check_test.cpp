#include "image_gateway/image/image_check.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "image_gateway/util/sample_images.hpp"
#include "support/png_bytes.hpp"

namespace image_gateway {
namespace {

const image_rule big_rule{984, 369, 1048576};
const image_rule small_rule{144, 144, 51200};
constexpr std::string_view big_field = "big_picture_url";
constexpr std::string_view small_field = "small_picture_url";

std::span<const unsigned char> bytes_of(const std::string& text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

using png_bytes::be32;
using png_bytes::zlib_bomb;
constexpr auto make_png = png_bytes::rgb_with_idat;

std::size_t find_sos(const std::string& jpeg) {
  std::size_t at = jpeg.find("\xff\xda");
  EXPECT_NE(at, std::string::npos);
  return at;
}

// The JPEG with its scan (SOS header and entropy-coded data) repeated `scans` times.
std::string jpeg_with_scans(const std::string& jpeg, int scans) {
  std::size_t sos = find_sos(jpeg);
  EXPECT_EQ(jpeg.substr(jpeg.size() - 2), "\xff\xd9");
  std::string scan = jpeg.substr(sos, jpeg.size() - 2 - sos);
  std::string out = jpeg.substr(0, sos);
  for (int i = 0; i < scans; ++i) out += scan;
  return out + "\xff\xd9";
}

// ---- formats -----------------------------------------------------------------------------------

TEST(SniffFormat, MagicBytes) {
  EXPECT_EQ(sniff_format(bytes_of(samples::png(4, 4))), image_format::png);
  EXPECT_EQ(sniff_format(bytes_of(samples::jpeg(4, 4))), image_format::jpeg);
  EXPECT_EQ(sniff_format(bytes_of(std::string("\x89PNG\r\n\x1a\n", 8))), image_format::png);
  EXPECT_EQ(sniff_format(bytes_of("\xff\xd8\xff")), image_format::jpeg);
  EXPECT_EQ(sniff_format(bytes_of(std::string("\x89PNG\r\n\x1a", 7))), std::nullopt);
  EXPECT_EQ(sniff_format(bytes_of(std::string("\x89PNG\r\n\x1a\x0b", 8))), std::nullopt);
  EXPECT_EQ(sniff_format(bytes_of("\xff\xd8")), std::nullopt);
  EXPECT_EQ(sniff_format(bytes_of("\xff\xd9\xff")), std::nullopt);
  EXPECT_EQ(sniff_format(bytes_of("")), std::nullopt);
  EXPECT_EQ(sniff_format(bytes_of("GIF89a")), std::nullopt);
}

TEST(SniffFormat, MimeAndExtension) {
  EXPECT_EQ(mime_type(image_format::png), "image/png");
  EXPECT_EQ(mime_type(image_format::jpeg), "image/jpeg");
  EXPECT_EQ(file_extension(image_format::png), ".png");
  EXPECT_EQ(file_extension(image_format::jpeg), ".jpg");
}

// ---- inspect_image -----------------------------------------------------------------------------

TEST(InspectImage, ExactSizesPassAndDecode) {
  struct row {
    std::string bytes;
    image_rule rule;
    image_format format;
  };
  for (const auto& r : std::vector<row>{
           {samples::png(984, 369), big_rule, image_format::png},
           {samples::jpeg(984, 369), big_rule, image_format::jpeg},
           {samples::png(144, 144, 7), small_rule, image_format::png},
           {samples::jpeg(144, 144, 7), small_rule, image_format::jpeg},
       }) {
    auto facts = inspect_image(bytes_of(r.bytes), r.rule, big_field);
    ASSERT_TRUE(facts.ok()) << facts.error().detail;
    EXPECT_EQ(facts.value().format, r.format);
    EXPECT_EQ(facts.value().width, r.rule.width);
    EXPECT_EQ(facts.value().height, r.rule.height);
    auto problem = verify_decode(bytes_of(r.bytes), big_field);
    EXPECT_FALSE(problem.has_value()) << problem->detail;
  }
}

TEST(InspectImage, OffByOneInEachDimension) {
  struct row {
    int width;
    int height;
    const image_rule* rule;
    std::string_view field;
    std::string detail;
  };
  for (const auto& r : std::vector<row>{
           {983, 369, &big_rule, big_field,
            "big_picture_url: image is 983x369 px, OPPO requires 984x369"},
           {985, 369, &big_rule, big_field,
            "big_picture_url: image is 985x369 px, OPPO requires 984x369"},
           {984, 368, &big_rule, big_field,
            "big_picture_url: image is 984x368 px, OPPO requires 984x369"},
           {984, 370, &big_rule, big_field,
            "big_picture_url: image is 984x370 px, OPPO requires 984x369"},
           {369, 984, &big_rule, big_field,
            "big_picture_url: image is 369x984 px, OPPO requires 984x369"},
           {143, 144, &small_rule, small_field,
            "small_picture_url: image is 143x144 px, OPPO requires 144x144"},
           {145, 144, &small_rule, small_field,
            "small_picture_url: image is 145x144 px, OPPO requires 144x144"},
           {144, 143, &small_rule, small_field,
            "small_picture_url: image is 144x143 px, OPPO requires 144x144"},
           {144, 145, &small_rule, small_field,
            "small_picture_url: image is 144x145 px, OPPO requires 144x144"},
           {984, 369, &small_rule, small_field,
            "small_picture_url: image is 984x369 px, OPPO requires 144x144"},
       }) {
    for (const std::string& image :
         {samples::png(r.width, r.height), samples::jpeg(r.width, r.height)}) {
      if (image.size() > r.rule->max_bytes) continue;  // a big picture under the small rule
      auto facts = inspect_image(bytes_of(image), *r.rule, r.field);
      ASSERT_FALSE(facts.ok()) << r.detail;
      EXPECT_EQ(facts.error().kind, error_kind::image_bad_size);
      EXPECT_EQ(facts.error().detail, r.detail);
    }
  }
}

TEST(InspectImage, ByteBoundaries) {
  struct row {
    std::string image;
    const image_rule* rule;
    std::string_view field;
    std::string over_detail;
    bool png;
  };
  for (const auto& r : std::vector<row>{
           {samples::png(984, 369, 1), &big_rule, big_field,
            "big_picture_url: image is 1048577 bytes, OPPO allows at most 1048576", true},
           {samples::jpeg(984, 369, 1), &big_rule, big_field,
            "big_picture_url: image is 1048577 bytes, OPPO allows at most 1048576", false},
           {samples::png(144, 144, 1), &small_rule, small_field,
            "small_picture_url: image is 51201 bytes, OPPO allows at most 51200", true},
           {samples::jpeg(144, 144, 1), &small_rule, small_field,
            "small_picture_url: image is 51201 bytes, OPPO allows at most 51200", false},
       }) {
    auto pad = r.png ? samples::pad_png : samples::pad_jpeg;
    std::string exact = pad(r.image, r.rule->max_bytes);
    ASSERT_EQ(exact.size(), r.rule->max_bytes);
    auto facts = inspect_image(bytes_of(exact), *r.rule, r.field);
    ASSERT_TRUE(facts.ok()) << facts.error().detail;
    EXPECT_FALSE(verify_decode(bytes_of(exact), r.field).has_value());

    std::string over = pad(r.image, r.rule->max_bytes + 1);
    ASSERT_EQ(over.size(), r.rule->max_bytes + 1);
    auto refused = inspect_image(bytes_of(over), *r.rule, r.field);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind, error_kind::image_too_large);
    EXPECT_EQ(refused.error().detail, r.over_detail);
  }
}

// The byte limit comes before anything else: an oversized file is not even sniffed.
TEST(InspectImage, SizeLimitFirst) {
  std::string junk(2000, 'x');
  auto refused = inspect_image(bytes_of(junk), image_rule{144, 144, 1999}, small_field);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, error_kind::image_too_large);
  EXPECT_EQ(refused.error().detail,
            "small_picture_url: image is 2000 bytes, OPPO allows at most 1999");
}

TEST(InspectImage, NotPngOrJpeg) {
  const std::string prefix = "big_picture_url: not a PNG or JPEG image (magic bytes";
  struct row {
    std::string bytes;
    std::string detail;
  };
  for (const auto& r : std::vector<row>{
           {"GIF89a\x01\x00\x01\x00\x80\x00\x00", prefix + "; it looks like GIF)"},
           {"GIF87a\x01\x00\x01\x00", prefix + "; it looks like GIF)"},
           {std::string("RIFF\x24\x00\x00\x00WEBPVP8 ", 16), prefix + "; it looks like WebP)"},
           {"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"984\" height=\"369\"></svg>",
            prefix + "; it looks like SVG)"},
           {"<?xml version=\"1.0\"?>\n<!DOCTYPE svg>\n<svg></svg>",
            prefix + "; it looks like SVG)"},
           {"\xEF\xBB\xBF  <?xml version=\"1.0\"?><note/>", prefix + "; it looks like XML)"},
           {"<!DOCTYPE html><html><body>Not found</body></html>", prefix + "; it looks like HTML)"},
           {"\n  <html><head><title>403</title></head></html>", prefix + "; it looks like HTML)"},
           {"{\"error\":\"not found\"}", prefix + "; it looks like JSON)"},
           {"BM\x3e\x00\x00\x00", prefix + "; it looks like BMP)"},
           {"%PDF-1.7", prefix + "; it looks like PDF)"},
           {std::string("\x00\x00\x00\x1c"
                        "ftypavif",
                        12),
            prefix + "; it looks like AVIF/HEIC or another ISO media file)"},
           {"", prefix + "; it is empty)"},
           {"hello world", prefix + ")"},
           {"\xff\xd8", prefix + ")"},
           {std::string("\x89PNG\r\n\x1a", 7), prefix + ")"},
       }) {
    auto refused = inspect_image(bytes_of(r.bytes), big_rule, big_field);
    ASSERT_FALSE(refused.ok()) << r.detail;
    EXPECT_EQ(refused.error().kind, error_kind::image_bad_format);
    EXPECT_EQ(refused.error().detail, r.detail);
  }
}

TEST(InspectImage, HeaderUnreadable) {
  // Right magic, wrong everything after it.
  std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(40, '\x01');
  auto refused = inspect_image(bytes_of(png), big_rule, big_field);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, error_kind::image_bad_format);
  EXPECT_EQ(refused.error().detail.rfind("big_picture_url: PNG header could not be read (", 0), 0u)
      << refused.error().detail;

  std::string jpeg = std::string("\xff\xd8\xff\xe0", 4) + std::string(40, '\x01');
  refused = inspect_image(bytes_of(jpeg), big_rule, big_field);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, error_kind::image_bad_format);
  EXPECT_EQ(refused.error().detail.rfind("big_picture_url: JPEG header could not be read (", 0), 0u)
      << refused.error().detail;

  // Only the signature.
  refused = inspect_image(bytes_of(std::string("\x89PNG\r\n\x1a\n", 8)), big_rule, big_field);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, error_kind::image_bad_format);

  // A PNG whose IHDR says 0 px wide.
  refused = inspect_image(bytes_of(make_png(0, 369, "")), big_rule, big_field);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, error_kind::image_bad_format);
}

// A header claiming a huge picture is refused as the wrong size, and never decoded.
TEST(InspectImage, HugeDimensionsRefusedBeforeDecode) {
  struct row {
    std::uint32_t width;
    std::uint32_t height;
    std::string detail;
  };
  for (const auto& r : std::vector<row>{
           {100000, 100000, "big_picture_url: image is 100000x100000 px, OPPO requires 984x369"},
           {984, 100000, "big_picture_url: image is 984x100000 px, OPPO requires 984x369"},
           {4097, 369, "big_picture_url: image is 4097x369 px, OPPO requires 984x369"},
           {4096, 4096, "big_picture_url: image is 4096x4096 px, OPPO requires 984x369"},
           {0x7fffffff, 0x7fffffff,
            "big_picture_url: image is 2147483647x2147483647 px, OPPO requires 984x369"},
       }) {
    std::string bomb = make_png(r.width, r.height, zlib_bomb(10));
    auto refused = inspect_image(bytes_of(bomb), big_rule, big_field);
    ASSERT_FALSE(refused.ok()) << r.detail;
    EXPECT_EQ(refused.error().kind, error_kind::image_bad_size);
    EXPECT_EQ(refused.error().detail, r.detail);
    // Even if a caller decoded it anyway, stb refuses or the budget stops it.
    auto problem = verify_decode(bytes_of(bomb), big_field);
    ASSERT_TRUE(problem.has_value());
    EXPECT_EQ(problem->kind, error_kind::image_undecodable);
  }

  // A JPEG whose SOF says 30000x20000.
  std::string jpeg = samples::jpeg(984, 369);
  std::size_t sof = jpeg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  jpeg[sof + 5] = static_cast<char>(20000 >> 8);
  jpeg[sof + 6] = static_cast<char>(20000 & 0xff);
  jpeg[sof + 7] = static_cast<char>(30000 >> 8);
  jpeg[sof + 8] = static_cast<char>(30000 & 0xff);
  auto refused = inspect_image(bytes_of(jpeg), big_rule, big_field);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, error_kind::image_bad_size);
  EXPECT_EQ(refused.error().detail,
            "big_picture_url: image is 30000x20000 px, OPPO requires 984x369");
}

// ---- verify_decode -----------------------------------------------------------------------------

TEST(VerifyDecode, TruncatedImagesPassInspectButDoNotDecode) {
  for (const std::string& full : {samples::png(984, 369, 3), samples::jpeg(984, 369, 3)}) {
    std::string cut = full.substr(0, full.size() / 2);
    auto facts = inspect_image(bytes_of(cut), big_rule, big_field);
    ASSERT_TRUE(facts.ok()) << facts.error().detail;
    auto problem = verify_decode(bytes_of(cut), big_field);
    ASSERT_TRUE(problem.has_value());
    EXPECT_EQ(problem->kind, error_kind::image_undecodable);
    EXPECT_EQ(problem->detail.rfind("big_picture_url: image does not decode (", 0), 0u)
        << problem->detail;
    EXPECT_FALSE(verify_decode(bytes_of(full), big_field).has_value());
  }
}

TEST(VerifyDecode, CorruptPixelData) {
  // A valid header with an IDAT that is not zlib at all.
  std::string png = make_png(984, 369, "this is not a zlib stream");
  ASSERT_TRUE(inspect_image(bytes_of(png), big_rule, big_field).ok());
  auto problem = verify_decode(bytes_of(png), big_field);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->kind, error_kind::image_undecodable);
  EXPECT_EQ(problem->detail, "big_picture_url: image does not decode (bad zlib header)");
}

// Every failure has words (issue 16): data that stb refuses without a reason, and an unknown
// critical chunk, which stb words with the chunk type's raw bytes (a zero byte left "()").
TEST(VerifyDecode, EveryFailureGivesAReason) {
  // A deflate block of the reserved type 3: stb fails without a reason. Decoded right after a
  // failure that had one, whose reason must not be repeated.
  ASSERT_TRUE(verify_decode(bytes_of(make_png(984, 369, "not zlib")), big_field).has_value());
  const std::string reserved_block = make_png(984, 369, std::string("\x78\x01\x07\x00\x00", 5));
  ASSERT_TRUE(inspect_image(bytes_of(reserved_block), big_rule, big_field).ok());
  auto problem = verify_decode(bytes_of(reserved_block), big_field);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->detail,
            "big_picture_url: image does not decode (corrupt image data, the decoder gave no "
            "reason)");

  // An unknown critical chunk after the image data, its type with a zero byte, or not ASCII.
  const std::string ihdr = be32(984) + be32(369) + std::string("\x08\x02\x00\x00\x00", 5);
  const std::string idat = png_bytes::chunk("IDAT", png_bytes::stored_zlib(std::string(10, '\0')));
  for (const std::string& type :
       {std::string("\0DAT", 4), std::string("I\0AT", 4), std::string("IEN\0", 4),
        std::string("I\xc4\x01T", 4), std::string("QQQQ")}) {
    const std::string png = png_bytes::signature + png_bytes::chunk("IHDR", ihdr) + idat +
                            png_bytes::chunk(type, "x") + png_bytes::chunk("IEND", "");
    ASSERT_TRUE(inspect_image(bytes_of(png), big_rule, big_field).ok());
    problem = verify_decode(bytes_of(png), big_field);
    ASSERT_TRUE(problem.has_value());
    EXPECT_EQ(problem->detail,
              "big_picture_url: image does not decode (unknown critical PNG chunk)");
  }
}

TEST(VerifyDecode, MemoryBudget) {
  std::string png = samples::png(984, 369, 5);
  std::string jpeg = samples::jpeg(984, 369, 5);
  for (const std::string* image : {&png, &jpeg}) {
    auto problem = verify_decode(bytes_of(*image), big_field, 100 * 1024);
    ASSERT_TRUE(problem.has_value());
    EXPECT_EQ(problem->kind, error_kind::image_undecodable);
    EXPECT_EQ(problem->detail,
              "big_picture_url: image does not decode (it needs more than 102400 bytes of memory)");
    EXPECT_FALSE(verify_decode(bytes_of(*image), big_field).has_value());
    EXPECT_FALSE(verify_decode(bytes_of(*image), big_field, default_decode_budget).has_value());
  }
}

// A small file that inflates to far more than its header needs: only the budget stops it.
TEST(VerifyDecode, DecompressionBombStoppedByBudget) {
  std::string bomb = make_png(984, 369, zlib_bomb(65100));  // inflates to 16.8 MB
  EXPECT_LT(bomb.size(), 120u * 1024);
  auto facts = inspect_image(bytes_of(bomb), big_rule, big_field);
  ASSERT_TRUE(facts.ok()) << facts.error().detail;

  auto problem = verify_decode(bytes_of(bomb), big_field);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->kind, error_kind::image_undecodable);
  EXPECT_EQ(problem->detail,
            "big_picture_url: image does not decode (it needs more than 8388608 bytes of memory)");

  // With room for it, stb inflates everything (and ignores the excess zeros): the budget is the
  // only thing that stood in the way above.
  EXPECT_FALSE(verify_decode(bytes_of(bomb), big_field, 64 * 1024 * 1024).has_value());
}

TEST(VerifyDecode, TooManyJpegScans) {
  std::string base = samples::jpeg(144, 144, 9);
  std::string at_limit = jpeg_with_scans(base, 64);
  ASSERT_TRUE(inspect_image(bytes_of(at_limit), image_rule{144, 144, 1 << 20}, small_field).ok());
  auto problem = verify_decode(bytes_of(at_limit), small_field);
  EXPECT_FALSE(problem.has_value()) << problem->detail;

  for (int scans : {65, 200}) {
    std::string many = jpeg_with_scans(base, scans);
    problem = verify_decode(bytes_of(many), small_field);
    ASSERT_TRUE(problem.has_value());
    EXPECT_EQ(problem->kind, error_kind::image_undecodable);
    EXPECT_EQ(problem->detail,
              "small_picture_url: image does not decode (too many progressive "
              "scans: " +
                  std::to_string(scans) + ", at most 64)");
  }
}

// stb_image 2.27 writes past its tables for a DHT with more than 256 codes and reads
// uninitialised tables for a scan using an undefined one; the bridge refuses both before stb
// reads the header. The pixels are libjpeg-turbo's, which refuses both in its own words.
// stb_image 2.27 copies an empty first IDAT chunk from a null buffer (found by fuzz_fit); the
// bridge refuses such a PNG before stb. An empty IDAT after the data is harmless and decodes.
TEST(VerifyDecode, AnEmptyFirstIdatNeverReachesStb) {
  const std::string png = samples::png(144, 144, 5);
  const std::size_t first_idat = png.find("IDAT") - 4;               // its length field
  const std::string empty_idat("\0\0\0\0IDAT\x35\xaf\x06\x1e", 12);  // CRC of "IDAT"
  const std::string before = png.substr(0, first_idat) + empty_idat + png.substr(first_idat);
  auto problem = verify_decode(bytes_of(before), small_field);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->kind, error_kind::image_undecodable);
  EXPECT_EQ(problem->detail,
            "small_picture_url: image does not decode (an empty IDAT chunk before the image "
            "data)");

  const std::size_t iend = png.find("IEND") - 4;
  const std::string after = png.substr(0, iend) + empty_idat + png.substr(iend);
  problem = verify_decode(bytes_of(after), small_field);
  EXPECT_FALSE(problem.has_value()) << problem->detail;
}

TEST(VerifyDecode, HostileHuffmanTablesNeverReachStb) {
  std::string base = samples::jpeg(144, 144, 4);

  std::string dht = std::string("\xff\xc4\x00\x13\x00", 5) + std::string(16, '\xff');
  std::string overflow = base.substr(0, 2) + dht + base.substr(2);
  auto refused = inspect_image(bytes_of(overflow), small_rule, small_field);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, error_kind::image_bad_format);
  EXPECT_EQ(refused.error().detail,
            "small_picture_url: JPEG header could not be read (bad DHT "
            "table: more than 256 codes)");
  auto problem = verify_decode(bytes_of(overflow), small_field);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->detail,
            "small_picture_url: image does not decode (Bogus Huffman table definition)");

  // Exactly 256 codes fits stb's arrays: accepted, and later DHTs redefine table 0 anyway.
  std::string counts(16, '\0');
  counts[15] = static_cast<char>(255);
  counts[14] = 1;
  std::string full = base.substr(0, 2) + std::string("\xff\xc4\x01\x13\x00", 5) + counts +
                     std::string(256, '\0') + base.substr(2);
  ASSERT_TRUE(inspect_image(bytes_of(full), small_rule, small_field).ok());
  problem = verify_decode(bytes_of(full), small_field);
  EXPECT_FALSE(problem.has_value()) << problem->detail;

  // The first scan's first component switched to Huffman tables 3/3, which no DHT defines.
  std::string undefined = base;
  std::size_t sos = find_sos(undefined);
  undefined[sos + 6] = 0x33;
  refused = inspect_image(bytes_of(undefined), small_rule, small_field);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().detail,
            "small_picture_url: JPEG header could not be read (scan uses "
            "an undefined Huffman table)");
  problem = verify_decode(bytes_of(undefined), small_field);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->detail,
            "small_picture_url: image does not decode (Huffman table 0x03 was not defined)");

  // stb accepts fill bytes before SOI; the strict magic check does not, in either function.
  std::string filled = "\xff" + base;
  EXPECT_EQ(inspect_image(bytes_of(filled), small_rule, small_field).error().kind,
            error_kind::image_bad_format);
  problem = verify_decode(bytes_of(filled), small_field);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->detail, "small_picture_url: image does not decode (not a PNG or JPEG image)");
}

TEST(VerifyDecode, NotAnImage) {
  auto problem = verify_decode(bytes_of("GIF89a\x01\x00\x01\x00"), big_field);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->kind, error_kind::image_undecodable);
  problem = verify_decode(bytes_of(""), big_field);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->kind, error_kind::image_undecodable);
}

// The budget and stb's failure reason are per thread: a tight budget on one thread never
// fails a decode on another.
TEST(VerifyDecode, BudgetsArePerThread) {
  std::string png = samples::png(984, 369, 11);
  std::string broken = make_png(984, 369, "garbage");
  std::vector<std::thread> threads;
  std::array<int, 4> failures{};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        bool tight = (t + i) % 2 == 0;
        auto problem = verify_decode(bytes_of(tight ? png : broken), big_field,
                                     tight ? 64 * 1024 : default_decode_budget);
        std::string expected =
            tight ? "big_picture_url: image does not decode (it needs more than 65536 bytes of "
                    "memory)"
                  : "big_picture_url: image does not decode (bad zlib header)";
        if (!problem || problem->detail != expected) ++failures[static_cast<std::size_t>(t)];
        if (verify_decode(bytes_of(png), big_field).has_value()) {
          ++failures[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int count : failures) EXPECT_EQ(count, 0);
}

// ---- sample images -----------------------------------------------------------------------------

TEST(SampleImages, SizesWellUnderLimits) {
  EXPECT_LT(samples::png(984, 369).size(), 512u * 1024);
  EXPECT_LT(samples::jpeg(984, 369).size(), 512u * 1024);
  EXPECT_LT(samples::png(144, 144).size(), 25u * 1024);
  EXPECT_LT(samples::jpeg(144, 144).size(), 25u * 1024);
  for (unsigned seed : {1u, 255u, 0xffffffffU}) {
    EXPECT_LT(samples::png(984, 369, seed).size(), 512u * 1024) << seed;
    EXPECT_LT(samples::png(144, 144, seed).size(), 25u * 1024) << seed;
  }
}

TEST(SampleImages, SeedsGiveDifferentBytes) {
  EXPECT_EQ(samples::png(144, 144, 3), samples::png(144, 144, 3));
  EXPECT_EQ(samples::jpeg(144, 144, 3), samples::jpeg(144, 144, 3));
  EXPECT_NE(samples::png(144, 144, 3), samples::png(144, 144, 4));
  EXPECT_NE(samples::png(144, 144, 0), samples::png(144, 144, 256));
  EXPECT_NE(samples::jpeg(144, 144, 3), samples::jpeg(144, 144, 4));
  EXPECT_NE(samples::jpeg(984, 369, 0), samples::jpeg(984, 369, 1 << 20));
  EXPECT_NE(samples::jpeg(144, 144, 3, 90), samples::jpeg(144, 144, 3, 50));
}

TEST(SampleImages, PaddingKeepsTheImage) {
  std::string png = samples::png(144, 144, 2);
  std::string jpeg = samples::jpeg(144, 144, 2);
  image_rule roomy{144, 144, 1 << 20};
  for (std::size_t total :
       {png.size() + 12, png.size() + 13, std::size_t{51200}, std::size_t{300000}}) {
    std::string padded = samples::pad_png(png, total);
    ASSERT_EQ(padded.size(), total);
    EXPECT_EQ(padded.substr(padded.size() - 12), png.substr(png.size() - 12));  // IEND last
    EXPECT_NE(padded.find("igPd"), std::string::npos);
    ASSERT_TRUE(inspect_image(bytes_of(padded), roomy, small_field).ok());
    EXPECT_FALSE(verify_decode(bytes_of(padded), small_field).has_value());
  }
  // 65537 bytes is the most one COM segment holds; beyond that the pad spans segments.
  for (std::size_t extra : {std::size_t{4}, std::size_t{5}, std::size_t{65537}, std::size_t{65538},
                            std::size_t{131074}, std::size_t{131075}, std::size_t{1000000}}) {
    std::string padded = samples::pad_jpeg(jpeg, jpeg.size() + extra);
    ASSERT_EQ(padded.size(), jpeg.size() + extra);
    EXPECT_EQ(padded.substr(0, 4), "\xff\xd8\xff\xfe");
    ASSERT_TRUE(inspect_image(bytes_of(padded), roomy, small_field).ok()) << extra;
    EXPECT_FALSE(verify_decode(bytes_of(padded), small_field).has_value()) << extra;
  }
  EXPECT_EQ(samples::pad_png(png, png.size()), png);
  EXPECT_EQ(samples::pad_jpeg(jpeg, jpeg.size()), jpeg);
}

TEST(SampleImages, PaddingPreconditions) {
  std::string png = samples::png(8, 8);
  std::string jpeg = samples::jpeg(8, 8);
  EXPECT_THROW(samples::pad_png(png, png.size() + 11), std::invalid_argument);
  EXPECT_THROW(samples::pad_png(png, png.size() - 1), std::invalid_argument);
  EXPECT_THROW(samples::pad_png(jpeg, jpeg.size() + 100), std::invalid_argument);
  EXPECT_THROW(samples::pad_jpeg(jpeg, jpeg.size() + 3), std::invalid_argument);
  EXPECT_THROW(samples::pad_jpeg(png, png.size() + 100), std::invalid_argument);
}

}  // namespace
}  // namespace image_gateway
