#pragma once

// Writers for the serializer. Each runs twice: once into a Counter to learn the exact size, once
// into an Appender over a string reserved to that size, so a message costs one allocation.
// Private to src/sip.

#include "sip/internal/grammar.h"
#include "sip/internal/uri.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::sip::writer {

class Counter {
 public:
  void put(std::string_view text) { size_ += text.size(); }
  void put(char) { ++size_; }
  std::size_t size() const { return size_; }

 private:
  std::size_t size_ = 0;
};

class Appender {
 public:
  explicit Appender(std::string& out) : out_(out) {}
  void put(std::string_view text) { out_.append(text); }
  void put(char c) { out_.push_back(c); }

 private:
  std::string& out_;
};

template <typename Write>
std::string build(Write write) {
  Counter counter;
  write(counter);
  std::string out;
  out.reserve(counter.size());
  Appender appender(out);
  write(appender);
  return out;
}

template <typename Sink>
void number(Sink& sink, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  sink.put(std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

// %HH for every byte `allowed` refuses (RFC 3261 §19.1.2).
template <typename Sink>
void escaped(Sink& sink, std::string_view text, bool (*allowed)(char)) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    if (allowed(c)) {
      sink.put(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      sink.put('%');
      sink.put(kHex[byte >> 4]);
      sink.put(kHex[byte & 0xf]);
    }
  }
}

template <typename Sink>
void quoted(Sink& sink, std::string_view text) {
  sink.put('"');
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      sink.put('\\');
    }
    sink.put(c);
  }
  sink.put('"');
}

template <typename Sink>
void params(Sink& sink, const std::vector<Param>& list) {
  for (const Param& param : list) {
    sink.put(';');
    sink.put(param.name);
    if (param.value) {
      sink.put('=');
      sink.put(*param.value);
    }
  }
}

template <typename Sink>
void uri(Sink& sink, const Uri& u) {
  sink.put(u.scheme);
  sink.put(':');
  if (!u.is_sip()) {
    sink.put(u.opaque);
    return;
  }
  if (!u.user.empty() || u.has_password) {
    escaped(sink, u.user, grammar::is_user_char);
    if (u.has_password) {
      sink.put(':');
      escaped(sink, u.password, grammar::is_password_char);
    }
    sink.put('@');
  }
  sink.put(u.host);
  if (u.port) {
    sink.put(':');
    number(sink, *u.port);
  }
  params(sink, u.params);
  if (!u.headers.empty()) {
    sink.put('?');
    sink.put(u.headers);
  }
}

// Always the name-addr form, so a URI's own ';' and '?' never read as header parameters.
template <typename Sink>
void name_addr(Sink& sink, const NameAddr& address) {
  if (!address.display_name.empty()) {
    quoted(sink, address.display_name);
    sink.put(' ');
  }
  sink.put('<');
  uri(sink, address.uri);
  sink.put('>');
  params(sink, address.params);
}

}  // namespace presenced::sip::writer
