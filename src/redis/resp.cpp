#include "image_gateway/redis/resp.hpp"

#include <charconv>

namespace image_gateway::redis {

void append_command(std::string& out, std::span<const std::string> args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const std::string& arg : args) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out += arg;
    out += "\r\n";
  }
}

std::string encode_command(std::span<const std::string> args) {
  std::string out;
  append_command(out, args);
  return out;
}

void reply_parser::feed(std::string_view bytes) {
  if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

reply_parser::status reply_parser::fail(std::string why) {
  error_ = std::move(why);
  return status::bad;
}

// One CRLF-terminated line from `at`, without the CRLF.
reply_parser::status reply_parser::line(std::size_t& at, std::string_view& text) {
  const std::size_t end = buffer_.find("\r\n", at);
  if (end == std::string::npos) {
    // A line is a type byte and a number or a short status: a long one is not RESP.
    if (buffer_.size() - at > 64 * 1024) return fail("a reply line is longer than 64 KiB");
    return status::need_more;
  }
  text = std::string_view(buffer_).substr(at, end - at);
  at = end + 2;
  return status::ready;
}

namespace {
bool to_integer(std::string_view text, long long& value) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}
}  // namespace

reply_parser::status reply_parser::parse(std::size_t& at, reply& out, int depth) {
  if (depth > limits_.max_depth) return fail("a reply nests deeper than allowed");
  if (at >= buffer_.size()) return status::need_more;
  const char type = buffer_[at];
  std::size_t cursor = at + 1;
  std::string_view head;
  if (const status s = line(cursor, head); s != status::ready) return s;
  out = reply{};
  switch (type) {
    case '+':
      out.kind = reply::type::simple;
      out.text = std::string(head);
      break;
    case '-':
      out.kind = reply::type::error;
      out.text = std::string(head);
      break;
    case ':':
      out.kind = reply::type::integer;
      if (!to_integer(head, out.integer)) return fail("an integer reply is not a number");
      break;
    case '$': {
      long long length = 0;
      if (!to_integer(head, length) || length < -1) return fail("a bulk length is not valid");
      if (length == -1) {
        out.kind = reply::type::nil;
        break;
      }
      if (static_cast<unsigned long long>(length) > limits_.max_bulk_bytes) {
        return fail("a bulk reply is larger than allowed");
      }
      const auto size = static_cast<std::size_t>(length);
      if (buffer_.size() - cursor < size + 2) return status::need_more;
      if (buffer_.compare(cursor + size, 2, "\r\n") != 0) {
        return fail("a bulk reply does not end with CRLF");
      }
      out.kind = reply::type::bulk;
      out.text = buffer_.substr(cursor, size);
      cursor += size + 2;
      break;
    }
    case '*': {
      long long count = 0;
      if (!to_integer(head, count) || count < -1) return fail("an array length is not valid");
      if (count == -1) {
        out.kind = reply::type::nil;
        break;
      }
      if (static_cast<unsigned long long>(count) > limits_.max_elements) {
        return fail("an array reply is longer than allowed");
      }
      out.kind = reply::type::array;
      out.elements.resize(static_cast<std::size_t>(count));
      for (reply& element : out.elements) {
        if (const status s = parse(cursor, element, depth + 1); s != status::ready) return s;
      }
      break;
    }
    default:
      return fail("a reply starts with an unknown type byte");
  }
  at = cursor;
  return status::ready;
}

reply_parser::status reply_parser::next(reply& out) {
  if (!error_.empty()) return status::bad;
  std::size_t at = offset_;
  const status s = parse(at, out, 0);
  if (s == status::ready) offset_ = at;
  return s;
}

}  // namespace image_gateway::redis
