// Feeds untrusted bytes to the Teams connector's readers of what arrives from outside: the body
// of a change notification POSTed to presenced (anyone can send one) and Graph's answers. Beyond
// "no crash, no sanitizer report": an accepted notification names plain ids only (they go into
// Graph paths and $filter), and never more items than the limit.

#include "connectors/teams/internal/graph_json.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

namespace teams = presenced::connectors::teams;

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t kLimit = 8;
  if (auto items = teams::read_notifications(body, kLimit)) {
    require(!items->empty() && items->size() <= kLimit);
    for (const teams::NotificationItem& item : *items) {
      require(!item.user_id.empty() && item.user_id.size() <= 128);
      require(item.user_id.find_first_of("/'\"() ?&") == std::string_view::npos);
    }
  }
  if (auto presences = teams::read_presences(body)) {
    for (const teams::GraphPresenceRead& p : *presences) {
      require(!p.id.empty() && p.id.find('\'') == std::string_view::npos);
    }
  }
  (void)teams::read_token(body);
  (void)teams::read_user_id(body);
  (void)teams::read_subscription(body);
  return 0;
}
