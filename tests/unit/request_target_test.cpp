#include "image_gateway/server/request_target.hpp"

#include <gtest/gtest.h>

namespace image_gateway {
namespace {

TEST(RequestTarget, OriginFormIsKeptAsSent) {
  const auto origin = origin_form("/v4/image/oppo?dry_run=true");
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->target, "/v4/image/oppo?dry_run=true");
  EXPECT_EQ(origin->path, "/v4/image/oppo");
  // A path may hold '@' (RFC 3986 pchar).
  ASSERT_TRUE(origin_form("/a@b"));
  EXPECT_EQ(origin_form("/a@b")->path, "/a@b");
}

TEST(RequestTarget, AbsoluteFormIsReducedToItsPathAndQuery) {
  const auto origin = origin_form("http://127.0.0.1:8080/healthz?x=1");
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->target, "/healthz?x=1");
  EXPECT_EQ(origin->path, "/healthz");
  EXPECT_EQ(origin_form("HTTPS://gateway/v4/image/oppo")->path, "/v4/image/oppo");
  EXPECT_EQ(origin_form("http://gateway")->target, "/");
  EXPECT_EQ(origin_form("http://gateway?q")->target, "/?q");
  // A '@' after the authority is the path's, not userinfo.
  EXPECT_EQ(origin_form("http://gateway/a@b")->path, "/a@b");
}

TEST(RequestTarget, UserinfoIsRefused) {
  for (const char* target : {"http://key:SECRET@host/v4/image/oppo", "https://user@host",
                             "http://a:b@host?x", "key:SECRET@host/x"}) {
    EXPECT_FALSE(origin_form(target)) << target;
  }
  EXPECT_EQ(std::string(userinfo_in_target_detail).find("SECRET"), std::string::npos);
}

TEST(RequestTarget, OtherFormsMatchNoRoute) {
  EXPECT_EQ(origin_form("*")->path, "*");
  EXPECT_EQ(origin_form("gateway:443")->path, "gateway:443");
}

}  // namespace
}  // namespace image_gateway
