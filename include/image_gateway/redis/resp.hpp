#pragma once
// RESP2, the Redis wire protocol: commands out, replies in. Pure (no I/O).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace image_gateway::redis {

// One reply. RESP2 has five types; a null bulk string and a null array are both `nil`.
struct reply {
  enum class type { simple, error, integer, bulk, nil, array };
  type kind = type::nil;
  std::string text;       // simple, error, bulk
  long long integer = 0;  // integer
  std::vector<reply> elements;

  bool is_error() const { return kind == type::error; }
  bool is_nil() const { return kind == type::nil; }
};

// Appends one command as a RESP array of bulk strings (binary safe).
void append_command(std::string& out, std::span<const std::string> args);
std::string encode_command(std::span<const std::string> args);

// Splits a byte stream into replies. Bounded: a reply that is larger, longer or deeper than the
// limits, or is not RESP at all, makes the parser fail for good (the connection must go).
class reply_parser {
 public:
  struct limits {
    std::size_t max_bulk_bytes = 1024 * 1024;
    std::size_t max_elements = 4096;
    int max_depth = 4;
  };
  enum class status { ready, need_more, bad };

  reply_parser() = default;
  explicit reply_parser(limits bounds) : limits_(bounds) {}

  void feed(std::string_view bytes);
  // The next complete reply into `out` (ready), or need_more, or bad (see error()).
  status next(reply& out);
  const std::string& error() const { return error_; }
  std::size_t buffered() const { return buffer_.size() - offset_; }

 private:
  status parse(std::size_t& at, reply& out, int depth);
  status line(std::size_t& at, std::string_view& text);
  status fail(std::string why);

  limits limits_;
  std::string buffer_;
  std::size_t offset_ = 0;
  std::string error_;
};

}  // namespace image_gateway::redis
