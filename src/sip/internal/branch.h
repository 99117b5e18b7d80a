#pragma once

// Random identifiers a SIP element makes up: Via branch ids (RFC 3261 §8.1.1.7), From/To tags
// (§19.3) and Call-IDs (§8.1.1.4). Drawn from libsodium's randombytes (the kernel's CSPRNG), so
// they are unique across restarts and nodes and cannot be guessed by a peer.
// Thread-safety: the functions may be called from any thread.

#include <cstddef>
#include <string>
#include <string_view>

namespace presenced::sip {

// Fills `out` with bytes of the kernel's CSPRNG, taken from a per-thread pool refilled 4 KiB at
// a time: every NOTIFY needs a branch and every request a nonce's randomness, and one system
// call for each was a measurable share of a login storm's CPU.
void fill_random(unsigned char* out, std::size_t size);

// The RFC 3261 magic cookie that starts every branch id of an RFC 3261 element (§8.1.1.7).
inline constexpr std::string_view kBranchCookie = "z9hG4bK";

// `z9hG4bK` followed by 24 hex digits (96 random bits).
std::string make_branch();

// 16 hex digits (64 random bits): §19.3 asks for at least 32.
std::string make_tag();

// 32 hex digits (128 random bits), then `@host` when host is not empty.
std::string make_call_id(std::string_view host);

}  // namespace presenced::sip
