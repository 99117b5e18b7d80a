#include "sip/internal/stateless.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace presenced::sip {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || u >= 0x20;  // UTF-8 is allowed; controls (NUL, CR, LF, ...) are not
  });
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// The canonical name of the headers we copy; empty for the others. Compact forms: §7.3.3.
std::string_view copied_name(std::string_view raw) {
  const std::string name = lower(raw);
  if (name == "via" || name == "v") return "Via";
  if (name == "from" || name == "f") return "From";
  if (name == "to" || name == "t") return "To";
  if (name == "call-id" || name == "i") return "Call-ID";
  if (name == "cseq") return "CSeq";
  return {};
}

struct Copied {
  std::vector<std::string> vias;
  std::optional<std::string> from, to, call_id, cseq;
};

// Splits the header block into unfolded lines; false when a line cannot be used.
bool read_headers(std::string_view head, const Limits& limits, Copied& out) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t end = head.find('\n', pos);
    if (end == std::string_view::npos) {
      end = head.size();
    }
    std::string_view line = head.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    pos = end + 1;
    if (line.empty()) {
      break;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !lines.empty()) {
      lines.back() += ' ';
      lines.back() += trim(line);  // a fold reads as one space (§7.3.1)
    } else {
      lines.emplace_back(line);
    }
    if (lines.size() > limits.header_count || lines.back().size() > limits.header_bytes) {
      return false;
    }
  }
  for (const std::string& line : lines) {
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    const std::string_view name = copied_name(trim(std::string_view(line).substr(0, colon)));
    if (name.empty()) {
      continue;
    }
    const std::string_view value = trim(std::string_view(line).substr(colon + 1));
    if (value.empty() || !printable(value)) {
      return false;
    }
    if (name == "Via") {
      if (out.vias.size() >= limits.list_items) {
        return false;
      }
      out.vias.emplace_back(value);
      continue;
    }
    std::optional<std::string>& slot = name == "From"      ? out.from
                                       : name == "To"      ? out.to
                                       : name == "Call-ID" ? out.call_id
                                                           : out.cseq;
    if (slot) {
      return false;  // which one would the client match?
    }
    slot = std::string(value);
  }
  return !out.vias.empty() && out.from && out.to && out.call_id && out.cseq;
}

}  // namespace

std::optional<std::string> stateless_answer(std::string_view bytes, const ParseError& error,
                                            const Limits& limits, std::string_view to_tag) {
  bytes = bytes.substr(0, limits.message_bytes);
  const std::size_t first_end = bytes.find('\n');
  if (first_end == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view start = bytes.substr(0, first_end);
  if (start.ends_with('\r')) {
    start.remove_suffix(1);
  }
  // A response is dropped (§18.1.2); an ACK is never answered (§17.1.1.3).
  if (start.starts_with("SIP/") || start.starts_with("ACK ") || !printable(trim(start))) {
    return std::nullopt;
  }
  std::string_view head = bytes.substr(first_end + 1);
  if (const std::size_t blank = head.find("\r\n\r\n"); blank != std::string_view::npos) {
    head = head.substr(0, blank + 2);
  }
  Copied copied;
  if (!read_headers(head, limits, copied)) {
    return std::nullopt;
  }
  std::string out = "SIP/2.0 " + std::to_string(error.status()) + " " + error.reason + "\r\n";
  for (const std::string& via : copied.vias) {
    out += "Via: " + via + "\r\n";
  }
  out += "From: " + *copied.from + "\r\n";
  out += "To: " + *copied.to;
  if (lower(*copied.to).find(";tag=") == std::string::npos && !to_tag.empty()) {
    out += ";tag=";
    out += to_tag;
  }
  out += "\r\nCall-ID: " + *copied.call_id + "\r\nCSeq: " + *copied.cseq +
         "\r\nContent-Length: 0\r\n\r\n";
  return out;
}

}  // namespace presenced::sip
