#include "sip/internal/branch.h"

#include <sodium.h>

#include <array>
#include <cassert>
#include <cstddef>

namespace presenced::sip {

namespace {

// sodium_init() is idempotent and thread-safe; randombytes needs it only for its one-time
// setup, so the first caller runs it.
void ensure_sodium() {
  [[maybe_unused]] static const bool ready = sodium_init() >= 0;
  assert(ready);
}

template <std::size_t Bytes>
void append_random_hex(std::string& out) {
  ensure_sodium();
  std::array<unsigned char, Bytes> raw{};
  randombytes_buf(raw.data(), raw.size());
  std::array<char, Bytes * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  out.append(hex.data(), Bytes * 2);
}

}  // namespace

std::string make_branch() {
  std::string out(kBranchCookie);
  append_random_hex<12>(out);
  return out;
}

std::string make_tag() {
  std::string out;
  append_random_hex<8>(out);
  return out;
}

std::string make_call_id(std::string_view host) {
  std::string out;
  append_random_hex<16>(out);
  if (!host.empty()) {
    out += '@';
    out += host;
  }
  return out;
}

}  // namespace presenced::sip
