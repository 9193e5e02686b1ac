#include "core/text.hpp"

#include <doctest/doctest.h>

using namespace rendezvous::detail;

TEST_CASE("UTF-8 validation follows RFC 3629") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii that is longer than eight bytes"));
  CHECK(valid_utf8("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xE0\x80\xAF"));      // overlong
  CHECK_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate U+D800
  CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(valid_utf8("abcdefgh\xC3"));      // truncated after an ASCII run
  CHECK_FALSE(valid_utf8("\x80"));
}

TEST_CASE("identifiers: 1..256 bytes, no control characters (§1.3)") {
  CHECK(valid_identifier("a"));
  CHECK(valid_identifier(std::string(256, 'x')));
  CHECK_FALSE(valid_identifier(""));
  CHECK_FALSE(valid_identifier(std::string(257, 'x')));
  CHECK_FALSE(valid_identifier(std::string("a\0b", 3)));
  CHECK_FALSE(valid_identifier("a\x7f"));
  CHECK_FALSE(valid_identifier("a\xC2\x85"));  // U+0085 (C1)
  CHECK(valid_identifier("a\xC2\xA0"));        // U+00A0 is fine
  CHECK_FALSE(valid_identifier("\xFF"));
}

TEST_CASE("query parameters are form-decoded, first wins, bad escapes anywhere fail") {
  auto p = query_param("finger=c+d&finger=zz", "finger");
  CHECK(p.present);
  CHECK(p.value == "c d");
  CHECK(query_param("a=1&finger=a%20b", "finger").value == "a b");
  CHECK_FALSE(query_param("other=1", "finger").present);
  auto empty = query_param("finger", "finger");
  CHECK(empty.present);
  CHECK(empty.value.empty());
  CHECK(query_param("finger=ok&x=%zz", "finger").status == DecodeStatus::malformed);
  CHECK(query_param("finger=%4", "finger").status == DecodeStatus::malformed);
  CHECK(query_param("f%69nger=x", "finger").value == "x");
  std::string out;
  CHECK(percent_decode("a+b%2Fc", false, out) == DecodeStatus::ok);
  CHECK(out == "a+b/c");
}

TEST_CASE("iequals is ASCII case-insensitive") {
  CHECK(iequals("https://A.example", "https://a.EXAMPLE"));
  CHECK_FALSE(iequals("a", "ab"));
}
