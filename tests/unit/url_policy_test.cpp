#include "image_gateway/fetch/url_policy.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace image_gateway {
namespace {

struct row {
  std::string url;
  std::string reason;  // empty: allowed
};

void expect_rows(const std::vector<row>& rows) {
  for (const auto& r : rows) {
    auto reason = url_refusal(r.url);
    if (r.reason.empty()) {
      EXPECT_FALSE(reason.has_value()) << r.url << " refused: " << reason.value_or("");
      EXPECT_TRUE(parse_url(r.url).has_value()) << r.url;
    } else {
      ASSERT_TRUE(reason.has_value()) << r.url << " allowed";
      EXPECT_EQ(*reason, r.reason) << r.url;
    }
  }
}

TEST(ParseUrl, Parts) {
  auto p = parse_url("https://CDN.Example.com/b.png");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->scheme, "https");
  EXPECT_EQ(p->host, "cdn.example.com");
  EXPECT_EQ(p->port, 443);

  p = parse_url("HTTP://example.com");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->scheme, "http");
  EXPECT_EQ(p->host, "example.com");
  EXPECT_EQ(p->port, 80);

  p = parse_url("http://127.0.0.1:8081/a.png?x=1#frag");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "127.0.0.1");
  EXPECT_EQ(p->port, 8081);

  p = parse_url("https://example.com:65535?q");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "example.com");
  EXPECT_EQ(p->port, 65535);

  p = parse_url("http://example.com:1#f");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->port, 1);

  p = parse_url("http://[::1]:8080/x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "::1");
  EXPECT_EQ(p->port, 8080);

  p = parse_url("https://[2606:4700::1111]/x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "2606:4700::1111");
  EXPECT_EQ(p->port, 443);

  p = parse_url("http://[::FFFF:7F00:1]");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "::ffff:7f00:1");

  // localhost parses; url_refusal is what refuses it.
  p = parse_url("http://localhost:8080/");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "localhost");
}

TEST(ParseUrl, RefusesWhatUrlRefusalRefusesForSyntax) {
  for (std::string_view url :
       {"", "ftp://example.com/", "http://user@example.com/", "http://exa mple.com/",
        "http://example.com:0/", "http:/example.com/", "http://[::1/", "//example.com/a.png"}) {
    EXPECT_FALSE(parse_url(url).has_value()) << url;
  }
  EXPECT_FALSE(parse_url("http://example.com/" + std::string(2100, 'a')).has_value());
}

TEST(UrlRefusal, ValidExamples) {
  expect_rows({
      {"http://example.com", ""},
      {"http://example.com/", ""},
      {"https://cdn.example.com/images/b.png", ""},
      {"https://cdn.example.com/images/b.png?size=big&v=2", ""},
      {"https://cdn.example.com/images/b.png#section", ""},
      {"https://cdn.example.com:8443/b.png?x=1#y", ""},
      {"https://cdn.example.com?x=1", ""},
      {"https://cdn.example.com#frag", ""},
      {"HTTP://EXAMPLE.COM/B.PNG", ""},
      {"HtTpS://example.com/", ""},
      {"http://example.com./b.png", ""},
      {"http://my_host-1.example.com/b.png", ""},
      {"http://xn--bcher-kva.example/b.png", ""},
      // '@' and percent-encoding are fine outside the authority
      {"https://example.com/users/a@b.png", ""},
      {"https://example.com/a%20b.png?u=me@x", ""},
      {"https://example.com/?next=http://127.0.0.1/", ""},
      // literal addresses are judged at connect time, not here
      {"http://127.0.0.1:8080/b.png", ""},
      {"http://10.0.0.1/b.png", ""},
      {"http://2130706433/b.png", ""},
      {"http://[::1]/b.png", ""},
      {"http://[::ffff:127.0.0.1]:80/b.png", ""},
      {"http://[fe80::1]/", ""},
      {"http://localhostx/b.png", ""},
      {"http://localhost.example.com/b.png", ""},
      {"http://mylocalhost/b.png", ""},
  });
}

TEST(UrlRefusal, Length) {
  std::string prefix = "https://example.com/";
  std::string exact = prefix + std::string(max_url_length - prefix.size(), 'a');
  ASSERT_EQ(exact.size(), 2048u);
  EXPECT_EQ(url_refusal(exact), std::nullopt);
  EXPECT_TRUE(parse_url(exact));
  std::string over = exact + "a";
  EXPECT_EQ(url_refusal(over), "URL is 2049 bytes, the limit is 2048");
  EXPECT_FALSE(parse_url(over));
  // Length comes first, before the scheme.
  EXPECT_EQ(url_refusal("ftp://" + std::string(3000, 'a')), "URL is 3006 bytes, the limit is 2048");
}

TEST(UrlRefusal, Schemes) {
  const std::string only = " is not allowed, only http and https";
  const std::string none = "URL has no scheme, only http and https are allowed";
  expect_rows({
      {"ftp://example.com/b.png", "scheme 'ftp'" + only},
      {"FTP://example.com/b.png", "scheme 'ftp'" + only},
      {"file:///etc/passwd", "scheme 'file'" + only},
      {"file://localhost/etc/passwd", "scheme 'file'" + only},
      {"gopher://127.0.0.1:6379/_INFO", "scheme 'gopher'" + only},
      {"dict://127.0.0.1:11211/stat", "scheme 'dict'" + only},
      {"javascript:alert(1)", "scheme 'javascript'" + only},
      {"data:image/png;base64,iVBORw0KGgo=", "scheme 'data'" + only},
      {"https+unix://x/", "scheme 'https+unix'" + only},
      {"httpx://example.com/", "scheme 'httpx'" + only},
      {"ldap://example.com/", "scheme 'ldap'" + only},
      {"", none},
      {"example.com/b.png", none},
      {"//example.com/b.png", none},
      {"/b.png", none},
      {"://example.com/", none},
      {"1http://example.com/", none},
      {"ht tp://example.com/", none},
      {" http://example.com/", none},
  });
}

TEST(UrlRefusal, Userinfo) {
  const std::string creds = "URL carries user credentials";
  const std::string bad_host = "URL is malformed: the host is not a valid host name";
  expect_rows({
      {"http://user@example.com/", creds},
      {"http://user:pw@example.com/", creds},
      {"http://:pw@example.com/", creds},
      {"http://@example.com/", creds},
      {"https://user:p%40ss@example.com/", creds},
      {"http://example.com@127.0.0.1/", creds},
      {"http://user@[::1]/", creds},
      {"http://user;x@example.com/", creds},
      // curl takes an encoded '@', or a second one, as part of the host, and refuses the host
      {"http://evil.com%40127.0.0.1/", bad_host},
      {"http://evil.com%40127.0.0.1:80/b.png", bad_host},
      {"http://a@b@c/", bad_host},
      // backslash tricks: curl and browsers split these differently; refused for the byte
      {"http://evil.com\\@127.0.0.1/", "URL is malformed: it contains a backslash"},
      {"http://evil.com\\@127.0.0.1", "URL is malformed: it contains a backslash"},
  });
}

TEST(UrlRefusal, Malformed) {
  const std::string m = "URL is malformed: ";
  const std::string port = "the port is not a number from 1 to 65535";
  expect_rows({
      {"http:example.com/", m + "'//' must follow the scheme"},
      {"http:/example.com/", m + "'//' must follow the scheme"},
      {"http:\\\\example.com/", m + "it contains a backslash"},
      {"http:////example.com/", m + "the host is empty"},
      {"http://evil.com\\.example.com/", m + "it contains a backslash"},
      {"http://example.com\\b.png", m + "it contains a backslash"},
      {"http://example.com/a\\b.png", m + "it contains a backslash"},
      {"http://exa mple.com/", m + "it contains whitespace"},
      {"http://example.com/a b.png", m + "it contains whitespace"},
      {"http://example.com/\tb.png", m + "it contains whitespace"},
      {"http://example.com/b.png\n", m + "it contains whitespace"},
      {"http://example.com/b.png\r\nHost: evil", m + "it contains whitespace"},
      {"http://example.com/b.png ", m + "it contains whitespace"},
      {std::string("http://example.com/\0b.png", 25), m + "it contains a control character"},
      {"http://example.com/\x01", m + "it contains a control character"},
      {"http://example.com/\x7f", m + "it contains a control character"},
      {"http://ex\xc3\xa4mple.com/", m + "it contains a non-ASCII byte"},
      {"http://example.com/\xff.png", m + "it contains a non-ASCII byte"},
      {"http://", m + "the host is empty"},
      {"http:///b.png", m + "the host is empty"},
      {"http://:80/b.png", m + "the host is empty"},
      {"http://?x", m + "the host is empty"},
      {"http://#x", m + "the host is empty"},
      {"http://.example.com/", m + "the host has an empty label"},
      {"http://example..com/", m + "the host has an empty label"},
      {"http://./", m + "the host has an empty label"},
      {"http://example.com../", m + "the host has an empty label"},
      {"http://%6c%6fcalhost/", m + "the host contains percent-encoding"},
      {"http://exam%41ple.com/", m + "the host contains percent-encoding"},
      {"http://127.0.0.1%2f/", m + "the host is not a valid host name"},
      {"http://exa!mple.com/", m + "the host is not a valid host name"},
      {"http://example.com;x/", m + "the host is not a valid host name"},
      {"http://example.com]/", m + "the host is not a valid host name"},
      {"http://" + std::string(255, 'a') + "/", m + "the host name is longer than 253 characters"},
      // ports
      {"http://example.com:0/", m + "port 0 is outside 1-65535"},
      {"http://example.com:00/", m + "port 0 is outside 1-65535"},
      {"http://example.com:65536/", m + port},
      {"http://example.com:99999999999999999999/", m + port},
      {"http://example.com:abc/", m + port},
      {"http://example.com:-1/", m + port},
      {"http://example.com:+80/", m + port},
      {"http://example.com:80:80/", m + port},
      // IPv6 literals
      {"http://[::1/", m + "the bracketed host is not an IPv6 address"},
      {"http://[::1]x/", m + port},
      {"http://[::1]:0/", m + "port 0 is outside 1-65535"},
      {"http://[fe80::1%25eth0]/", m + "IPv6 zone ids are not allowed"},
      {"http://[fe80::1%eth0]/", m + "IPv6 zone ids are not allowed"},
      {"http://[127.0.0.1]/", m + "the bracketed host is not an IPv6 address"},
      {"http://[v1.fe80::a]/", m + "the bracketed host is not an IPv6 address"},
      {"http://[]/", m + "the bracketed host is not an IPv6 address"},
      {"http://[::1::2]/", m + "the bracketed host is not an IPv6 address"},
      {"http://::1/", m + port},
  });
}

// curl decodes percent-encoding in any host, so "127.0.0.%31" would be fetched as 127.0.0.1:
// whatever the host is (a name, an IPv4 address in any spelling, a bracketed IPv6 address),
// a '%' in it is refused before any connection.
TEST(UrlRefusal, PercentEncodedHostOfAnyKind) {
  const std::string percent = "URL is malformed: the host contains percent-encoding";
  expect_rows({
      {"http://127.0.0.%31/b.png", percent},
      {"http://127.0.0.%31:8080/b.png", percent},
      {"http://%31%32%37.0.0.1/", percent},
      {"http://127%2e0%2e0%2e1/", percent},
      {"http://127.0.0.1%2e/", percent},
      {"http://2130706%343/", percent},
      {"http://0x7f%2e1/", percent},
      {"http://example%2ecom/b.png", percent},
      {"HTTPS://Example.%43OM/b.png", percent},
      {"http://%6c%6fcalhost/", percent},
      {"http://exam%41ple.com/?q=%41", percent},
      {"http://[::%31]/", "URL is malformed: IPv6 zone ids are not allowed"},
      // outside the host, percent-encoding stays fine
      {"http://127.0.0.1/%31.png?x=%31#%31", ""},
  });
}

TEST(UrlRefusal, Localhost) {
  expect_rows({
      {"http://localhost/b.png", "host 'localhost' is not allowed"},
      {"http://LOCALHOST/b.png", "host 'localhost' is not allowed"},
      {"http://LocalHost:8080/b.png", "host 'localhost' is not allowed"},
      {"http://localhost./b.png", "host 'localhost.' is not allowed"},
      {"http://a.localhost/b.png", "host 'a.localhost' is not allowed"},
      {"http://A.B.LOCALHOST./b.png", "host 'a.b.localhost.' is not allowed"},
      {"https://localhost:443", "host 'localhost' is not allowed"},
  });
}

// The fetch is handed the URL as libcurl reads it: the same parser decides what is connected to.
TEST(CheckUrl, HandsOnTheUrlAsCurlNormalisedIt) {
  struct normalised_row {
    std::string url, normalised, host;
    std::uint16_t port;
  };
  for (const auto& r : std::vector<normalised_row>{
           {"https://cdn.example.com/b.png", "https://cdn.example.com/b.png", "cdn.example.com",
            443},
           {"HTTP://Example.COM", "http://Example.COM/", "example.com", 80},
           {"http://example.com/b.png#frag", "http://example.com/b.png", "example.com", 80},
           {"http://example.com/a/../b.png?x=1", "http://example.com/b.png?x=1", "example.com", 80},
           {"http://example.com:/b.png", "http://example.com/b.png", "example.com", 80},
           {"http://example.com:0080/b.png", "http://example.com:80/b.png", "example.com", 80},
           {"http://[::1]:/b.png", "http://[::1]/b.png", "::1", 80},
           // legacy IPv4 spellings: curl reads them as the address, judged at connect time
           {"http://2130706433/b.png", "http://127.0.0.1/b.png", "127.0.0.1", 80},
           {"http://0x7f.1:8080/b.png", "http://127.0.0.1:8080/b.png", "127.0.0.1", 8080},
           {"http://127.1/", "http://127.0.0.1/", "127.0.0.1", 80},
       }) {
    const url_check checked = check_url(r.url);
    ASSERT_TRUE(checked.parts) << r.url << " refused: " << checked.refusal.value_or("");
    EXPECT_FALSE(checked.refusal) << r.url;
    EXPECT_EQ(checked.parts->normalised, r.normalised) << r.url;
    EXPECT_EQ(checked.parts->host, r.host) << r.url;
    EXPECT_EQ(checked.parts->port, r.port) << r.url;
  }
  const url_check refused = check_url("http://localhost/b.png");
  EXPECT_FALSE(refused.parts);
  EXPECT_EQ(refused.refusal, "host 'localhost' is not allowed");
}

// When several things are wrong, the earlier check names the problem.
TEST(UrlRefusal, Order) {
  EXPECT_EQ(url_refusal("ftp://user@exa mple.com/"),
            "scheme 'ftp' is not allowed, only http and https");
  EXPECT_EQ(url_refusal("http://user@exa mple.com/"), "URL is malformed: it contains whitespace");
  EXPECT_EQ(url_refusal("http://localhost:0/"), "URL is malformed: port 0 is outside 1-65535");
  EXPECT_EQ(url_refusal("http://user@localhost/"), "URL carries user credentials");
}

// A redirect's Location passes the caller's URL rules: absolute as written, scheme-relative
// with the scheme it came from, relative once resolved against the URL it came from.
TEST(RedirectRefusal, TargetsAreJudgedLikeCallersUrls) {
  const std::string from = "http://cdn.example.com/dir/a.png?x=1";
  const std::string percent = "URL is malformed: the host contains percent-encoding";
  struct redirect_row {
    std::string location;
    std::optional<std::string> reason;
  };
  for (const auto& r : std::vector<redirect_row>{
           {"https://other.example.com/b.png", std::nullopt},
           {"http://10.0.0.1/b.png", std::nullopt},  // addresses: at connect time
           {"//other.example.com/b.png", std::nullopt},
           {"/b.png", std::nullopt},
           {"b.png", std::nullopt},
           {"../%2e%2e/b%20c.png", std::nullopt},
           {"?y=2", std::nullopt},
           {"b c.png", std::nullopt},  // curl encodes what it follows
           {"http://127.0.0.%31/b.png", percent},
           {"//127.0.0.%31/b.png", percent},
           {"https://example%2ecom/", percent},
           {"http://localhost/b.png", "host 'localhost' is not allowed"},
           {"//a.localhost/b.png", "host 'a.localhost' is not allowed"},
           {"http://user:pw@other.example.com/", "URL carries user credentials"},
           {"//user@other.example.com/", "URL carries user credentials"},
           {"ftp://other.example.com/b.png", "scheme 'ftp' is not allowed, only http and https"},
           {"file:///etc/passwd", "scheme 'file' is not allowed, only http and https"},
           {"http:other.example.com", "URL is malformed: '//' must follow the scheme"},
           {"http://[fe80::1%25eth0]/", "URL is malformed: IPv6 zone ids are not allowed"},
           {"/" + std::string(2100, 'a'), "URL is 2123 bytes, the limit is 2048"},
       }) {
    EXPECT_EQ(redirect_refusal(from, r.location), r.reason) << r.location;
  }
  // A scheme-relative target keeps the scheme of the URL it came from.
  EXPECT_EQ(redirect_refusal("https://cdn.example.com/", "//localhost:443/"),
            "host 'localhost' is not allowed");
}

// A reason never repeats credentials back.
TEST(UrlRefusal, ReasonDoesNotEchoSecrets) {
  auto reason = url_refusal("https://admin:hunter2@example.com/b.png");
  ASSERT_TRUE(reason);
  EXPECT_EQ(reason->find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace image_gateway

namespace image_gateway {
namespace {

// check_url remembers recent verdicts per thread (issue 18): many URLs, each checked twice so
// that they share and steal the remembered slots, each keep the verdict of their own text.
TEST(CheckUrl, RememberedVerdictsBelongToTheirOwnUrl) {
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 300; ++i) {
      const std::string n = std::to_string(i);
      const url_check good = check_url("https://Host" + n + ".example/p" + n + ".png#f");
      ASSERT_TRUE(good.parts) << n;
      EXPECT_EQ(good.parts->host, "host" + n + ".example");
      EXPECT_EQ(good.parts->normalised, "https://Host" + n + ".example/p" + n + ".png");
      EXPECT_FALSE(good.refusal);
      const url_check bad = check_url("ftp://host" + n + ".example/p.png");
      EXPECT_FALSE(bad.parts);
      ASSERT_TRUE(bad.refusal) << n;
      EXPECT_NE(bad.refusal->find("ftp"), std::string::npos) << *bad.refusal;
      EXPECT_TRUE(check_url("http://localhost/" + n).refusal);
    }
  }
  // Longer than what is remembered: judged all the same.
  EXPECT_TRUE(check_url("https://example.com/" + std::string(600, 'a')).parts);
}

}  // namespace
}  // namespace image_gateway
