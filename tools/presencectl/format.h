#pragma once

// Human output: reading fields from the server's JSON defensively, and the presence line,
// tables and field lists that commands print (docs/cli.md shows each).
//
// Thread-safety: stateless functions.

#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace presencectl {

// The member at a path of object keys; nullptr when any step is missing.
const boost::json::value* find_at(const boost::json::value& value,
                                  std::initializer_list<std::string_view> keys);
// The string at a path; "" when missing or not a string.
std::string text_at(const boost::json::value& value, std::initializer_list<std::string_view> keys);
std::optional<std::int64_t> integer_at(const boost::json::value& value,
                                       std::initializer_list<std::string_view> keys);
bool boolean_at(const boost::json::value& value, std::initializer_list<std::string_view> keys);
// The strings of an array at a path; other items are skipped.
std::vector<std::string> texts_at(const boost::json::value& value,
                                  std::initializer_list<std::string_view> keys);
// The objects of an array at a path.
std::vector<const boost::json::value*> items_at(const boost::json::value& value,
                                                std::initializer_list<std::string_view> keys);

std::string join(const std::vector<std::string>& parts, std::string_view separator);
// Control characters become spaces: one record, one line.
std::string one_line(std::string_view text);

// alice  Busy / InACall  [call]  "back at 3"  until 2026-11-23T15:00:00.000Z  (seq 42)
std::string presence_line(const boost::json::value& presence);

using Row = std::vector<std::string>;
// Columns padded to the widest cell; the last column is not padded.
void print_table(const Row& header, const std::vector<Row>& rows);
// "label  value" lines with the labels aligned.
void print_fields(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace presencectl
