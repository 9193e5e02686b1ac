#include "json/scan.hpp"

#include <doctest/doctest.h>

using namespace rendezvous::detail::json;

TEST_CASE("scanner accepts exactly RFC 8259") {
  Scanner s(64);
  for (const char* ok : {"{}", "[]", "0", "-0.5e+10", "\"\\u00e9\"", " {\"a\" : [1, true, null]} ",
                         "{\"a\":{\"b\":[{}]}}", "\"\\ud83d\\ude00\""}) {
    CHECK_MESSAGE(s.valid(ok), ok);
  }
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1",
                          "NaN", "tru", "\"a", "\"\\x\"", "\"\\u12\"", "{} {}", "// c\n{}",
                          "{'a':1}", "\"a\tb\"", "[1 2]", "{\"a\" 1}", "{1:2}"}) {
    CHECK_MESSAGE(!s.valid(bad), bad);
  }
}

TEST_CASE("scanner enforces the depth limit without recursion") {
  Scanner s(64);
  CHECK(s.valid(std::string(64, '[') + std::string(64, ']')));
  CHECK_FALSE(s.valid(std::string(65, '[') + std::string(65, ']')));
  CHECK_FALSE(s.valid(std::string(1000000, '[')));  // no stack overflow
}

TEST_CASE("scanner reports top-level members only, with counts and kinds") {
  Scanner s(64);
  std::string_view keys[] = {"to", "from"};
  Member m[2];
  Kind top;
  REQUIRE(s.scan(R"({"x":{"to":"inner"},"to":"b\"ob","from":5,"to":"c"})", top, keys, m, 2));
  CHECK(top == Kind::object);
  CHECK(m[0].count == 2);
  CHECK(m[0].kind == Kind::string);
  CHECK(m[0].raw == "b\\\"ob");
  CHECK(m[0].escaped);
  CHECK(m[1].count == 1);
  CHECK(m[1].kind == Kind::number);
  REQUIRE(s.scan("[1]", top, keys, m, 2));
  CHECK(top == Kind::array);
  CHECK(m[0].count == 0);
}

TEST_CASE("unescape decodes escapes and surrogate pairs, refuses lone surrogates") {
  std::string out;
  CHECK(unescape(R"(a\"b\\c\/\n\u00e9\ud83d\ude00)", out));
  CHECK(out == "a\"b\\c/\n\xC3\xA9\xF0\x9F\x98\x80");
  CHECK_FALSE(unescape(R"(\ud800)", out));
  CHECK_FALSE(unescape(R"(\udc00x)", out));
}

TEST_CASE("append_quoted escapes quotes, backslashes and control characters") {
  std::string out;
  append_quoted(out, std::string("q\"b\\c\t\n\x01", 8));
  CHECK(out == R"("q\"b\\c\t\n\u0001")");
}

TEST_CASE("surrogates_paired refuses lone surrogate escapes, ignores escaped backslashes") {
  CHECK(surrogates_paired(R"({"a":"\ud83d\ude00","b":"\u00e9"})"));
  CHECK(surrogates_paired(R"({"a":"\\ud800"})"));  // an escaped backslash, then text
  CHECK_FALSE(surrogates_paired(R"({"a":"\ud800"})"));
  CHECK_FALSE(surrogates_paired(R"({"a":"\udc00"})"));
  CHECK_FALSE(surrogates_paired(R"({"a":"\ud800\u0041"})"));
  CHECK_FALSE(surrogates_paired(R"(["\ud800x"])"));
}
