#include "format.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace presencectl {
namespace {

namespace json = boost::json;

// Terminal columns of UTF-8 text, counted as code points: close enough for ids and names.
std::size_t width(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

void print_padded(const Row& cells, const std::vector<std::size_t>& widths) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    line += cells[i];
    if (i + 1 < cells.size() && i < widths.size()) {
      line.append(widths[i] - width(cells[i]) + 2, ' ');
    }
  }
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  fmt::print("{}\n", line);
}

}  // namespace

const json::value* find_at(const json::value& value, std::initializer_list<std::string_view> keys) {
  const json::value* at = &value;
  for (std::string_view key : keys) {
    const json::object* object = at->if_object();
    if (object == nullptr) {
      return nullptr;
    }
    auto it = object->find(key);
    if (it == object->end()) {
      return nullptr;
    }
    at = &it->value();
  }
  return at;
}

std::string text_at(const json::value& value, std::initializer_list<std::string_view> keys) {
  const json::value* at = find_at(value, keys);
  const json::string* text = at == nullptr ? nullptr : at->if_string();
  return text == nullptr ? std::string() : std::string(*text);
}

std::optional<std::int64_t> integer_at(const json::value& value,
                                       std::initializer_list<std::string_view> keys) {
  const json::value* at = find_at(value, keys);
  if (at == nullptr) {
    return std::nullopt;
  }
  if (const std::int64_t* n = at->if_int64()) {
    return *n;
  }
  if (const std::uint64_t* n = at->if_uint64()) {
    return static_cast<std::int64_t>(*n);
  }
  return std::nullopt;
}

bool boolean_at(const json::value& value, std::initializer_list<std::string_view> keys) {
  const json::value* at = find_at(value, keys);
  const bool* flag = at == nullptr ? nullptr : at->if_bool();
  return flag != nullptr && *flag;
}

std::vector<std::string> texts_at(const json::value& value,
                                  std::initializer_list<std::string_view> keys) {
  std::vector<std::string> out;
  const json::value* at = find_at(value, keys);
  if (const json::array* array = at == nullptr ? nullptr : at->if_array()) {
    for (const json::value& item : *array) {
      if (const json::string* text = item.if_string()) {
        out.emplace_back(*text);
      }
    }
  }
  return out;
}

std::vector<const json::value*> items_at(const json::value& value,
                                         std::initializer_list<std::string_view> keys) {
  std::vector<const json::value*> out;
  const json::value* at = find_at(value, keys);
  if (const json::array* array = at == nullptr ? nullptr : at->if_array()) {
    for (const json::value& item : *array) {
      if (item.is_object()) {
        out.push_back(&item);
      }
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) {
      out += separator;
    }
    out += part;
  }
  return out;
}

std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      c = ' ';
    }
  }
  return out;
}

std::string presence_line(const json::value& presence) {
  const std::string availability = text_at(presence, {"availability"});
  std::vector<std::string> parts;
  parts.push_back(one_line(text_at(presence, {"user"})));
  std::string state = availability + " / " + text_at(presence, {"activity"});
  // An admin-defined state (e.g. "lunch") says more than the Graph values it maps to.
  const std::string state_id = text_at(presence, {"state"});
  if (!state_id.empty() && state_id != availability) {
    state += " (" + one_line(state_id) + ")";
  }
  parts.push_back(std::move(state));
  const std::vector<std::string> flags = texts_at(presence, {"flags"});
  if (!flags.empty()) {
    parts.push_back("[" + join(flags, ", ") + "]");
  }
  const std::string note = text_at(presence, {"note"});
  if (!note.empty()) {
    parts.push_back("\"" + one_line(note) + "\"");
  }
  const std::string until = text_at(presence, {"until"});
  if (!until.empty()) {
    parts.push_back("until " + until);
  }
  if (auto sequence = integer_at(presence, {"sequence"})) {
    parts.push_back(fmt::format("(seq {})", *sequence));
  }
  return join(parts, "  ");
}

void print_table(const Row& header, const std::vector<Row>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  auto widen = [&widths](const Row& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], width(row[i]));
    }
  };
  widen(header);
  for (const Row& row : rows) {
    widen(row);
  }
  print_padded(header, widths);
  for (const Row& row : rows) {
    print_padded(row, widths);
  }
}

void print_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t label_width = 0;
  for (const auto& [label, value] : fields) {
    label_width = std::max(label_width, width(label));
  }
  for (const auto& [label, value] : fields) {
    fmt::print("{}{}  {}\n", label, std::string(label_width - width(label), ' '), value);
  }
}

}  // namespace presencectl
