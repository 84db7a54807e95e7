#pragma once
// Parses one HTTP/1.1 request straight into the api_request the handlers see: the method, the
// lower-cased header fields and the body are written into its strings as Beast's parser finds
// them. (A Beast message in between cost an allocation per field, a tree insertion per field,
// and a second copy of every name and value.) On a kept-alive connection the api_request's
// strings are reused, so a typical request allocates nothing here.
#include <cstdint>
#include <string>
#include <string_view>

#include "beast.hpp"
#include "image_gateway/api/http_types.hpp"
#include "image_gateway/util/strings.hpp"

namespace image_gateway {

class request_reader final : public http::basic_parser<true> {
 public:
  // Fills `into` (its header fields and body are replaced) and `target` (the request-target as
  // sent); both must outlive the reader.
  request_reader(api_request& into, std::string& target) : into_(into), target_(target) {}

  http::verb method() const { return method_; }
  unsigned version() const { return version_; }
  std::string_view target() const { return target_; }

 private:
  void on_request_impl(http::verb method, beast::string_view method_text, beast::string_view target,
                       int version, beast::error_code& ec) override {
    method_ = method;
    version_ = static_cast<unsigned>(version);
    into_.method.assign(method_text.data(), method_text.size());
    target_.assign(target.data(), target.size());
    into_.body.clear();  // a request without a body never reaches on_body_init_impl
    ec = {};
  }

  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override { ec = {}; }

  void on_field_impl(http::field, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override {
    auto& headers = into_.headers;
    if (fields_ == headers.size()) {
      if (headers.capacity() == 0) headers.reserve(8);
      headers.emplace_back();
    }
    auto& [lower_name, field_value] = headers[fields_++];
    lower_name.assign(name.data(), name.size());
    for (char& c : lower_name) c = ascii_lower(c);
    field_value.assign(value.data(), value.size());
    ec = {};
  }

  void on_header_impl(beast::error_code& ec) override {
    into_.headers.resize(fields_);  // fields of an earlier request beyond these go
    ec = {};
  }

  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         beast::error_code& ec) override {
    // The declared length was checked against the body limit and the memory budget already.
    if (content_length) into_.body.reserve(static_cast<std::size_t>(*content_length));
    ec = {};
  }

  std::size_t on_body_impl(beast::string_view body, beast::error_code& ec) override {
    into_.body.append(body.data(), body.size());
    ec = {};
    return body.size();
  }

  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code& ec) override {
    ec = {};
  }

  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                                 beast::error_code& ec) override {
    return on_body_impl(body, ec);
  }

  void on_finish_impl(beast::error_code& ec) override { ec = {}; }

  api_request& into_;
  std::string& target_;
  std::size_t fields_ = 0;
  http::verb method_ = http::verb::unknown;
  unsigned version_ = 11;
};

}  // namespace image_gateway
