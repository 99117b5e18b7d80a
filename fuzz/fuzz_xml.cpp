// libFuzzer target for the shared XML reader (src/xml/xml.h): any bytes, read as one document
// and as a stream cut into reads at the first byte's choice, must end in events or a failure
// with a detail, never a crash; nesting never passes the limit, events stay balanced, and both
// readings agree on whether the bytes are acceptable.

#include "xml/xml.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

namespace xml = presenced::xml;

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

constexpr std::size_t kDepth = 16;

class Counter final : public xml::Handler {
 public:
  void start_element(xml::Name name, xml::Attributes attributes) override {
    require(!name.local.empty());
    for (const auto& attribute : attributes) {
      require(!attribute.name.empty());
    }
    ++open;
    require(open <= kDepth);
    ++starts;
  }
  void end_element(xml::Name) override {
    require(open > 0);
    --open;
  }
  void text(std::string_view) override {}

  std::size_t open = 0;
  std::size_t starts = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::size_t cut = 1 + data[0] % 32;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  Counter whole;
  xml::Parser document(whole, {.max_depth = kDepth});
  const bool document_ok = document.feed(bytes, true);
  require(document_ok || !document.failure().detail.empty());
  require(!document_ok || whole.open == 0);

  Counter pieces;
  xml::Parser stream(pieces, {.max_depth = kDepth});
  bool stream_ok = true;
  for (std::size_t at = 0; at < bytes.size() && stream_ok; at += cut) {
    stream_ok = stream.feed(bytes.substr(at, cut), false);
  }
  stream_ok = stream_ok && stream.feed({}, true);
  require(stream_ok == document_ok);
  require(!stream_ok || pieces.starts == whole.starts);
  return 0;
}
