#include "local.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace presencectl {
namespace {

namespace fs = std::filesystem;

// Far enough for any "until"; keeps the arithmetic away from overflow.
constexpr std::int64_t kMaxRelativeSeconds = 3650LL * 24 * 3600;
// A token is a few dozen bytes; a larger file is not ours.
constexpr std::size_t kMaxTokenFile = 64 * 1024;

Failure local_failure(std::string message) { return Failure{kExitFailed, std::move(message)}; }

std::string errno_text() { return std::strerror(errno); }

std::string strip_line_ending(std::string line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.pop_back();
  }
  return line;
}

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// Restores the terminal however the prompt ends.
class EchoOff {
 public:
  EchoOff() {
    active_ = tcgetattr(STDIN_FILENO, &saved_) == 0;
    if (active_) {
      termios quiet = saved_;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      quiet.c_lflag |= ECHONL;
      active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  ~EchoOff() {
    if (active_) {
      tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
    }
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::string format_utc(std::chrono::sys_seconds t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss clock{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     clock.hours().count(), clock.minutes().count(), clock.seconds().count());
}

}  // namespace

Outcome<std::string> token_path() {
  // XDG Base Directory: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') {
    return (fs::path(xdg) / "presencectl" / "token").string();
  }
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    return (fs::path(home) / ".config" / "presencectl" / "token").string();
  }
  return local_failure("token file: neither XDG_CONFIG_HOME nor HOME is set");
}

Outcome<std::optional<std::string>> load_token() {
  auto path = token_path();
  if (!path) {
    return path.error();
  }
  const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return std::optional<std::string>();
    }
    return local_failure(fmt::format("{}: {}", *path, errno_text()));
  }
  std::string content;
  char buffer[4096];
  ssize_t n = 0;
  while (content.size() < kMaxTokenFile && (n = ::read(fd, buffer, sizeof buffer)) > 0) {
    content.append(buffer, static_cast<std::size_t>(n));
  }
  const std::string error = n < 0 ? errno_text() : std::string();
  ::close(fd);
  if (n < 0) {
    return local_failure(fmt::format("{}: {}", *path, error));
  }
  std::string token = trim(std::move(content));
  if (token.empty()) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::move(token));
}

Outcome<std::string> save_token(std::string_view token) {
  auto path = token_path();
  if (!path) {
    return path.error();
  }
  const fs::path dir = fs::path(*path).parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return local_failure(fmt::format("{}: {}", dir.string(), ec.message()));
  }
  ::chmod(dir.c_str(), 0700);
  // Written beside and renamed: a crash never leaves half a token, and the file is 0600 from
  // its first byte on.
  const std::string temporary = *path + ".new";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return local_failure(fmt::format("{}: {}", temporary, errno_text()));
  }
  const std::string content = std::string(token) + "\n";
  const bool written =
      ::fchmod(fd, 0600) == 0 &&
      ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
      ::fsync(fd) == 0;
  const std::string error = written ? std::string() : errno_text();
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path->c_str()) != 0) {
    const std::string message = written ? errno_text() : error;
    ::unlink(temporary.c_str());
    return local_failure(fmt::format("{}: {}", *path, message));
  }
  return *path;
}

Outcome<std::optional<std::string>> remove_token() {
  auto path = token_path();
  if (!path) {
    return path.error();
  }
  if (::unlink(path->c_str()) != 0) {
    if (errno == ENOENT) {
      return std::optional<std::string>();
    }
    return local_failure(fmt::format("{}: {}", *path, errno_text()));
  }
  return std::optional<std::string>(*path);
}

bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) == 1; }

Outcome<std::string> prompt_secret(std::string_view prompt) {
  std::cerr << prompt << std::flush;
  std::string line;
  {
    EchoOff quiet;
    if (!std::getline(std::cin, line)) {
      std::cerr << '\n';
      return Failure{kExitUsage, "no input on the terminal"};
    }
  }
  return strip_line_ending(std::move(line));
}

Outcome<std::string> prompt_line(std::string_view prompt) {
  if (stdin_is_terminal()) {
    std::cerr << prompt << std::flush;
  }
  std::string line;
  if (!std::getline(std::cin, line)) {
    return Failure{kExitUsage, "no input on stdin"};
  }
  return strip_line_ending(std::move(line));
}

Outcome<std::string> read_stdin_line(std::string_view what) {
  std::string line;
  if (!std::getline(std::cin, line)) {
    return Failure{kExitUsage, fmt::format("{}: stdin is empty", what)};
  }
  return strip_line_ending(std::move(line));
}

Outcome<std::string> obtain_password(const std::optional<std::string>& given,
                                     std::string_view prompt, bool confirm) {
  if (given) {
    return *given;
  }
  if (!stdin_is_terminal()) {
    return read_stdin_line("password");
  }
  auto first = prompt_secret(prompt);
  if (!first || !confirm) {
    return first;
  }
  auto second = prompt_secret("Again: ");
  if (!second) {
    return second;
  }
  if (*first != *second) {
    return Failure{kExitUsage, "password: the two entries differ"};
  }
  return first;
}

std::optional<std::string> resolve_until(std::string_view text,
                                         std::chrono::system_clock::time_point now) {
  if (text.empty() || text.front() != '+') {
    return std::string(text);
  }
  text.remove_prefix(1);
  if (text.empty()) {
    return std::nullopt;
  }
  std::int64_t total = 0;
  while (!text.empty()) {
    std::int64_t amount = 0;
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
      amount = amount * 10 + (text[digits] - '0');
      if (amount > kMaxRelativeSeconds) {
        return std::nullopt;
      }
      ++digits;
    }
    if (digits == 0 || digits == text.size()) {
      return std::nullopt;  // a number needs a unit after it
    }
    std::int64_t unit = 0;
    switch (text[digits]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
    total += amount * unit;
    if (total > kMaxRelativeSeconds) {
      return std::nullopt;
    }
    text.remove_prefix(digits + 1);
  }
  if (total == 0) {
    return std::nullopt;
  }
  const auto base = std::chrono::floor<std::chrono::seconds>(now);
  return format_utc(base + std::chrono::seconds(total));
}

}  // namespace presencectl
