#pragma once

// Readers of one header value each (after unfolding, trimmed). They report only success: the
// message parser names the header in its error. Private to src/sip.

#include "sip/internal/message.h"

#include <string_view>
#include <vector>

namespace presenced::sip::values {

bool read_uri(std::string_view text, Uri& out);
// One name-addr or addr-spec with header parameters (an element of a list, already split).
bool read_name_addr(std::string_view text, NameAddr& out);
bool read_name_addrs(std::string_view text, std::size_t max_items, std::vector<NameAddr>& out);
bool read_contacts(std::string_view text, std::size_t max_items, Contacts& out);
bool read_vias(std::string_view text, std::size_t max_items, std::vector<Via>& out);
bool read_cseq(std::string_view text, CSeq& out);
bool read_call_id(std::string_view text, std::string& out);
bool read_media_type(std::string_view text, MediaType& out);
bool read_media_types(std::string_view text, std::size_t max_items, std::vector<MediaType>& out);
bool read_tokens(std::string_view text, std::size_t max_items, std::vector<std::string>& out);
bool read_token(std::string_view text, std::string& out);
bool read_event(std::string_view text, Event& out);
bool read_subscription_state(std::string_view text, SubscriptionState& out);
bool read_auth(std::string_view text, std::size_t max_items, Auth& out);

}  // namespace presenced::sip::values
