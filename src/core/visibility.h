#pragma once

// Visibility levels and the projection each level sees (ProCall rights table, seed 000 and
// docs/presence-rules.md "Visibility").

#include "core/model.h"

#include <optional>
#include <string_view>

namespace presenced::core {

struct VisibilityPolicy {
  VisibilityLevel default_level = VisibilityLevel::Business;
  // Admin-set floor: a user may raise a watcher above it, never lower below it.
  VisibilityLevel minimum = VisibilityLevel::Blocked;
};

// The level in force: explicit pair level or the default, never below the minimum; a user always
// sees themself at Personal.
VisibilityLevel effective_level(std::optional<VisibilityLevel> pair_level, bool is_self,
                                const VisibilityPolicy& policy);

// What a watcher at `level` may see of `presence`.
Presence project(const Presence& presence, VisibilityLevel level);

std::string_view to_string(VisibilityLevel level);
std::optional<VisibilityLevel> parse_visibility_level(std::string_view text);

}  // namespace presenced::core
