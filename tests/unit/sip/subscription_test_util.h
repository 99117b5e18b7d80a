#pragma once

// Helpers for the tests of Subscriptions (presence, dialog, winfo, stored subscriptions).

#include "sip/internal/subscriptions.h"
#include "sip_test_util.h"

#include <string_view>
#include <utility>
#include <vector>

namespace presenced::sip::test {

// The answer to a SUBSCRIBE from Subscriptions without a store, which answers at once.
inline Message answer_at_once(Subscriptions& subscriptions, const Message& request,
                              const Peer& source, std::string_view subscriber, TimePoint now) {
  Message answered;
  subscriptions.subscribe(request, source, subscriber, now,
                          [&answered](Message m) { answered = std::move(m); });
  return answered;
}

// The NOTIFYs the changes so far caused, read back with the parser, each answered 200 so that
// the next one of its subscription may go.
inline std::vector<Message> answered_notifies(Subscriptions& subscriptions, TimePoint now) {
  std::vector<Message> out;
  for (int round = 0; round < 8; ++round) {
    subscriptions.drain(now);
    auto batch = subscriptions.take_outbox();
    if (batch.empty()) {
      break;
    }
    for (OutgoingNotify& n : batch) {
      out.push_back(read_back(n.bytes));
      subscriptions.on_response(n.subscription, 200, now);
    }
  }
  return out;
}

}  // namespace presenced::sip::test
