#pragma once

// What presencectl keeps and asks on this machine: the saved token, secrets read from the
// terminal or stdin, and times given relative to now.
//
// Thread-safety: none needed; presencectl runs on one thread.

#include "context.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace presencectl {

// $XDG_CONFIG_HOME/presencectl/token, else ~/.config/presencectl/token.
[[nodiscard]] Outcome<std::string> token_path();
// The saved token; nothing when no file exists.
[[nodiscard]] Outcome<std::optional<std::string>> load_token();
// Writes the token readable by its owner only (0600, directory 0700); answers the path.
[[nodiscard]] Outcome<std::string> save_token(std::string_view token);
// Removes the saved token; answers the path when there was one.
[[nodiscard]] Outcome<std::optional<std::string>> remove_token();

bool stdin_is_terminal();
// Prompts on stderr and reads a line from the terminal without echo.
[[nodiscard]] Outcome<std::string> prompt_secret(std::string_view prompt);
// Prompts on stderr (when stdin is a terminal) and reads a line with echo.
[[nodiscard]] Outcome<std::string> prompt_line(std::string_view prompt);
// One line from stdin without its line ending: a secret piped in by a script.
[[nodiscard]] Outcome<std::string> read_stdin_line(std::string_view what);
// --password when given, else a prompt without echo on a terminal, else a line of stdin.
// `confirm` asks twice on a terminal, for new passwords.
[[nodiscard]] Outcome<std::string> obtain_password(const std::optional<std::string>& given,
                                                   std::string_view prompt, bool confirm);

// "+30m", "+2h", "+1d", "+1h30m" (s, m, h, d) become RFC 3339 UTC after `now`; anything else
// is passed through for the server to check. Nothing on a malformed relative time.
[[nodiscard]] std::optional<std::string> resolve_until(std::string_view text,
                                                       std::chrono::system_clock::time_point now);

}  // namespace presencectl
