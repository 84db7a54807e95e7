#include "image_gateway/util/sha256.hpp"
#include "image_gateway/util/random_hex.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace image_gateway {
namespace {

// Vectors from outside the code under test: printf '' | sha256sum, printf 'abc' | sha256sum,
// python3 -c "import hashlib; print(hashlib.sha256(b'a' * 1000000).hexdigest())".
constexpr std::string_view empty_digest =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view abc_digest =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr std::string_view million_a_digest =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(std::string_view()), empty_digest);
  EXPECT_EQ(sha256_hex(std::string_view("abc")), abc_digest);
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), million_a_digest);
}

TEST(Sha256, DigestIsTheHexTextsBytes) {
  for (const std::string_view text : {std::string_view(), std::string_view("abc")}) {
    const sha256_digest digest = sha256_of(text);
    std::string hex;
    for (const unsigned char byte : digest) {
      static constexpr char digits[] = "0123456789abcdef";
      hex += digits[byte >> 4];
      hex += digits[byte & 0x0f];
    }
    EXPECT_EQ(hex, sha256_hex(text));
  }
  EXPECT_NE(sha256_of("abc"), sha256_of("abd"));
}

// Each thread reuses one digest context: nothing of one input may leak into the next.
TEST(Sha256, RepeatedAndConcurrentCallsAgree) {
  const auto check = [] {
    for (int i = 0; i < 200; ++i) {
      ASSERT_EQ(sha256_hex(std::string_view("abc")), abc_digest);
      ASSERT_EQ(sha256_hex(std::string_view()), empty_digest);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(check);
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), million_a_digest);
}

// The digest of a body hashed as it arrives, in pieces of any size, is the one-shot digest.
TEST(Sha256Stream, PiecesGiveTheOneShotDigestAndTheStreamStartsOver) {
  sha256_stream stream;
  EXPECT_EQ(stream.finish_hex(), empty_digest);
  stream.update("a");
  stream.update("");
  stream.update("bc");
  EXPECT_EQ(stream.finish_hex(), abc_digest);
  const std::string million(1000000, 'a');
  for (std::size_t at = 0; at < million.size(); at += 16384) {
    stream.update(std::string_view(million).substr(at, 16384));
  }
  EXPECT_EQ(stream.finish_hex(), million_a_digest);
}

TEST(ConstantTimeEqual, ComparesContentsAndLengths) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace image_gateway

namespace image_gateway {
namespace {

TEST(RandomHex, GivesTheDigitsAskedForAndNeverTheSameTwice) {
  for (const std::size_t digits : {0U, 1U, 15U, 16U, 17U, 32U, 40U}) {
    const std::string text = random_hex(digits);
    EXPECT_EQ(text.size(), digits);
    EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), std::string::npos) << text;
  }
  EXPECT_NE(random_hex(32), random_hex(32));
  // Every 16-digit block comes from its own draw: the second half is not a copy of the first.
  const std::string id = random_hex(32);
  EXPECT_NE(id.substr(0, 16), id.substr(16));
}

}  // namespace
}  // namespace image_gateway
