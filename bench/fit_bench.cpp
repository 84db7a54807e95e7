// The cost of fitting one picture (issue 12), and the encoder choice: wall and CPU milliseconds
// of fit_image for typical sources, then stb_image_write against Debian's libpng and
// libjpeg-turbo on the same fitted pixels (bytes and milliseconds). Single-threaded; run the
// Release build on a quiet machine:   build/release/bench/fit_bench [rounds]
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "image_gateway/image/fit.hpp"
#include "image_gateway/util/sample_images.hpp"
// The gateway's own encoders (libpng, libjpeg-turbo), measured as the gateway runs them.
#include "pixel_decode.hpp"
#include "pixel_ops.hpp"

// Declarations only: the implementation is the gateway's hardened build (stb_image_impl.cpp).
#include <stb_image.h>

#include <time.h>

namespace {

using namespace image_gateway;

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

struct timing {
  double wall_ms = 0;
  double cpu_ms = 0;
};

// The median of `rounds` runs (after one warm-up).
timing measure(int rounds, const std::function<void()>& work) {
  work();
  std::vector<double> walls;
  std::vector<double> cpus;
  for (int i = 0; i < rounds; ++i) {
    const auto started = std::chrono::steady_clock::now();
    const double cpu_started = cpu_ms();
    work();
    cpus.push_back(cpu_ms() - cpu_started);
    walls.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
  }
  std::sort(walls.begin(), walls.end());
  std::sort(cpus.begin(), cpus.end());
  return {walls[walls.size() / 2], cpus[cpus.size() / 2]};
}

void fit_row(int rounds, const char* name, const std::string& source, const image_rule& rule,
             fit_mode mode) {
  const auto shared = std::make_shared<const std::string>(source);
  std::size_t out_bytes = 0;
  std::string format;
  int quality = 0;
  const timing t = measure(rounds, [&] {
    auto fitted = fit_image(shared, rule, {mode, white}, {}, "bench");
    if (!fitted) {
      std::fprintf(stderr, "%s: %s\n", name, fitted.error().detail.c_str());
      std::exit(1);
    }
    out_bytes = fitted.value().bytes.size();
    format = fitted.value().format == image_format::png ? "PNG" : "JPEG";
    quality = fitted.value().jpeg_quality;
  });
  std::printf("| %s | %zu | %s %dx%d, %zu B%s | %.1f | %.1f |\n", name, source.size(),
              format.c_str(), rule.width, rule.height, out_bytes,
              quality > 0 ? (", q" + std::to_string(quality)).c_str() : "", t.wall_ms, t.cpu_ms);
}

void encoder_rows(int rounds, const char* name, const samples::rgba_image& image) {
  std::vector<unsigned char> rgb(static_cast<std::size_t>(image.width) *
                                 static_cast<std::size_t>(image.height) * 3);
  for (std::size_t i = 0; i < rgb.size() / 3; ++i) {
    for (std::size_t c = 0; c < 3; ++c) rgb[i * 3 + c] = image.pixels[i * 4 + c];
  }
  std::string out;
  // stb's PNG and JPEG through the gateway's own fit of an exact-size copy is not separable, so
  // the comparison encodes the same RGB pixels with each library directly.
  const auto stb_png = [&] {
    out = samples::encode_png_rgb(rgb.data(), image.width, image.height);
  };
  timing t = measure(rounds, stb_png);
  std::printf("| %s | PNG | stb_image_write | %zu | %.1f |\n", name, out.size(), t.cpu_ms);
  for (const int level : {1, 3, 6}) {
    t = measure(rounds, [&] {
      out = pixel_ops::encode_png(rgb.data(), image.width, image.height, 3, level);
    });
    std::printf("| %s | PNG | libpng 1.6, zlib level %d | %zu | %.1f |\n", name, level, out.size(),
                t.cpu_ms);
  }
  for (const int quality : {90, 75}) {
    t = measure(rounds, [&] {
      out = samples::encode_jpeg_rgb(rgb.data(), image.width, image.height, quality);
    });
    std::printf("| %s | JPEG q%d | stb_image_write | %zu | %.1f |\n", name, quality, out.size(),
                t.cpu_ms);
    t = measure(rounds, [&] {
      out = pixel_ops::encode_jpeg(rgb.data(), image.width, image.height, quality);
    });
    std::printf("| %s | JPEG q%d | libjpeg-turbo 2.1 | %zu | %.1f |\n", name, quality, out.size(),
                t.cpu_ms);
  }
}

void write_file(const std::string& path, const std::string& bytes) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::fclose(file);
  std::printf("wrote %s (%zu bytes)\n", path.c_str(), bytes.size());
}

// The README's before/after pictures: a 4:3 test card fitted to the big picture both ways and
// to the icon, exactly as the gateway would upload them.
int write_pictures(const std::string& dir, const image_rule& big, const image_rule& small) {
  const auto source = std::make_shared<const std::string>(samples::test_card_png(800, 600));
  write_file(dir + "/source-800x600.png", *source);
  const struct {
    const char* name;
    const image_rule* rule;
    fit_options options;
  } outputs[] = {
      {"contain-984x369.png", &big, {fit_mode::contain, rgb{0x1e, 0x29, 0x3b}}},
      {"cover-984x369.png", &big, {fit_mode::cover, white}},
      {"cover-144x144.png", &small, {fit_mode::cover, white}},
  };
  for (const auto& output : outputs) {
    auto fitted = fit_image(source, *output.rule, output.options, {}, "pictures");
    if (!fitted) {
      std::fprintf(stderr, "%s: %s\n", output.name, fitted.error().detail.c_str());
      return 1;
    }
    write_file(dir + "/" + output.name, std::string(fitted.value().bytes.view()));
  }
  return 0;
}
// Sources for bench/fit-health.sh: a 12 MP JPEG and a 2 MP PNG, photo-like.
int write_sources(const std::string& dir) {
  write_file(dir + "/photo-4000x3000.jpg", samples::photo_jpeg(4000, 3000, 1));
  write_file(dir + "/photo-1920x1080.png", samples::photo_png(1920, 1080, 2));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const image_rule big{984, 369, 1048576};
  const image_rule small{144, 144, 51200};
  if (argc > 2 && std::string(argv[1]) == "--pictures") return write_pictures(argv[2], big, small);
  if (argc > 2 && std::string(argv[1]) == "--sources") return write_sources(argv[2]);
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  std::printf("fit_bench: median of %d rounds, one thread\n\n", rounds);
  std::printf("| source | bytes | uploaded | wall ms | CPU ms |\n|---|---|---|---|---|\n");
  const std::string photo = samples::photo_jpeg(4000, 3000, 1);
  fit_row(rounds, "12 MP JPEG 4000x3000, contain -> big", photo, big, fit_mode::contain);
  fit_row(rounds, "12 MP JPEG 4000x3000, cover -> small", photo, small, fit_mode::cover);
  {
    // The share of decoding, on the same file: the fit's decode to RGB (libjpeg-turbo), the
    // gate's verification (libjpeg-turbo), and stb_image's decoder, which
    // decoded JPEGs before (its exported entry point in the gateway's own stb build).
    const std::span bytes(reinterpret_cast<const unsigned char*>(photo.data()), photo.size());
    const std::size_t budget =
        fit_decode_budget(image_format::jpeg, 4000, 3000, photo.size(), 4000, 3000);
    const timing rgb = measure(rounds, [&] {
      if (!pixel_decode::decode_pixels(bytes, 3, budget).pixels) std::exit(1);
    });
    const timing verify = measure(rounds, [&] {
      if (verify_decode(bytes, "bench", budget)) std::exit(1);
    });
    const timing stb = measure(rounds, [&] {
      int width = 0;
      int height = 0;
      int components = 0;
      unsigned char* pixels = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()),
                                                    &width, &height, &components, 3);
      if (pixels == nullptr) std::exit(1);
      stbi_image_free(pixels);
    });
    const char* rows[] = {"decode to RGB for a fit (libjpeg-turbo)",
                          "verify decode (libjpeg-turbo)",
                          "decode to RGB by stb_image 2.27 (before)"};
    const timing* times[] = {&rgb, &verify, &stb};
    for (int i = 0; i < 3; ++i) {
      std::printf("| 12 MP JPEG 4000x3000, %s | %zu | - | %.1f | %.1f |\n", rows[i], photo.size(),
                  times[i]->wall_ms, times[i]->cpu_ms);
    }
  }
  const std::string png2 = samples::photo_png(1920, 1080, 2);
  fit_row(rounds, "2 MP PNG 1920x1080, contain -> big", png2, big, fit_mode::contain);
  fit_row(rounds, "2 MP PNG 1920x1080, cover -> small", png2, small, fit_mode::cover);
  const std::string noise = samples::noise_png(984, 369, 3);
  fit_row(rounds, "984x369 PNG of noise, 1.09 MB (over 1 MiB: re-encoded, JPEG search)", noise, big,
          fit_mode::contain);

  std::printf("\n| pixels | format | encoder | bytes | CPU ms |\n|---|---|---|---|---|\n");
  const auto fitted = fit_image(std::make_shared<const std::string>(png2), big,
                                {fit_mode::cover, white}, {}, "bench");
  const auto pixels = samples::decode_rgba(std::string(fitted.value().bytes.view()));
  encoder_rows(rounds, "2 MP PNG fitted to 984x369", *pixels);
  const auto noisy = samples::decode_rgba(samples::noise_png(984, 369, 4));
  encoder_rows(rounds, "984x369 noise", *noisy);
  return 0;
}
