#include "image_gateway/util/sha256.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace image_gateway {

namespace {

// EVP_Digest(…, EVP_sha256(), …) looks the algorithm up in the provider store (a lock) and
// allocates a context on every call: for a short input such as a password that was most of the
// cost. The algorithm is fetched once; each thread keeps one context and re-initialises it.
const EVP_MD* sha256_algorithm() {
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return algorithm;
}

struct digest_context {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  ~digest_context() { EVP_MD_CTX_free(context); }
};

std::string to_hex(const unsigned char* digest, unsigned int length) {
  static constexpr char hex_digits[] = "0123456789abcdef";
  std::string hex(static_cast<std::size_t>(length) * 2, '0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = hex_digits[digest[i] >> 4];
    hex[2 * i + 1] = hex_digits[digest[i] & 0x0f];
  }
  return hex;
}

}  // namespace

sha256_stream::sha256_stream() : context_(EVP_MD_CTX_new()), ok_(false) {
  auto* context = static_cast<EVP_MD_CTX*>(context_);
  ok_ = context != nullptr && sha256_algorithm() != nullptr &&
        EVP_DigestInit_ex2(context, sha256_algorithm(), nullptr) == 1;
}

sha256_stream::~sha256_stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

void sha256_stream::update(std::string_view data) {
  if (ok_)
    ok_ = EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), data.data(), data.size()) == 1;
}

std::string sha256_stream::finish_hex() {
  auto* context = static_cast<EVP_MD_CTX*>(context_);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  const bool done = ok_ && EVP_DigestFinal_ex(context, digest.data(), &length) == 1;
  ok_ = context != nullptr && sha256_algorithm() != nullptr &&
        EVP_DigestInit_ex2(context, sha256_algorithm(), nullptr) == 1;
  // An OpenSSL failure is never expected; an empty digest then matches no cache entry.
  return done ? to_hex(digest.data(), length) : std::string();
}

// The digest of `data` into `digest` (at least EVP_MAX_MD_SIZE bytes); its length.
unsigned int digest_into(std::span<const unsigned char> data, unsigned char* digest) {
  unsigned int length = 0;
  thread_local digest_context reused;
  const EVP_MD* algorithm = sha256_algorithm();
  const bool done = algorithm != nullptr && reused.context != nullptr &&
                    EVP_DigestInit_ex2(reused.context, algorithm, nullptr) == 1 &&
                    EVP_DigestUpdate(reused.context, data.data(), data.size()) == 1 &&
                    EVP_DigestFinal_ex(reused.context, digest, &length) == 1;
  if (!done) {  // never expected; the one-shot call is the slow but sure way
    EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  }
  return length;
}

std::string sha256_hex(std::span<const unsigned char> data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  const unsigned int length = digest_into(data, digest.data());
  return to_hex(digest.data(), length);
}

sha256_digest sha256_of(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  digest_into(std::span(reinterpret_cast<const unsigned char*>(data.data()), data.size()),
              digest.data());
  sha256_digest out;
  std::copy_n(digest.begin(), out.size(), out.begin());
  return out;
}

std::string sha256_hex(std::string_view data) {
  return sha256_hex(std::span(reinterpret_cast<const unsigned char*>(data.data()), data.size()));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace image_gateway
