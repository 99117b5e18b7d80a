// Feeds untrusted bytes to the PIDF reader (the body of a PUBLISH). Beyond "no crash, no
// sanitizer report", it checks: a refusal answers 400 or 413 with a detail for logs; a document
// read is written so that it reads back the same and is written the same again; and a presence
// made from the fields read writes a document that reads.

#include "core/mappings.h"
#include "sip/internal/pidf.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

namespace sip = presenced::sip;

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

sip::PidfLimits loose_limits() {
  sip::PidfLimits limits;
  limits.body_bytes = 1u << 20;
  return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const sip::PidfLimits kLoose = loose_limits();
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto read = sip::read_pidf(body, kLoose);
  if (!read) {
    const int status = read.error().status();
    require(status == 400 || status == 413);
    require(!read.error().detail.empty());
    return 0;
  }
  const std::string written = sip::write_pidf(*read);
  const auto again = sip::read_pidf(written, kLoose);
  require(again.has_value());
  require(*again == *read);
  require(sip::write_pidf(*again) == written);

  // The notes as a watcher would get them back: escaped, never refused.
  presenced::core::Presence presence;
  const auto pair = presenced::core::from_pidf(read->status());
  presence.availability = pair.availability;
  presence.activity = pair.activity;
  presence.note = read->status().note;
  const auto published =
      sip::read_pidf(sip::write_pidf(sip::Presentity{read->entity, "example.com"}, presence,
                                     read->timestamp.value_or(presenced::core::TimePoint{})),
                     kLoose);
  require(published.has_value());
  require(published->notes.empty() == presence.note.empty());
  return 0;
}
