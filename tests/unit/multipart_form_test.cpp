// The multipart/form-data request parser (RFC 2046 §5.1, RFC 7578), the image form on top of it,
// and the query options: pure functions, tested with strings.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "image_gateway/api/image_form.hpp"
#include "image_gateway/api/multipart_form.hpp"
#include "image_gateway/api/request_options.hpp"

namespace image_gateway {
namespace {

constexpr std::string_view boundary = "XyZ-42";

// A part as curl -F sends it.
std::string part(std::string_view name, std::string_view data, std::string_view filename = {},
                 std::string_view type = {}) {
  std::string out = "--" + std::string(boundary) + "\r\n";
  out += "Content-Disposition: form-data; name=\"" + std::string(name) + "\"";
  if (!filename.empty()) out += "; filename=\"" + std::string(filename) + "\"";
  out += "\r\n";
  if (!type.empty()) out += "Content-Type: " + std::string(type) + "\r\n";
  out += "\r\n";
  out += data;
  out += "\r\n";
  return out;
}
std::string closing() { return "--" + std::string(boundary) + "--\r\n"; }

// The detail of a refused body, or "" when it parsed.
std::string refusal(std::string_view body, std::string_view b = boundary,
                    const multipart_limits& limits = {}) {
  auto parsed = parse_multipart_form(body, b, limits);
  if (parsed) return "";
  EXPECT_EQ(parsed.error().kind, error_kind::bad_form);
  return parsed.error().detail;
}

bool within(std::string_view outer, std::string_view inner) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

// ---- boundary from the Content-Type ----

TEST(MultipartBoundary, TokenAndQuotedString) {
  EXPECT_EQ(multipart_boundary_of("multipart/form-data; boundary=abc").value(), "abc");
  EXPECT_EQ(multipart_boundary_of("Multipart/Form-Data;BOUNDARY=abc").value(), "abc");
  EXPECT_EQ(multipart_boundary_of("multipart/form-data; boundary=\"a b:c?\"").value(), "a b:c?");
  EXPECT_EQ(multipart_boundary_of("multipart/form-data; charset=utf-8; boundary=x").value(), "x");
  EXPECT_EQ(multipart_boundary_of("multipart/form-data; boundary=------------------------d74496d6")
                .value(),
            "------------------------d74496d6");
  EXPECT_EQ(multipart_boundary_of("multipart/form-data; boundary=\"q\\\"\"").ok(), false);
}

TEST(MultipartBoundary, RefusedWithAReason) {
  const auto reason = [](std::string_view type) {
    auto b = multipart_boundary_of(type);
    EXPECT_FALSE(b.ok()) << type;
    return b.ok() ? std::string() : b.error().detail;
  };
  EXPECT_NE(reason("multipart/form-data").find("no boundary"), std::string::npos);
  EXPECT_NE(reason("multipart/form-data; charset=utf-8").find("no boundary"), std::string::npos);
  EXPECT_NE(reason("multipart/form-data; boundary=").find("empty value"), std::string::npos);
  EXPECT_NE(reason("multipart/form-data; boundary=\"\"").find("empty"), std::string::npos);
  EXPECT_NE(reason("multipart/form-data; boundary=" + std::string(71, 'a')).find("70"),
            std::string::npos);
  EXPECT_TRUE(multipart_boundary_of("multipart/form-data; boundary=" + std::string(70, 'a')).ok());
  EXPECT_NE(reason("multipart/form-data; boundary=a!b").find("RFC 2046"), std::string::npos);
  EXPECT_NE(reason("multipart/form-data; boundary=\"ab \"").find("space"), std::string::npos);
  EXPECT_NE(reason("multipart/form-data; boundary=a; boundary=b").find("twice"), std::string::npos);
  EXPECT_NE(reason("multipart/form-data; boundary=\"abc").find("not closed"), std::string::npos);
  EXPECT_NE(reason("multipart/form-data boundary=abc").find("not multipart/form-data"),
            std::string::npos);
  EXPECT_NE(reason("application/json").find("not multipart/form-data"), std::string::npos);
}

TEST(MultipartBoundary, MediaTypeRecognised) {
  EXPECT_TRUE(is_multipart_form_data("multipart/form-data; boundary=x"));
  EXPECT_TRUE(is_multipart_form_data("MULTIPART/FORM-DATA"));
  EXPECT_TRUE(is_multipart_form_data("  multipart/form-data ;boundary=x"));
  EXPECT_FALSE(is_multipart_form_data("multipart/mixed; boundary=x"));
  EXPECT_FALSE(is_multipart_form_data("application/x-www-form-urlencoded"));
  EXPECT_FALSE(is_multipart_form_data(""));
  EXPECT_FALSE(is_multipart_form_data("multipart/form-datax"));
}

// ---- the body ----

TEST(MultipartForm, CurlStyleBodyWithTwoParts) {
  const std::string png("\x89PNG\r\n\x1a\n\0\0binary--\r\n-", 19);
  const std::string body =
      part("big_picture", png, "b.png", "image/png") + part("note", "hello") + closing();
  const auto parsed = parse_multipart_form(body, boundary);
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  const auto& parts = parsed.value();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "big_picture");
  ASSERT_TRUE(parts[0].filename.has_value());
  EXPECT_EQ(*parts[0].filename, "b.png");
  EXPECT_EQ(parts[0].content_type, "image/png");
  EXPECT_EQ(parts[0].data, png);
  EXPECT_TRUE(within(body, parts[0].data));  // a view into the body, not a copy
  EXPECT_EQ(parts[1].name, "note");
  EXPECT_FALSE(parts[1].filename.has_value());
  EXPECT_EQ(parts[1].content_type, "");
  EXPECT_EQ(parts[1].data, "hello");
}

TEST(MultipartForm, PreambleAndEpilogueAreIgnored) {
  const std::string body =
      "This is the preamble.\r\n" + part("a", "1") + closing() + "This is the epilogue.\r\n";
  const auto parsed = parse_multipart_form(body, boundary);
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  ASSERT_EQ(parsed.value().size(), 1u);
  EXPECT_EQ(parsed.value()[0].data, "1");
}

TEST(MultipartForm, ClosingDelimiterWithoutCrlfAndWithPadding) {
  std::string body = part("a", "1") + "--" + std::string(boundary) + "--";
  EXPECT_EQ(refusal(body), "");
  body = "--" + std::string(boundary) + " \t\r\n" +
         "Content-Disposition: form-data; name=a\r\n\r\n1\r\n--" + std::string(boundary) +
         "-- \r\n";
  const auto parsed = parse_multipart_form(body, boundary);
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  EXPECT_EQ(parsed.value()[0].name, "a");  // a token name, unquoted
  EXPECT_EQ(parsed.value()[0].data, "1");
}

TEST(MultipartForm, EmptyContentAndNoParts) {
  const std::string body = part("a", "") + closing();  // the views point into it: kept
  const auto parsed = parse_multipart_form(body, boundary);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.value()[0].data, "");
  const auto none = parse_multipart_form(closing(), boundary);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.value().empty());
}

TEST(MultipartForm, ContentMayHoldTheBoundaryNotAfterCrlf) {
  const std::string data = "x--" + std::string(boundary) + "\r\n-" + std::string(boundary);
  const std::string body = part("a", data) + closing();
  const auto parsed = parse_multipart_form(body, boundary);
  ASSERT_TRUE(parsed.ok()) << parsed.error().detail;
  EXPECT_EQ(parsed.value()[0].data, data);
}

TEST(MultipartForm, DispositionParameters) {
  std::string body;  // outlives each result: the parts' views point into it
  const auto one = [&body](std::string_view disposition) {
    body = "--" + std::string(boundary) + "\r\nContent-Disposition: " + std::string(disposition) +
           "\r\n\r\nv\r\n" + closing();
    return parse_multipart_form(body, boundary);
  };
  auto p = one("form-data; name=\"a\\\"b\"; filename=\"c;d.png\"");
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p.value()[0].name, "a\"b");
  EXPECT_EQ(*p.value()[0].filename, "c;d.png");
  p = one("FORM-DATA;NAME=x;FileName=\"\"");  // case-insensitive; an empty file name is a file
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ(p.value()[0].name, "x");
  ASSERT_TRUE(p.value()[0].filename.has_value());
  EXPECT_EQ(*p.value()[0].filename, "");
  p = one("form-data; name=x; filename*=UTF-8''a.png");  // filename* is ignored
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_FALSE(p.value()[0].filename.has_value());

  const auto detail = [&](std::string_view disposition) {
    auto r = one(disposition);
    EXPECT_FALSE(r.ok()) << disposition;
    return r.ok() ? std::string() : r.error().detail;
  };
  EXPECT_NE(detail("attachment; name=x").find("not form-data"), std::string::npos);
  EXPECT_NE(detail("form-data").find("no name"), std::string::npos);
  EXPECT_NE(detail("form-data; name=\"\"").find("no name"), std::string::npos);
  EXPECT_NE(detail("form-data; filename=a.png").find("no name"), std::string::npos);
  EXPECT_NE(detail("form-data; name=a; name=b").find("twice"), std::string::npos);
  EXPECT_NE(detail("form-data; name=\"a").find("not closed"), std::string::npos);
  EXPECT_NE(detail("form-data; name").find("no '='"), std::string::npos);
  EXPECT_NE(detail("form-data; name=a b").find("expected ';'"), std::string::npos);
  EXPECT_NE(detail("form-data; =a").find("no name"), std::string::npos);
}

TEST(MultipartForm, PartHeaders) {
  const auto with_headers = [](std::string_view lines) {
    return "--" + std::string(boundary) + "\r\n" + std::string(lines) + "\r\nv\r\n" + closing();
  };
  // Other fields are ignored; names are case-insensitive; binary/8bit/7bit encodings pass.
  EXPECT_EQ(refusal(with_headers("X-Other: 1\r\ncontent-disposition: form-data; name=a\r\n"
                                 "Content-Transfer-Encoding: binary\r\n")),
            "");
  EXPECT_NE(refusal(with_headers("X-Other: 1\r\n")).find("no Content-Disposition"),
            std::string::npos);
  EXPECT_NE(refusal(with_headers("")).find("no Content-Disposition"), std::string::npos);
  EXPECT_NE(refusal(with_headers("Content-Disposition: form-data; name=a\r\n"
                                 "Content-Disposition: form-data; name=b\r\n"))
                .find("Content-Disposition is given twice"),
            std::string::npos);
  EXPECT_NE(refusal(with_headers("Content-Disposition: form-data; name=a\r\n"
                                 "Content-Type: a/b\r\nContent-Type: c/d\r\n"))
                .find("Content-Type is given twice"),
            std::string::npos);
  EXPECT_NE(refusal(with_headers("Content-Disposition: form-data; name=a\r\n"
                                 "Content-Transfer-Encoding: base64\r\n"))
                .find("base64"),
            std::string::npos);
  EXPECT_NE(refusal(with_headers("Content-Disposition: form-data; name=a\r\n no: fold\r\n"))
                .find("folded"),
            std::string::npos);
  EXPECT_NE(refusal(with_headers("Content-Disposition: form-data; name=a\r\nno colon\r\n"))
                .find("without a colon"),
            std::string::npos);
  EXPECT_NE(refusal(with_headers("Content-Disposition: form-data; name=a\nX: y\r\n"))
                .find("bare CR, LF or NUL"),
            std::string::npos);
  EXPECT_NE(refusal(with_headers("Content-Disposition: form-data; name=a\r\nBad Name: y\r\n"))
                .find("malformed header name"),
            std::string::npos);
}

TEST(MultipartForm, HeaderBlockLimit) {
  multipart_limits limits;
  limits.max_part_header_bytes = 100;
  const std::string padding(200, 'p');
  const std::string body = "--" + std::string(boundary) +
                           "\r\nContent-Disposition: form-data; name=a\r\nX-Pad: " + padding +
                           "\r\n\r\nv\r\n" + closing();
  EXPECT_NE(refusal(body, boundary, limits).find("header block is larger than 100 bytes"),
            std::string::npos);
  limits.max_part_header_bytes = 400;
  EXPECT_EQ(refusal(body, boundary, limits), "");
  // Endless header bytes without an empty line: refused at the limit, whatever follows.
  const std::string endless = "--" + std::string(boundary) +
                              "\r\nContent-Disposition: form-data; name=a\r\n" +
                              std::string(1 << 20, 'h');
  EXPECT_NE(refusal(endless).find("header block is larger than 2048 bytes"), std::string::npos);
  EXPECT_NE(refusal("--" + std::string(boundary) + "\r\nContent-Disposition: form-data; name=a")
                .find("does not end with an empty line"),
            std::string::npos);
}

TEST(MultipartForm, PartCountLimit) {
  multipart_limits limits;
  limits.max_parts = 3;
  std::string body;
  for (int i = 0; i < 3; ++i) body += part("p" + std::to_string(i), "v");
  EXPECT_EQ(refusal(body + closing(), boundary, limits), "");
  EXPECT_NE(refusal(body + part("p3", "v") + closing(), boundary, limits).find("more than 3 parts"),
            std::string::npos);
  std::string many;
  for (int i = 0; i < 17; ++i) many += part("p" + std::to_string(i), "v");
  EXPECT_NE(refusal(many + closing()).find("more than 16 parts"), std::string::npos);
}

TEST(MultipartForm, FramingErrors) {
  const std::string b(boundary);
  // No delimiter at all, or another boundary.
  EXPECT_NE(refusal("just text").find("no delimiter line"), std::string::npos);
  EXPECT_NE(refusal(part("a", "1") + closing(), "other").find("no delimiter line"),
            std::string::npos);
  EXPECT_NE(refusal("").find("no delimiter line"), std::string::npos);
  // A delimiter not at the start needs its CRLF before it.
  EXPECT_NE(refusal("preamble--" + b + "\r\n").find("no delimiter line"), std::string::npos);
  // The body ends inside a part: no closing delimiter.
  EXPECT_NE(refusal(part("a", "1")).find("no closing delimiter"), std::string::npos);
  EXPECT_NE(refusal("--" + b + "\r\nContent-Disposition: form-data; name=a\r\n\r\nunfinished")
                .find("part 1 is not closed"),
            std::string::npos);
  EXPECT_NE(refusal("--" + b).find("ends after a delimiter"), std::string::npos);
  // Bare LF instead of CRLF after the delimiter; text after the boundary on its line.
  EXPECT_NE(refusal("--" + b + "\nContent-Disposition: form-data; name=a\n\nv\n--" + b + "--")
                .find("does not end in CRLF"),
            std::string::npos);
  EXPECT_NE(refusal(part("a", "v") + "--" + b + "X\r\n" + closing()).find("does not end in CRLF"),
            std::string::npos);
  // Text after the closing delimiter on its own line.
  EXPECT_NE(refusal(part("a", "v") + "--" + b + "--garbage").find("after the closing delimiter"),
            std::string::npos);
  // Every detail names the body kind.
  EXPECT_EQ(refusal("x").rfind("multipart/form-data body: ", 0), 0u);
}

// ---- the image form ----

std::shared_ptr<const std::string> shared(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}
const std::string content_type = "multipart/form-data; boundary=" + std::string(boundary);

TEST(ImageForm, ImagePartsAndTextFields) {
  const auto body = shared(part("small_picture", "SMALL", "s.png", "image/png") +
                           part("fit", "contain") + part("big_picture", "BIG") + closing());
  const auto form = parse_image_form(body, content_type);
  ASSERT_TRUE(form.ok()) << form.error().detail;
  ASSERT_TRUE(form.value().big.has_value());
  EXPECT_EQ(*form.value().big, "BIG");  // a text part named big_picture is its bytes too
  EXPECT_EQ(*form.value().small, "SMALL");
  EXPECT_TRUE(within(*body, *form.value().small));
  EXPECT_EQ(form.value().field("fit").value_or(""), "contain");
  EXPECT_FALSE(form.value().field("background").has_value());
  const shared_bytes bytes = form.value().image_bytes(image_kind::small);
  EXPECT_EQ(bytes.view(), "SMALL");
  EXPECT_EQ(bytes.data(), form.value().small->data());  // the body's own bytes
  EXPECT_EQ(body.use_count(), 3);  // the caller, the form and `bytes` share the body
}

TEST(ImageForm, OnePartAndNeither) {
  const auto one = parse_image_form(shared(part("small_picture", "S") + closing()), content_type);
  ASSERT_TRUE(one.ok());
  EXPECT_FALSE(one.value().big.has_value());
  EXPECT_FALSE(one.value().image_bytes(image_kind::big));

  const auto neither =
      parse_image_form(shared(part("big_picture_url", "http://x/b.png") + closing()), content_type);
  ASSERT_FALSE(neither.ok());
  EXPECT_EQ(neither.error().kind, error_kind::missing_parameter);
  EXPECT_NE(neither.error().detail.find("big_picture"), std::string::npos);
}

TEST(ImageForm, DuplicatePartsAndMalformedBodies) {
  const auto twice = parse_image_form(
      shared(part("big_picture", "1") + part("big_picture", "2") + closing()), content_type);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().kind, error_kind::bad_form);
  EXPECT_NE(twice.error().detail.find("\"big_picture\" is given twice"), std::string::npos);

  const auto text_twice = parse_image_form(
      shared(part("big_picture", "1") + part("fit", "a") + part("fit", "b") + closing()),
      content_type);
  ASSERT_FALSE(text_twice.ok());
  EXPECT_NE(text_twice.error().detail.find("\"fit\" is given twice"), std::string::npos);

  const auto no_boundary =
      parse_image_form(shared(part("big_picture", "1") + closing()), "multipart/form-data");
  ASSERT_FALSE(no_boundary.ok());
  EXPECT_EQ(no_boundary.error().kind, error_kind::bad_form);
  EXPECT_NE(no_boundary.error().detail.find("no boundary"), std::string::npos);

  // Malformed beats missing: a broken body is not reported as "no image part".
  const auto broken = parse_image_form(shared("--" + std::string(boundary) + "\r\n"), content_type);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().kind, error_kind::bad_form);
}

// ---- ?dry_run ----

TEST(RequestOptions, DryRun) {
  EXPECT_FALSE(parse_request_options("/v4/image/oppo").value().dry_run);
  EXPECT_FALSE(parse_request_options("/v4/image/oppo?x=1").value().dry_run);
  EXPECT_TRUE(parse_request_options("/v4/image/oppo?dry_run=true").value().dry_run);
  EXPECT_TRUE(parse_request_options("/v4/image/oppo?dry_run=1").value().dry_run);
  EXPECT_TRUE(parse_request_options("/v4/image/oppo?a=b&dry_run=true&c").value().dry_run);
  EXPECT_FALSE(parse_request_options("/v4/image/oppo?dry_runs=maybe").value().dry_run);
  for (const char* target :
       {"/v4/image/oppo?dry_run=maybe", "/v4/image/oppo?dry_run=false", "/v4/image/oppo?dry_run=0",
        "/v4/image/oppo?dry_run=", "/v4/image/oppo?dry_run", "/v4/image/oppo?dry_run=TRUE",
        "/v4/image/oppo?dry_run=true&dry_run=true"}) {
    const auto options = parse_request_options(target);
    ASSERT_FALSE(options.ok()) << target;
    EXPECT_EQ(options.error().kind, error_kind::field_invalid) << target;
    EXPECT_NE(options.error().detail.find("dry_run"), std::string::npos) << target;
  }
  EXPECT_NE(parse_request_options("/?dry_run=maybe").error().detail.find("\"maybe\""),
            std::string::npos);
}

// Names and values are matched as decoded, so a filter in front that decodes them sees what the
// gateway acts on: "dry%5Frun" is dry_run (RFC 3986: '_' and %5F are the same).
TEST(RequestOptions, NamesAndValuesArePercentDecoded) {
  for (const char* target : {"/v4/image/oppo?dry%5Frun=true", "/v4/image/oppo?dry%5frun=1",
                             "/?%64%72%79%5F%72%75%6E=%74rue", "/?dry_run=%74%72%75%65",
                             "/?dry_run=%31", "/?a=%41&dry%5Frun=true&b"}) {
    const auto options = parse_request_options(target);
    ASSERT_TRUE(options.ok()) << target << ": " << options.error().detail;
    EXPECT_TRUE(options.value().dry_run) << target;
  }
  // Given twice however it was spelled.
  const auto twice = parse_request_options("/?dry_run=true&dry%5Frun=true");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().detail, "dry_run is given twice");
  // A value is judged as decoded, and shown so.
  const auto decoded_value = parse_request_options("/?dry%5Frun=%66alse");
  ASSERT_FALSE(decoded_value.ok());
  EXPECT_EQ(decoded_value.error().detail, "dry_run must be true or 1, not \"false\"");
}

// '+' is a space, as form decoding reads it: never part of a name or value that matches.
TEST(RequestOptions, PlusIsASpace) {
  EXPECT_FALSE(parse_request_options("/?dry+run=true").value().dry_run);
  const auto spaced = parse_request_options("/?dry_run=true+");
  ASSERT_FALSE(spaced.ok());
  EXPECT_EQ(spaced.error().detail, "dry_run must be true or 1, not \"true \"");
}

// A '%' not followed by two hex digits anywhere in the query: what it means is unknown, so the
// request is refused (21003), without echoing the query.
TEST(RequestOptions, MalformedEscapesAreRefused) {
  for (const char* target : {"/?dry_run=true%", "/?dry_run=tru%e", "/?dry%5=true", "/?dry%zzrun=1",
                             "/?x=100%&dry_run=true", "/?x=%g0", "/?%=1", "/?secret%2=hunter2"}) {
    const auto options = parse_request_options(target);
    ASSERT_FALSE(options.ok()) << target;
    EXPECT_EQ(options.error().kind, error_kind::field_invalid) << target;
    EXPECT_EQ(options.error().detail.rfind("the query string is malformed: a '%' must be", 0), 0U)
        << options.error().detail;
    EXPECT_EQ(options.error().detail.find("hunter2"), std::string::npos);
  }
  // The fragment is not part of the query.
  EXPECT_TRUE(parse_request_options("/?dry_run=1#%zz").value().dry_run);
}

}  // namespace
}  // namespace image_gateway
