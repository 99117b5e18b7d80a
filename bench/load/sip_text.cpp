#include "sip_text.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <charconv>

namespace presenced::load {

std::string md5_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_md5(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += fmt::format("{:02x}", digest[i]);
  }
  return out;
}

std::string_view header(std::string_view message, std::string_view name, std::size_t from) {
  std::size_t at = from;
  while ((at = message.find("\r\n", at)) != std::string_view::npos) {
    at += 2;
    if (message.size() - at > name.size() && message[at + name.size()] == ':' &&
        message.substr(at, name.size()) == name) {
      std::size_t start = at + name.size() + 1;
      while (start < message.size() && message[start] == ' ') ++start;
      return message.substr(start, message.find("\r\n", start) - start);
    }
    if (message.substr(at, 2) == "\r\n") break;  // end of headers
  }
  return {};
}

// Every line of header `name`, in order.
std::vector<std::string_view> headers(std::string_view message, std::string_view name) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while ((at = message.find("\r\n", at)) != std::string_view::npos) {
    at += 2;
    if (message.substr(at, 2) == "\r\n") break;
    if (message.size() - at > name.size() && message[at + name.size()] == ':' &&
        message.substr(at, name.size()) == name) {
      const std::size_t end = message.find("\r\n", at);
      out.push_back(message.substr(at, end - at));
    }
  }
  return out;
}

// param="value" or param=value inside a challenge.
std::string_view param(std::string_view text, std::string_view name) {
  std::size_t at = 0;
  while ((at = text.find(name, at)) != std::string_view::npos) {
    const bool starts = at == 0 || text[at - 1] == ' ' || text[at - 1] == ',';
    if (starts && text.substr(at + name.size(), 1) == "=") {
      std::size_t start = at + name.size() + 1;
      if (text.substr(start, 1) == "\"") {
        ++start;
        return text.substr(start, text.find('"', start) - start);
      }
      const std::size_t end = text.find_first_of(", ", start);
      return text.substr(start, end == std::string_view::npos ? end : end - start);
    }
    at += name.size();
  }
  return {};
}

std::optional<std::uint64_t> number_after(std::string_view text, std::string_view marker) {
  const std::size_t at = text.find(marker);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const char* begin = text.data() + at + marker.size();
  const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (ec != std::errc() || end == begin) {
    return std::nullopt;
  }
  return value;
}

std::string ok_response(std::string_view request) {
  std::string ok = "SIP/2.0 200 OK\r\n";
  for (const std::string_view via : headers(request, "Via")) {
    ok.append(via).append("\r\n");
  }
  for (const std::string_view name : {"From", "To", "Call-ID", "CSeq"}) {
    ok.append(name).append(": ").append(header(request, name)).append("\r\n");
  }
  ok.append("Content-Length: 0\r\n\r\n");
  return ok;
}

}  // namespace presenced::load
