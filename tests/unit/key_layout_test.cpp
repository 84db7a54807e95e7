#include "image_gateway/replicas/key_layout.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace image_gateway::replicas {
namespace {

const std::string digest(64, 'a');

TEST(KeyLayout, AnUploadKeyHasOneHashTagAndThePrefix) {
  const key_layout keys("igw:");
  const std::string name = keys.upload({digest, image_kind::big, "oppo-app"});
  EXPECT_EQ(name.rfind("igw:upload:{", 0), 0U) << name;
  EXPECT_EQ(name.back(), '}');
  EXPECT_EQ(std::count(name.begin(), name.end(), '{'), 1);
  EXPECT_EQ(name.find("oppo-app"), std::string::npos) << "the app key is hashed: " << name;
  EXPECT_EQ(keys.upload_lock({digest, image_kind::big, "oppo-app"}), name + ":lock");
}

TEST(KeyLayout, KindAppAndFitEachMakeAnotherUpload) {
  const key_layout keys("igw:");
  const upload_key plain{digest, image_kind::big, "oppo-app"};
  const std::string base = keys.upload(plain);
  EXPECT_NE(keys.upload({digest, image_kind::small, "oppo-app"}), base);
  EXPECT_NE(keys.upload({digest, image_kind::big, "other-app"}), base);
  const std::string contain = keys.upload({digest, image_kind::big, "oppo-app", "contain#ffffff"});
  const std::string black = keys.upload({digest, image_kind::big, "oppo-app", "contain#000000"});
  const std::string cover = keys.upload({digest, image_kind::big, "oppo-app", "cover"});
  EXPECT_NE(contain, base);
  EXPECT_NE(contain, black);
  EXPECT_NE(contain, cover);
  EXPECT_NE(cover, base);
  // The fit tag is hashed too: no '#' or other byte of it reaches the key name.
  EXPECT_EQ(contain.find('#'), std::string::npos) << contain;
}

}  // namespace
}  // namespace image_gateway::replicas
