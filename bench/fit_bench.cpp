// The cost of fitting one picture (issue 12), and the encoder choice: wall and CPU milliseconds
// of fit_image for typical sources, then stb_image_write against Debian's libpng and
// libjpeg-turbo on the same fitted pixels (bytes and milliseconds). Shrink-on-load (issue 18):
// the same fits with every pixel decoded (the path before it), their PSNR against each other,
// and the 12 MP JPEG fitted by a process of this program beside `vipsthumbnail` on the same
// file (wall time and peak RSS of each process, from wait4). Single-threaded; run the Release
// build on a quiet machine:   build/release/bench/fit_bench [rounds]
#include <algorithm>
#include <chrono>
#include <cmath>
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

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

// The same fit with and without shrink-on-load: times in one run, and the PSNR of the shrunk
// picture against the full decode's.
timing shrink_row(int rounds, const char* name, const std::string& source, const image_rule& rule,
                  fit_mode mode) {
  const auto shared = std::make_shared<const std::string>(source);
  std::string pictures[2];
  timing times[2];
  for (int shrink = 0; shrink < 2; ++shrink) {
    times[shrink] = measure(rounds, [&] {
      auto fitted = fit_image(shared, rule, {mode, white, shrink == 1}, {}, "bench");
      if (!fitted) {
        std::fprintf(stderr, "%s: %s\n", name, fitted.error().detail.c_str());
        std::exit(1);
      }
      pictures[shrink] = std::string(fitted.value().bytes.view());
    });
  }
  const double db =
      samples::psnr(*samples::decode_rgba(pictures[0]), *samples::decode_rgba(pictures[1]));
  char psnr[64];
  std::snprintf(psnr, sizeof psnr, "%.1f dB", db);
  std::printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1fx | %s |\n", name, times[0].wall_ms,
              times[0].cpu_ms, times[1].wall_ms, times[1].cpu_ms, times[0].cpu_ms / times[1].cpu_ms,
              std::isinf(db) ? "same pixels (nothing to shrink)" : psnr);
  return times[1];
}

struct process_run {
  double wall_ms = 0;
  double cpu_ms = 0;  // user + system, all threads
  long max_rss_kib = 0;
};

double ms(const timeval& t) {
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3;
}

// --measure PROGRAM ARGS...: runs the program (its stdout to /dev/null) and prints "<wall ms>
// <CPU ms> <peak RSS KiB>" of it, from wait4. A fork's peak RSS starts at its parent's RSS, so
// the bench does not fork the program itself (it holds the sources): this freshly started,
// small process does.
int measure_child(char** argv) {
  const auto started = std::chrono::steady_clock::now();
  const pid_t child = fork();
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    execvp(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (child < 0 || wait4(child, &status, 0, &usage) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s failed\n", argv[0]);
    return 1;
  }
  const double wall =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::printf("%.3f %.3f %ld\n", wall, ms(usage.ru_utime) + ms(usage.ru_stime), usage.ru_maxrss);
  return 0;
}

std::string self_path() {
  char path[4096];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) std::exit(1);
  return std::string(path, static_cast<std::size_t>(length));
}

// One run of a program as a child process, through --measure.
process_run run_process(const std::vector<std::string>& argv) {
  // Quoted for popen's shell (no argument here holds a quote).
  std::string command(1, '\'');
  command += self_path();
  command += "' --measure";
  for (const std::string& arg : argv) {
    command += " '";
    command += arg;
    command += '\'';
  }
  std::FILE* pipe = popen(command.c_str(), "r");
  process_run run;
  if (pipe == nullptr ||
      std::fscanf(pipe, "%lf %lf %ld", &run.wall_ms, &run.cpu_ms, &run.max_rss_kib) != 3 ||
      pclose(pipe) != 0) {
    std::fprintf(stderr, "%s failed\n", argv[0].c_str());
    std::exit(1);
  }
  return run;
}

// The medians of `rounds` runs (after one warm-up).
process_run measure_process(int rounds, const std::vector<std::string>& argv) {
  run_process(argv);
  std::vector<double> walls;
  std::vector<double> cpus;
  std::vector<long> peaks;
  for (int i = 0; i < rounds; ++i) {
    const process_run run = run_process(argv);
    walls.push_back(run.wall_ms);
    cpus.push_back(run.cpu_ms);
    peaks.push_back(run.max_rss_kib);
  }
  std::sort(walls.begin(), walls.end());
  std::sort(cpus.begin(), cpus.end());
  std::sort(peaks.begin(), peaks.end());
  return {walls[walls.size() / 2], cpus[cpus.size() / 2], peaks[peaks.size() / 2]};
}

void write_file(const std::string& path, const std::string& bytes, bool quiet);

// The 12 MP JPEG contain -> 984x369 as whole processes on the same file: vipsthumbnail, and
// this program fitting it once (--fit-once) with and without shrink-on-load, and only reading
// it (the process's own floor).
void process_rows(int rounds, const std::string& photo, const timing& in_process) {
  char directory[] = "/tmp/fit_bench.XXXXXX";
  if (mkdtemp(directory) == nullptr) std::exit(1);
  const std::string dir = directory;
  const std::string source = dir + "/photo-4000x3000.jpg";
  write_file(source, photo, true);
  const std::string self = self_path();
  const struct {
    const char* name;
    std::vector<std::string> argv;
  } rows[] = {
      {"vipsthumbnail -s 984x369 (libvips, shrink-on-load)",
       {"vipsthumbnail", source, "-s", "984x369", "-o", dir + "/vips.jpg"}},
      {"fit_bench --fit-once contain 984x369, shrink-on-load",
       {self, "--fit-once", source, "contain", "984", "369", "shrink"}},
      {"fit_bench --fit-once contain 984x369, every pixel decoded (before)",
       {self, "--fit-once", source, "contain", "984", "369", "full"}},
      {"fit_bench --fit-once none (reads the file, no fit: the process floor)",
       {self, "--fit-once", source, "none", "984", "369", "full"}},
  };
  std::printf(
      "\n| 12 MP JPEG 4000x3000, one process per run (medians) | wall ms | CPU ms | "
      "peak RSS KiB |\n|---|---:|---:|---:|\n");
  process_run runs[4];
  for (std::size_t i = 0; i < 4; ++i) {
    runs[i] = measure_process(rounds, rows[i].argv);
    std::printf("| %s | %.1f | %.1f | %ld |\n", rows[i].name, runs[i].wall_ms, runs[i].cpu_ms,
                runs[i].max_rss_kib);
  }
  const process_run& vips = runs[0];
  const process_run& shrink = runs[1];
  const process_run& full = runs[2];
  const process_run& floor = runs[3];
  const long shrink_peak = shrink.max_rss_kib - floor.max_rss_kib;
  const long full_peak = full.max_rss_kib - floor.max_rss_kib;
  std::printf(
      "\nvipsthumbnail / fit, as processes: %.2fx wall, %.2fx CPU; peak RSS above the "
      "process floor: %ld KiB with shrink-on-load, %ld KiB decoding every pixel (%.1f%%)\n",
      vips.wall_ms / shrink.wall_ms, vips.cpu_ms / shrink.cpu_ms, shrink_peak, full_peak,
      100.0 * static_cast<double>(shrink_peak) / static_cast<double>(full_peak));
  std::printf(
      "vipsthumbnail process / the gateway's fit_image call (%.1f ms wall, %.1f ms CPU, "
      "above): %.2fx wall, %.2fx CPU\n",
      in_process.wall_ms, in_process.cpu_ms, vips.wall_ms / in_process.wall_ms,
      vips.cpu_ms / in_process.cpu_ms);
  std::remove(source.c_str());
  std::remove((dir + "/vips.jpg").c_str());
  rmdir(dir.c_str());
}

// The final filter alone: the gateway's resampler against stb_image_resize (which it replaced)
// on what shrink-on-load leaves of the 12 MP JPEG (1000x750) and on a 2 MP RGBA picture, with
// the PSNR between their outputs.
void filter_rows(int rounds) {
  std::printf(
      "\n| final filter (linear light, Mitchell) | resample.cpp CPU ms | stb_image_resize CPU ms "
      "| speed-up | PSNR between them |\n|---|---:|---:|---:|---:|\n");
  const struct {
    const char* name;
    int width, height, channels, out_width, out_height;
  } cases[] = {
      {"1000x750 RGB -> 492x369 (contain, after shrink-on-load)", 1000, 750, 3, 492, 369},
      {"1920x1080 RGBA -> 656x369", 1920, 1080, 4, 656, 369},
  };
  for (const auto& c : cases) {
    const auto source = samples::decode_rgba(samples::photo_png(c.width, c.height, 7));
    std::vector<unsigned char> in;
    for (std::size_t i = 0; i < source->pixels.size(); i += 4) {
      for (int k = 0; k < c.channels; ++k)
        in.push_back(source->pixels[i + static_cast<std::size_t>(k)]);
    }
    const auto size = static_cast<std::size_t>(c.out_width * c.out_height * c.channels);
    std::vector<unsigned char> ours(size);
    std::vector<unsigned char> theirs(size);
    const auto run = [&](auto resize, std::vector<unsigned char>& out) {
      return measure(rounds, [&] {
        resize(in.data(), c.width, c.height, c.channels, 0.0, 0.0, 1.0, 1.0, out.data(),
               c.out_width, c.out_height, c.out_width * c.channels);
      });
    };
    const timing a = run(pixel_ops::resize, ours);
    const timing b = run(pixel_ops::resize_reference, theirs);
    const auto as_rgba = [&](const std::vector<unsigned char>& pixels) {
      samples::rgba_image image{c.out_width, c.out_height, {}};
      for (std::size_t i = 0; i < pixels.size(); i += static_cast<std::size_t>(c.channels)) {
        for (int k = 0; k < 3; ++k) image.pixels.push_back(pixels[i + static_cast<std::size_t>(k)]);
        image.pixels.push_back(c.channels == 4 ? pixels[i + 3] : 255);
      }
      return image;
    };
    std::printf("| %s | %.2f | %.2f | %.1fx | %.1f dB |\n", c.name, a.cpu_ms, b.cpu_ms,
                b.cpu_ms / a.cpu_ms, samples::psnr(as_rgba(ours), as_rgba(theirs)));
  }
}

// --fit-once FILE MODE WIDTH HEIGHT shrink|full: one fit of the file, the output discarded.
int fit_once(char** argv) {
  std::FILE* file = std::fopen(argv[0], "rb");
  if (file == nullptr) return 1;
  std::string bytes;
  char buffer[65536];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;)
    bytes.append(buffer, n);
  std::fclose(file);
  const auto mode = parse_fit(argv[1]);
  if (!mode) return 1;
  if (*mode == fit_mode::none) return bytes.empty() ? 1 : 0;
  const image_rule rule{std::atoi(argv[2]), std::atoi(argv[3]), 1048576};
  const bool shrink = std::string(argv[4]) == "shrink";
  auto fitted = fit_image(std::make_shared<const std::string>(std::move(bytes)), rule,
                          {*mode, white, shrink}, {}, "fit-once");
  return fitted ? 0 : 1;
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

void write_file(const std::string& path, const std::string& bytes, bool quiet) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::fclose(file);
  if (!quiet) std::printf("wrote %s (%zu bytes)\n", path.c_str(), bytes.size());
}

void write_file(const std::string& path, const std::string& bytes) {
  write_file(path, bytes, false);
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
  if (argc > 6 && std::string(argv[1]) == "--fit-once") return fit_once(argv + 2);
  if (argc > 2 && std::string(argv[1]) == "--measure") return measure_child(argv + 2);
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

  std::printf(
      "\nShrink-on-load against decoding every pixel (the path before issue 18), same run:\n\n"
      "| fit | full wall ms | full CPU ms | shrink wall ms | shrink CPU ms | CPU speed-up | "
      "PSNR vs full |\n|---|---:|---:|---:|---:|---:|---:|\n");
  const timing contain_12mp =
      shrink_row(rounds, "12 MP JPEG 4000x3000, contain -> 984x369", photo, big, fit_mode::contain);
  shrink_row(rounds, "12 MP JPEG 4000x3000, cover -> 144x144", photo, small, fit_mode::cover);
  shrink_row(rounds, "2 MP PNG 1920x1080, contain -> 984x369", png2, big, fit_mode::contain);
  shrink_row(rounds, "2 MP PNG 1920x1080, cover -> 144x144", png2, small, fit_mode::cover);
  const std::string card = samples::test_card_png(1600, 1200);
  shrink_row(rounds, "test card PNG 1600x1200, cover -> 144x144", card, small, fit_mode::cover);
  process_rows(rounds, photo, contain_12mp);
  filter_rows(rounds);

  std::printf("\n| pixels | format | encoder | bytes | CPU ms |\n|---|---|---|---|---|\n");
  const auto fitted = fit_image(std::make_shared<const std::string>(png2), big,
                                {fit_mode::cover, white}, {}, "bench");
  const auto pixels = samples::decode_rgba(std::string(fitted.value().bytes.view()));
  encoder_rows(rounds, "2 MP PNG fitted to 984x369", *pixels);
  const auto noisy = samples::decode_rgba(samples::noise_png(984, 369, 4));
  encoder_rows(rounds, "984x369 noise", *noisy);
  return 0;
}
