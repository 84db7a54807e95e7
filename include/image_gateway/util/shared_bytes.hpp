#pragma once
// Bytes that live in a buffer someone else owns: a fetched image (the whole buffer) or an image
// part of a multipart request body (a slice of it). Copying a shared_bytes copies a pointer and
// a view, never the bytes; the buffer lives as long as any copy.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace image_gateway {

class shared_bytes {
 public:
  shared_bytes() = default;

  // The whole of a shared string (what the fetcher and the fit stage make). Implicit: every
  // place that took a shared_ptr<const std::string> takes this as it is.
  template <class String>
  requires std::is_same_v<std::remove_const_t<String>, std::string> shared_bytes(
      std::shared_ptr<String> whole)  // NOLINT(google-explicit-constructor)
      : view_(whole ? std::string_view(*whole) : std::string_view()), owner_(std::move(whole)) {}

  // A view into a buffer that `owner` keeps alive.
  shared_bytes(std::shared_ptr<const void> owner, std::string_view view)
      : view_(view), owner_(std::move(owner)) {}

  std::string_view view() const { return view_; }
  const char* data() const { return view_.data(); }
  std::size_t size() const { return view_.size(); }
  std::span<const unsigned char> span() const {
    return {reinterpret_cast<const unsigned char*>(view_.data()), view_.size()};
  }
  // False for a default-constructed value (no buffer at all), true for an empty view of one.
  explicit operator bool() const { return owner_ != nullptr; }
  // The very same bytes: the same place and length (not merely equal contents).
  friend bool operator==(const shared_bytes& a, const shared_bytes& b) {
    return a.view_.data() == b.view_.data() && a.view_.size() == b.view_.size();
  }

 private:
  std::string_view view_;
  std::shared_ptr<const void> owner_;
};

}  // namespace image_gateway
