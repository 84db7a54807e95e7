#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "image_gateway/auth/basic_auth.hpp"
#include "image_gateway/util/strings.hpp"

namespace image_gateway {
namespace {

std::string basic(std::string_view user_colon_password) {
  return "Basic " + base64_encode(user_colon_password);
}

app_config make_app(std::string key, std::string secret) {
  app_config app;
  app.app_key = std::move(key);
  app.master_secret = std::move(secret);
  app.oppo = {"oppo-" + app.app_key, "oppo-secret"};
  return app;
}

TEST(ParseBasic, ValidHeader) {
  const auto c = parse_basic_authorization(basic("app:secret"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "app");
  EXPECT_EQ(c->password, "secret");
}

TEST(ParseBasic, SchemeIsCaseInsensitive) {
  for (const std::string scheme : {"basic", "BASIC", "bAsIc"}) {
    const auto c = parse_basic_authorization(scheme + " " + base64_encode("app:secret"));
    ASSERT_TRUE(c) << scheme;
    EXPECT_EQ(c->user, "app");
    EXPECT_EQ(c->password, "secret");
  }
}

TEST(ParseBasic, ToleratesSurroundingWhitespaceAndSeveralSpaces) {
  const auto c = parse_basic_authorization("  \tBasic   " + base64_encode("a:b") + " \t");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "a");
  EXPECT_EQ(c->password, "b");
}

TEST(ParseBasic, OtherSchemesAreRefused) {
  EXPECT_FALSE(parse_basic_authorization("Bearer " + base64_encode("app:secret")));
  EXPECT_FALSE(parse_basic_authorization("Digest " + base64_encode("app:secret")));
  EXPECT_FALSE(parse_basic_authorization("Basicx " + base64_encode("app:secret")));
  EXPECT_FALSE(parse_basic_authorization("Basic" + base64_encode("app:secret")));
  EXPECT_FALSE(parse_basic_authorization(base64_encode("app:secret")));
}

TEST(ParseBasic, EmptyOrSchemeOnlyIsRefused) {
  EXPECT_FALSE(parse_basic_authorization(""));
  EXPECT_FALSE(parse_basic_authorization("Basic"));
  EXPECT_FALSE(parse_basic_authorization("Basic "));
  EXPECT_FALSE(parse_basic_authorization("Basic    "));
}

TEST(ParseBasic, NotBase64IsRefused) {
  EXPECT_FALSE(parse_basic_authorization("Basic app:secret"));
  EXPECT_FALSE(parse_basic_authorization("Basic YXBwOnNlY3JldA"));  // padding missing
  EXPECT_FALSE(parse_basic_authorization("Basic YXBw OnNlY3JldA=="));
  EXPECT_FALSE(parse_basic_authorization("Basic YXBwOnNlY3JldA==x"));
  // The same token correctly padded is accepted, so the refusals above are about the encoding.
  EXPECT_TRUE(parse_basic_authorization("Basic YXBwOnNlY3JldA=="));
}

TEST(ParseBasic, NoColonIsRefused) { EXPECT_FALSE(parse_basic_authorization(basic("appsecret"))); }

TEST(ParseBasic, EmptyPasswordIsKeptEmpty) {
  const auto c = parse_basic_authorization(basic("app:"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "app");
  EXPECT_EQ(c->password, "");
}

TEST(ParseBasic, SplitsAtFirstColonSoPasswordMayHoldColons) {
  const auto c = parse_basic_authorization(basic("app:se:cr:et:"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "app");
  EXPECT_EQ(c->password, "se:cr:et:");
}

class Registry : public ::testing::Test {
 protected:
  app_registry registry_{
      {make_app("alpha", "alpha-secret"), make_app("beta", "b:s"), make_app("gamma", "")}};
};

TEST_F(Registry, ValidCredentialsFindTheApp) {
  const app_config* app = registry_.authenticate(basic("alpha:alpha-secret"));
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->app_key, "alpha");
  EXPECT_EQ(app->oppo.app_key, "oppo-alpha");
}

TEST_F(Registry, SeveralAppsEachWithTheirOwnSecret) {
  const app_config* beta = registry_.authenticate(basic("beta:b:s"));
  ASSERT_NE(beta, nullptr);
  EXPECT_EQ(beta->app_key, "beta");
  // A secret of one app does not open another.
  EXPECT_EQ(registry_.authenticate(basic("beta:alpha-secret")), nullptr);
  EXPECT_EQ(registry_.authenticate(basic("alpha:b:s")), nullptr);
  EXPECT_EQ(registry_.apps().size(), 3u);
}

TEST_F(Registry, UnknownKeyIsRefused) {
  EXPECT_EQ(registry_.authenticate(basic("delta:alpha-secret")), nullptr);
  // The key is compared exactly, not case-insensitively or by prefix.
  EXPECT_EQ(registry_.authenticate(basic("Alpha:alpha-secret")), nullptr);
  EXPECT_EQ(registry_.authenticate(basic("alph:alpha-secret")), nullptr);
}

TEST_F(Registry, WrongSecretIsRefused) {
  EXPECT_EQ(registry_.authenticate(basic("alpha:alpha-secreT")), nullptr);
  EXPECT_EQ(registry_.authenticate(basic("alpha:alpha-secret ")), nullptr);
  EXPECT_EQ(registry_.authenticate(basic("alpha:alpha")), nullptr);
  EXPECT_EQ(registry_.authenticate(basic("alpha:")), nullptr);
}

TEST_F(Registry, EmptySecretMatchesOnlyEmpty) {
  ASSERT_NE(registry_.authenticate(basic("gamma:")), nullptr);
  EXPECT_EQ(registry_.authenticate(basic("gamma:x")), nullptr);
}

TEST_F(Registry, ParseFailuresAreRefused) {
  EXPECT_EQ(registry_.authenticate(""), nullptr);
  EXPECT_EQ(registry_.authenticate("Bearer " + base64_encode("alpha:alpha-secret")), nullptr);
  EXPECT_EQ(registry_.authenticate("Basic alpha:alpha-secret"), nullptr);
  EXPECT_EQ(registry_.authenticate(basic("alphaalpha-secret")), nullptr);
  EXPECT_NE(registry_.authenticate("basic " + base64_encode("alpha:alpha-secret")), nullptr);
}

TEST(RegistryConstruction, DuplicateAppKeysThrow) {
  std::vector<app_config> apps{make_app("a", "one"), make_app("b", "two"),
                               make_app("a", "secret-three")};
  try {
    app_registry registry(std::move(apps));
    FAIL() << "expected config_error";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("apps[2].app_key"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("secret-three"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace image_gateway
