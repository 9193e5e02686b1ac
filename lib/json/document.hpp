#pragma once

// RapidJSON for the dialects that read or rebuild whole messages (cuttlefish, rooms). Every
// text passes the Scanner first, so the depth limit (§1.2) and strict RFC 8259 hold whatever
// RapidJSON's own flags accept; RapidJSON then parses iteratively (no recursion) with full
// number precision, keeping int64/uint64 exactly (§1.2).
//
// RapidJSON stays inside lib/: no public header includes this file.

#include "json/scan.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

namespace rendezvous::detail::json {

using Document = rapidjson::Document;
using Value = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

/// Parses `text` into `doc`. False for invalid JSON, nesting deeper than the scanner allows, or a
/// lone surrogate escape (RapidJSON 1.1 would decode it into bytes that are not UTF-8).
inline bool parse(Scanner& scanner, std::string_view text, Document& doc) {
  if (!scanner.valid(text) || !surrogates_paired(text)) return false;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(text.data(),
                                                                               text.size());
  return !doc.HasParseError();
}

/// Compact serialization of `v` (§1.2: one valid JSON text, no insignificant whitespace).
inline std::string to_string(const Value& v) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

/// The string view of a RapidJSON string value (may contain NUL bytes).
inline std::string_view view(const Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

/// Number of members named `name` in object `v` (RapidJSON keeps duplicates).
inline unsigned count_members(const Value& v, std::string_view name) {
  unsigned n = 0;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it)
    if (view(it->name) == name) ++n;
  return n;
}

}  // namespace rendezvous::detail::json
