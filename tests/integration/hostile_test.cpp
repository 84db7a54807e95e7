// Hostile URLs and hostile images (issue 3, docs/security.md): the real gateway against origins
// that misbehave on purpose. Each test would fail if the defence it names were removed.
#include <gtest/gtest.h>

#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>

#include "fakes/raw_origin.hpp"
#include "fakes/test_servers.hpp"
#include "image_gateway/image/image_check.hpp"
#include "image_gateway/oppo/fake_oppo.hpp"
#include "image_gateway/util/sample_images.hpp"
#include "support/png_bytes.hpp"

namespace image_gateway::testing {
namespace {

using nlohmann::json;
using clock_type = std::chrono::steady_clock;

struct error_answer {
  long status = 0;
  int code = 0;
  std::string detail;
};

// The error object of an answer; code 0 when the answer is not an error.
error_answer error_of(const client_response& response) {
  error_answer answer{response.status, 0, {}};
  const json body = json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("error")) {
    answer.code = body["error"].value("code", 0);
    answer.detail = body["error"].value("detail", "");
  }
  return answer;
}

std::string request_body(const std::string& big, const std::string& small) {
  json request = json::object();
  if (!big.empty()) request["big_picture_url"] = big;
  if (!small.empty()) request["small_picture_url"] = small;
  return request.dump();
}

// The path of a request head: "GET /a HTTP/1.1" -> "/a".
std::string path_of(const std::string& head) {
  const auto start = head.find(' ');
  const auto end = head.find(' ', start + 1);
  if (start == std::string::npos || end == std::string::npos) return {};
  return head.substr(start + 1, end - start - 1);
}

// A script that answers one request with fixed bytes and then waits for the peer to leave.
raw_origin::script answer_with(std::string bytes) {
  return [bytes = std::move(bytes)](origin_connection& c) {
    if (c.read_head().empty()) return;
    c.send(bytes);
    c.wait_closed(5s);
  };
}

// A 984x369 RGB PNG whose only IDAT is `idat`.
std::string png_with_idat(std::string_view idat) {
  return png_bytes::rgb_with_idat(984, 369, idat);
}

using png_bytes::zlib_bomb;

// A field of /proc/self/status in kB ("VmHWM", "VmRSS").
long status_kb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

// Sets proxy variables for one test, and restores what was there.
class proxy_environment {
 public:
  explicit proxy_environment(const std::string& proxy_url) {
    for (const char* name :
         {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
      save(name);
      ::setenv(name, proxy_url.c_str(), 1);
    }
    for (const char* name : {"no_proxy", "NO_PROXY"}) {
      save(name);
      ::unsetenv(name);
    }
  }
  ~proxy_environment() {
    for (const auto& [name, value] : saved_) {
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }

 private:
  void save(const char* name) {
    const char* value = std::getenv(name);
    saved_.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

class HostileTest : public ::testing::Test {
 protected:
  config settings() { return test_config(oppo.base_url()); }

  gateway_under_test& start(config c) {
    gateway = std::make_unique<gateway_under_test>(std::move(c));
    return *gateway;
  }

  client_response post_small(const std::string& url) {
    return post_images(*gateway, request_body("", url));
  }
  client_response post_big(const std::string& url) {
    return post_images(*gateway, request_body(url, ""));
  }

  fake_oppo_server oppo;
  fake_origin origin;
  std::unique_ptr<gateway_under_test> gateway;
};

// ---- addresses -----------------------------------------------------------------------------

// Only 127.0.0.2 is allowed. The allowed origin redirects to 127.0.0.1, which the connect-time
// check refuses: the blocked origin never sees a connection.
TEST_F(HostileTest, RedirectFromAllowedOriginToBlockedOneNeverReachesIt) {
  raw_origin blocked(answer_with(scripted_answer(200, "image/png", samples::png(144, 144, 1))));
  const std::string target = blocked.url("/s.png");
  const std::string image = samples::png(144, 144, 2);
  raw_origin allowed(
      [&](origin_connection& c) {
        const std::string head = c.read_head();
        if (path_of(head) == "/s.png") {
          c.send(scripted_answer(200, "image/png", image));
        } else {
          c.send(scripted_answer(302, "text/plain", "moved", "Location: " + target + "\r\n"));
        }
        c.wait_closed(5s);
      },
      "127.0.0.2");

  config c = settings();
  c.fetch.allow_networks = {*ip_network::parse("127.0.0.2/32")};
  start(std::move(c));

  // The allow list really lets 127.0.0.2 through.
  const auto direct = post_small(allowed.url("/s.png"));
  ASSERT_EQ(direct.status, 200) << direct.body << direct.error;
  EXPECT_TRUE(json::parse(direct.body).contains("small_picture_id"));

  const auto refused = error_of(post_small(allowed.url("/redirect")));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.code, 21003);
  EXPECT_EQ(refused.detail,
            "small_picture_url: address not allowed: 127.0.0.1 is in 127.0.0.0/8 (loopback)");
  EXPECT_EQ(allowed.connections(), 2U);
  EXPECT_EQ(blocked.connections(), 0U);
}

// Every spelling of a blocked address, and the URL rules, end before a packet is sent.
TEST_F(HostileTest, BlockedAddressesAndBadUrlsNeverReachTheTarget) {
  raw_origin blocked(answer_with(scripted_answer(200, "image/png", samples::png(144, 144, 1))));
  const std::string port = std::to_string(blocked.port());
  config c = settings();
  c.fetch.allow_networks = {*ip_network::parse("127.0.0.2/32")};
  start(std::move(c));

  struct row {
    std::string url;
    std::string detail;  // expected start of the detail after "small_picture_url: "
  };
  const std::vector<row> rows = {
      {"http://127.0.0.1:" + port + "/a.png", "address not allowed: 127.0.0.1 is in 127.0.0.0/8"},
      {"http://2130706433:" + port + "/a.png", "address not allowed: 127.0.0.1 is in"},
      {"http://0x7f.1:" + port + "/a.png", "address not allowed: 127.0.0.1 is in"},
      {"http://127.1:" + port + "/a.png", "address not allowed: 127.0.0.1 is in"},
      {"http://[::ffff:127.0.0.1]:" + port + "/a.png",
       "address not allowed: ::ffff:127.0.0.1 embeds 127.0.0.1"},
      {"http://localhost:" + port + "/a.png", "host 'localhost' is not allowed"},
      {"http://a.b.LOCALHOST.:" + port + "/a.png", "host 'a.b.localhost"},
      {"http://user:secret@127.0.0.2:" + port + "/a.png", "URL carries user credentials"},
      {"gopher://127.0.0.2:" + port + "/a.png", "scheme 'gopher' is not allowed"},
      {"http://127.0.0.2:" + port + "/" + std::string(2100, 'a'), "URL is 2"},
  };
  for (const auto& r : rows) {
    const auto refused = error_of(post_small(r.url));
    EXPECT_EQ(refused.status, 400) << r.url;
    EXPECT_EQ(refused.code, 21003) << r.url;
    EXPECT_EQ(refused.detail.rfind("small_picture_url: " + r.detail, 0), 0U)
        << r.url << " -> " << refused.detail;
  }
  EXPECT_EQ(blocked.connections(), 0U);
}

// ---- redirects -----------------------------------------------------------------------------

TEST_F(HostileTest, RedirectChainPastTheCapIsRefused) {
  origin.serve("/img.png", samples::png(144, 144, 3));
  // Four hops: one more than fetch.max_redirects.
  origin.redirect("/r0", origin.url("/r1"));
  origin.redirect("/r1", origin.url("/r2"), 301);
  origin.redirect("/r2", origin.url("/r3"), 307);
  origin.redirect("/r3", origin.url("/img.png"), 308);
  // Exactly three hops.
  origin.redirect("/s0", origin.url("/s1"), 303);
  origin.redirect("/s1", origin.url("/s2"));
  origin.redirect("/s2", origin.url("/img.png"));
  config c = settings();
  c.fetch.max_redirects = 3;
  start(std::move(c));

  const auto refused = error_of(post_small(origin.url("/r0")));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.code, 21003);
  EXPECT_EQ(refused.detail, "small_picture_url: too many redirects");
  EXPECT_EQ(origin.hits("/img.png"), 0U);

  const auto allowed = post_small(origin.url("/s0"));
  EXPECT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_EQ(origin.hits("/img.png"), 1U);
}

TEST_F(HostileTest, RedirectsToOtherSchemesAreRefused) {
  raw_origin target(answer_with("hello\r\n"));
  const std::string port = std::to_string(target.port());
  origin.redirect("/file", "file:///etc/passwd");
  origin.redirect("/gopher", "gopher://127.0.0.1:" + port + "/_GET%20/");
  origin.redirect("/dict", "dict://127.0.0.1:" + port + "/info");
  origin.redirect("/ftp", "ftp://127.0.0.1:" + port + "/a.png");
  origin.redirect("/telnet", "telnet://127.0.0.1:" + port + "/");
  start(settings());

  for (const std::string path : {"/file", "/gopher", "/dict", "/ftp", "/telnet"}) {
    const auto refused = error_of(post_small(origin.url(path)));
    EXPECT_EQ(refused.status, 400) << path;
    EXPECT_EQ(refused.code, 21003) << path;
    EXPECT_EQ(refused.detail, "small_picture_url: redirect refused: scheme '" + path.substr(1) +
                                  "' is not allowed, only http and https")
        << path;
  }
  EXPECT_EQ(target.connections(), 0U);
}

// ---- bodies --------------------------------------------------------------------------------

// No Content-Length and an endless chunked body: bytes are counted as they arrive and the
// transfer stops just past the limit, long before the origin runs out.
TEST_F(HostileTest, EndlessChunkedBodyIsCutAtTheLimit) {
  std::promise<std::size_t> sent;
  raw_origin endless([&](origin_connection& c) {
    if (c.read_head().empty()) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "2000\r\n" + std::string(0x2000, 'x') + "\r\n";
    // 64 MiB at most, so a gateway without the byte count ends this test instead of hanging.
    while (c.bytes_sent() < 64U * 1024 * 1024 && c.send(chunk)) {
    }
    sent.set_value(c.bytes_sent());
  });
  start(settings());

  const auto refused = error_of(post_small(endless.url("/chunked.png")));
  EXPECT_EQ(refused.status, 200);
  EXPECT_EQ(refused.code, 51);
  EXPECT_EQ(refused.detail,
            "small_picture_url: image is larger than 51200 bytes, OPPO allows at most 51200");
  auto future = sent.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  // What the kernel buffers hold besides the 51201 bytes read; far below the 64 MiB offered.
  EXPECT_LT(future.get(), 16U * 1024 * 1024);
}

// Content-Length over the limit: refused on the header, without waiting for a body.
TEST_F(HostileTest, ContentLengthOverTheLimitIsRefusedBeforeTheBody) {
  std::promise<bool> closed;
  raw_origin liar([&](origin_connection& c) {
    if (c.read_head().empty()) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 60000\r\n\r\n");
    // No body at all: only a refusal on the header ends this before the fetch time-out.
    closed.set_value(c.wait_closed(10s));
  });
  config c = settings();
  c.fetch.timeout = 5s;
  start(std::move(c));

  const auto refused = error_of(post_small(liar.url("/big.png")));
  EXPECT_EQ(refused.status, 200);
  EXPECT_EQ(refused.code, 51);
  EXPECT_EQ(refused.detail,
            "small_picture_url: image is larger than 51200 bytes, OPPO allows at most 51200");
  auto future = closed.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(future.get());
}

// Content-Length says more than arrives: a truncated transfer is a fetch failure, never an image.
TEST_F(HostileTest, BodyShorterThanContentLengthIsAFetchFailure) {
  const std::string image = samples::png(144, 144, 4);
  raw_origin liar([&](origin_connection& c) {
    if (c.read_head().empty()) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: " +
           std::to_string(image.size() + 1000) + "\r\n\r\n" + image);
    // and closes
  });
  start(settings());

  const auto refused = error_of(post_small(liar.url("/short.png")));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.code, 21003);
  EXPECT_EQ(refused.detail.rfind("small_picture_url: fetch failed (", 0), 0U) << refused.detail;
}

// Content-Length says less than is sent: only that many bytes are read (here a truncated PNG,
// which does not decode), the rest is never read.
TEST_F(HostileTest, BodyLongerThanContentLengthIsNotRead) {
  const std::string image = samples::png(144, 144, 5);
  std::promise<std::size_t> sent;
  raw_origin liar([&](origin_connection& c) {
    if (c.read_head().empty()) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100\r\n\r\n" + image);
    const std::string junk(64 * 1024, 'j');
    while (c.bytes_sent() < 32U * 1024 * 1024 && c.send(junk)) {
    }
    sent.set_value(c.bytes_sent());
  });
  start(settings());

  const auto refused = error_of(post_small(liar.url("/long.png")));
  EXPECT_EQ(refused.status, 200);
  EXPECT_EQ(refused.code, 51);
  EXPECT_EQ(refused.detail.rfind("small_picture_url: image does not decode", 0), 0U)
      << refused.detail;
  auto future = sent.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_LT(future.get(), 16U * 1024 * 1024);
}

// ---- slow sources --------------------------------------------------------------------------

// One byte every 100 ms forever: the fetch time-out ends it (21003), not the origin.
TEST_F(HostileTest, DripFeedSourceEndsAtTheFetchTimeout) {
  raw_origin drip([](origin_connection& c) {
    if (c.read_head().empty()) return;
    if (!c.send("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 51200\r\n\r\n"))
      return;
    while (c.send("x") && c.sleep(100ms)) {
    }
  });
  config c = settings();
  c.fetch.timeout = 1500ms;
  start(std::move(c));

  const auto started = clock_type::now();
  const auto refused = error_of(post_small(drip.url("/drip.png")));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.code, 21003);
  EXPECT_EQ(refused.detail, "small_picture_url: fetch timed out (limit 1500 ms)");
  EXPECT_LT(clock_type::now() - started, 10s);  // the drip alone would take 85 minutes
}

// Same drip with a long fetch time-out: the low-speed limit (1 KiB/s over 3 s) ends it first.
TEST_F(HostileTest, DripFeedSourceEndsAtTheLowSpeedLimit) {
  raw_origin drip([](origin_connection& c) {
    if (c.read_head().empty()) return;
    if (!c.send("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 51200\r\n\r\n"))
      return;
    while (c.send("x") && c.sleep(100ms)) {
    }
  });
  config c = settings();
  c.fetch.timeout = 20s;
  c.server.request_deadline = 25s;
  start(std::move(c));

  const auto started = clock_type::now();
  const auto refused = error_of(post_small(drip.url("/drip.png")));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.code, 21003);
  // The detail names the rule that cut it, with its numbers (not the 20 s it did not reach).
  EXPECT_EQ(refused.detail,
            "small_picture_url: fetch cut by the low-speed rule (fewer than 1024 bytes per second "
            "arrived for 3 s)");
  EXPECT_LT(clock_type::now() - started, 15s);  // well before the 20 s fetch time-out
}

// Accepts and never answers: the request deadline (shorter than fetch.timeout) ends the fetch,
// and the gateway hangs up on the origin.
TEST_F(HostileTest, SilentSourceCannotHoldTheRequestPastItsDeadline) {
  std::promise<bool> hung_up;
  raw_origin silent([&](origin_connection& c) {
    if (c.read_head().empty()) return;
    hung_up.set_value(c.wait_closed(20s));
  });
  config c = settings();
  c.fetch.timeout = 20s;
  c.server.request_deadline = 1500ms;
  start(std::move(c));

  const auto started = clock_type::now();
  const auto refused = error_of(post_small(silent.url("/silent.png")));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.code, 21003);
  EXPECT_EQ(refused.detail.rfind("small_picture_url: fetch timed out", 0), 0U) << refused.detail;
  EXPECT_LT(clock_type::now() - started, 10s);
  auto future = hung_up.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(future.get());
}

// ---- proxies -------------------------------------------------------------------------------

TEST_F(HostileTest, ProxyInTheEnvironmentIsNotUsed) {
  raw_origin proxy(answer_with(scripted_answer(502, "text/plain", "proxy\n")));
  origin.serve("/s.png", samples::png(144, 144, 6));
  start(settings());
  {
    proxy_environment environment(proxy.url(""));
    const auto response = post_small(origin.url("/s.png"));
    EXPECT_EQ(response.status, 200) << response.body;
  }
  EXPECT_EQ(proxy.connections(), 0U);
  EXPECT_EQ(origin.hits("/s.png"), 1U);
  EXPECT_EQ(oppo.api().stats().uploads_accepted, 1U);  // OPPO calls went direct too
}

// No compressed encodings are asked for (a gzip bomb cannot be invited), and nothing of ours
// (credentials, proxy headers) goes to a caller's origin.
TEST_F(HostileTest, FetchAsksForNoCompressionAndCarriesNoCredentials) {
  raw_origin source(answer_with(scripted_answer(200, "image/png", samples::png(144, 144, 9))));
  start(settings());
  const auto response = post_small(source.url("/s.png"));
  EXPECT_EQ(response.status, 200) << response.body;
  const auto heads = source.requests();
  ASSERT_EQ(heads.size(), 1U);
  std::string head = heads[0];
  for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_EQ(head.rfind("get /s.png http/1.1\r\n", 0), 0U) << head;
  EXPECT_EQ(head.find("accept-encoding"), std::string::npos) << head;
  EXPECT_EQ(head.find("te:"), std::string::npos) << head;
  EXPECT_EQ(head.find("authorization"), std::string::npos) << head;
  EXPECT_EQ(head.find("proxy"), std::string::npos) << head;
}

// ---- hostile images ------------------------------------------------------------------------

// A 984x369 PNG of under 1 MB whose IDAT inflates to about 150 MB: refused with 51 once the
// decode budget is spent, and the process never holds the inflated data.
TEST_F(HostileTest, PngBombFailsCleanlyWithBoundedMemory) {
  const std::string bomb = png_with_idat(zlib_bomb(600000));
  ASSERT_LT(bomb.size(), 1048576U);
  origin.serve("/bomb.png", bomb);
  start(settings());

  // Peak RSS counted from here: "5" resets VmHWM to the current RSS (Linux 4.0+).
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
  }
  const long before_kb = status_kb("VmRSS");
  const auto refused = error_of(post_big(origin.url("/bomb.png")));
  const long peak_kb = status_kb("VmHWM");
  EXPECT_EQ(refused.status, 200);
  EXPECT_EQ(refused.code, 51);
  EXPECT_EQ(refused.detail,
            "big_picture_url: image does not decode (it needs more than 8388608 bytes of memory)");
  ASSERT_GT(before_kb, 0);
  EXPECT_LT(peak_kb - before_kb, 64 * 1024)
      << "peak RSS grew by " << (peak_kb - before_kb) << " kB";
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

// The same bomb straight at the gate: it is a real bomb (even 64 MB is not enough), and the
// default budget refuses it.
TEST(HostileImages, DecodeBudgetStopsALargeBomb) {
  const std::string bomb = png_with_idat(zlib_bomb(600000));
  const std::span<const unsigned char> bytes(reinterpret_cast<const unsigned char*>(bomb.data()),
                                             bomb.size());
  const image_rule big{984, 369, 1048576};
  ASSERT_TRUE(inspect_image(bytes, big, "big_picture_url").ok());
  const auto problem = verify_decode(bytes, "big_picture_url");
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->kind, error_kind::image_undecodable);
  const auto roomier = verify_decode(bytes, "big_picture_url", 64 * 1024 * 1024);
  ASSERT_TRUE(roomier.has_value());
  EXPECT_EQ(roomier->detail,
            "big_picture_url: image does not decode (it needs more than 67108864 bytes of memory)");
}

TEST_F(HostileTest, TruncatedImagesAreRefused) {
  const std::string png = samples::png(144, 144, 7);
  const std::string jpeg = samples::jpeg(144, 144, 7);
  origin.serve("/half.png", png.substr(0, png.size() / 2));
  origin.serve("/half.jpg", jpeg.substr(0, jpeg.size() / 2), "image/jpeg");
  origin.serve("/head.png", png.substr(0, 20));
  origin.serve("/head.jpg", jpeg.substr(0, 20), "image/jpeg");
  start(settings());

  for (const std::string path : {"/half.png", "/half.jpg"}) {
    const auto refused = error_of(post_small(origin.url(path)));
    EXPECT_EQ(refused.status, 200) << path;
    EXPECT_EQ(refused.code, 51) << path;
    EXPECT_EQ(refused.detail.rfind("small_picture_url: image does not decode (", 0), 0U)
        << path << " -> " << refused.detail;
  }
  for (const auto& [path, format] : {std::pair{"/head.png", "PNG"}, {"/head.jpg", "JPEG"}}) {
    const auto refused = error_of(post_small(origin.url(path)));
    EXPECT_EQ(refused.code, 51) << path;
    EXPECT_EQ(refused.detail.rfind(
                  "small_picture_url: " + std::string(format) + " header could not be read (", 0),
              0U)
        << path << " -> " << refused.detail;
  }
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

TEST_F(HostileTest, OtherFormatsServedAsPngAreRefusedByTheirMagic) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {std::string("GIF89a\x90\x00\x90\x00\x80\x00\x00", 13) + std::string(100, '\0'),
       "it looks like GIF"},
      {std::string("RIFF\x24\x00\x00\x00WEBPVP8 ", 16) + std::string(100, '\0'),
       "it looks like WebP"},
      {"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"144\" height=\"144\"></svg>",
       "it looks like SVG"},
      {"<!DOCTYPE html><html><body>Not found</body></html>", "it looks like HTML"},
  };
  for (std::size_t i = 0; i < files.size(); ++i) {
    origin.serve("/f" + std::to_string(i) + ".png", files[i].first, "image/png");
  }
  start(settings());

  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto refused = error_of(post_small(origin.url("/f" + std::to_string(i) + ".png")));
    EXPECT_EQ(refused.status, 200);
    EXPECT_EQ(refused.code, 51);
    EXPECT_EQ(refused.detail,
              "small_picture_url: not a PNG or JPEG image (magic bytes; " + files[i].second + ")");
  }
  EXPECT_EQ(oppo.api().stats().upload_requests, 0U);
}

// A fake OPPO that keeps the raw body of every upload it accepts.
class recording_oppo {
 public:
  recording_oppo() : api_(oppo::fake_oppo::options{{fake_oppo_server::default_oppo_app()}}) {
    http_server::hooks hooks;
    hooks.handle = [this](api_request request) { return handle(std::move(request)); };
    server_limits limits;
    limits.max_body_bytes = 4 * 1024 * 1024;
    limits.max_body_multipart_bytes = limits.max_body_bytes;
    server_ = std::make_unique<loopback_server>(std::move(hooks), limits, 1);
  }
  std::string base_url() const { return server_->base_url(); }
  std::vector<std::string> uploads() const {
    std::lock_guard lock(mutex_);
    return uploads_;
  }

 private:
  boost::asio::awaitable<api_response> handle(api_request request) {
    if (request.path.find("/media/upload/") != std::string::npos) {
      std::lock_guard lock(mutex_);
      uploads_.push_back(request.body);
    }
    co_return api_.handle(request).response;
  }

  oppo::fake_oppo api_;
  mutable std::mutex mutex_;
  std::vector<std::string> uploads_;
  std::unique_ptr<loopback_server> server_;
};

// Decoded pixels are never uploaded: the exact bytes the URL served go to OPPO (a comment
// segment a re-encode would drop survives), under the type its magic bytes say (a JPEG served
// as image/png goes up as image/jpeg).
TEST(HostileUpload, TheBytesServedAreTheBytesUploaded) {
  recording_oppo recorder;
  fake_origin source;
  const std::string jpeg = samples::pad_jpeg(samples::jpeg(144, 144, 8), 20000);
  source.serve("/s.png", jpeg, "image/png");
  gateway_under_test gw(test_config(recorder.base_url()));

  const auto response = post_images(gw, request_body("", source.url("/s.png")));
  ASSERT_EQ(response.status, 200) << response.body;
  const auto uploads = recorder.uploads();
  ASSERT_EQ(uploads.size(), 1U);
  EXPECT_NE(uploads[0].find(jpeg), std::string::npos);
  EXPECT_NE(uploads[0].find("Content-Type: image/jpeg"), std::string::npos);
  EXPECT_NE(uploads[0].find(".jpg\""), std::string::npos);
}

}  // namespace
}  // namespace image_gateway::testing
