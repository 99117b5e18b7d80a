#pragma once

// The live layers nodes share through the bucket (docs/cluster.md): a user's manual, telephony
// and calendar layers, each under the key "<layer>.<user token>" and replaced whole. A value is
// the rows the store keeps for that layer (store/internal/records.h reads them back), so the
// bucket holds what PostgreSQL holds, in one more spelling of the same columns.
//
// Sessions belong to the node whose client opened them: "sessions.<node>.<user>" holds that
// node's sessions of the user, and "node.<node>" is the node's heartbeat, which keeps them alive
// on the other nodes (docs/cluster.md, "A node that dies").

#include "core/model.h"
#include "core/result.h"
#include "store/store.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::cluster {

// Manual, Telephony or Calendar: the layers a user has once in the cluster.
bool is_shared(core::Layer layer);

// A key of the bucket: a shared layer (node empty), a node's sessions of a user (layer
// Sessions) or a node's heartbeat (layer None, user empty).
struct LayerKey {
  core::Layer layer = core::Layer::None;
  std::string user;
  std::string node;
};
std::string layer_key(core::Layer layer, std::string_view user);
std::string sessions_key(std::string_view node, std::string_view user);
std::string heartbeat_key(std::string_view node);
// nullopt for a key of something else (a job claim) or one of the above does not write.
std::optional<LayerKey> parse_layer_key(std::string_view key);

std::string encode_sessions(std::string_view user, const std::vector<core::Session>& sessions);
core::Result<std::vector<core::Session>> decode_sessions(std::string_view user,
                                                         std::string_view value);

// `user`'s `layer` part of `layers` as a bucket value.
std::string encode_layer(core::Layer layer, std::string_view user, const core::Layers& layers);
// Replaces the `layer` part of `into` with what `value` holds; invalid_argument (and `into`
// unchanged) for a value encode_layer() does not write, or one written for another user.
core::Result<void> decode_layer(core::Layer layer, std::string_view user, std::string_view value,
                                core::Layers& into);

// The directory: a committed change of a user, a token, a group, a device, a visibility rule, an
// admin-defined state, a contact, a server-wide setting or a document puts that entity's store
// row under "directory.<kind>.<id>" ("directory.visibility.<owner>.<watcher>",
// "directory.device.<user>.<device>", "directory.contact.<owner>.<contact>",
// "directory.document.<document kind>.<id>"), or an empty value once it is deleted (settings
// are never deleted), so the bucket holds the latest row of every entity and a node that applies
// the key's last value has what PostgreSQL has. Which documents a node shares is the API's
// choice: the codec carries any.
struct DirectoryEntry {
  std::string key;
  std::string value;
};
// nullopt for a change of something else (layers).
std::optional<DirectoryEntry> directory_entry(const store::Mutation& change);
// The change a directory key's value makes here: nullopt for a key of something else;
// invalid_argument for a value directory_entry() does not write for that key.
std::optional<core::Result<store::Mutation>> decode_directory(std::string_view key,
                                                              std::string_view value);

}  // namespace presenced::cluster
