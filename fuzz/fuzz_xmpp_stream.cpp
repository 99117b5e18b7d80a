// libFuzzer target for the XMPP stream parser (src/xmpp/internal/stream.h): any bytes, cut into
// reads at the first byte's choice, must end in events or a stream error, never a crash, and
// every stanza kept must be within the limits.

#include "xmpp/internal/stream.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

std::size_t element_depth(const presenced::xmpp::Element& element) {
  std::size_t deepest = 0;
  for (const auto& child : element.children) {
    deepest = std::max(deepest, element_depth(child));
  }
  return deepest + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const presenced::xmpp::StreamLimits limits{.stanza_bytes = 512, .hard_bytes = 4096, .depth = 16};
  const std::size_t read_size = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  presenced::xmpp::StreamParser parser(limits);
  std::vector<presenced::xmpp::StreamEvent> events;
  while (!input.empty()) {
    const std::string_view read = input.substr(0, read_size);
    input.remove_prefix(read.size());
    if (!parser.feed(read, events)) {
      break;
    }
  }
  for (const auto& event : events) {
    if (event.kind == presenced::xmpp::StreamEvent::Kind::Stanza &&
        element_depth(event.element) + 1 > limits.depth) {
      std::abort();
    }
  }
  return 0;
}
