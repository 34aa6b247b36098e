/// \file
/// state.hpp - files the runtime keeps under `--root`: written atomically, locked.
///
/// Introduced in chapter 04 (the first chapter that remembers anything between
/// two runs: images, layers, containers), used by every later chapter.
///
/// \code{.cpp}
///   write_file_atomic(dir + "/state.json", json.dump(2));  // all or nothing
///   nlohmann::json state = read_json(dir + "/state.json");
///   Fd lock = lock_file(root + "/lock");                  // until lock closes
/// \endcode
///
/// Why atomic: a runtime killed halfway through a write, or a second runtime
/// reading at the same moment, must see the old file or the new one, never
/// half of one. So we write a temporary file next to it, fsync() it, and
/// rename() it over the old one: rename is atomic within one filesystem.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "fd.hpp"

namespace minidocker {

/// Whether write_file_atomic() makes the new content survive a power cut
/// (yes: fsync() before the rename) or only a crash of the runtime (no).
enum class Durable { yes, no };

/// Replaces `path` with `content`: temp file, fsync, rename. Without the
/// fsync (Durable::no) readers still see old or new, never half; only a power
/// cut may lose the new content. That is right for what a reboot makes
/// meaningless anyway, like the state of a running container.
void write_file_atomic(const std::string& path, const std::string& content, mode_t mode = 0644,
                       Durable durable = Durable::yes);
void write_json_atomic(const std::string& path, const nlohmann::json& value, Durable durable = Durable::yes);

/// The whole file; throws std::system_error naming the path. The same as
/// sys::read_file(), which new code calls (this name stays while chapters
/// 04-08 still use it).
std::string read_text_file(const std::string& path);
/// Throws std::runtime_error naming the path when it is not valid JSON.
nlohmann::json read_json(const std::string& path);

/// "dir/name"; just `name` when dir is "".
std::string join_path(std::string_view dir, std::string_view name);

/// mkdir -p; throws on failure other than "it exists".
void make_dirs(const std::string& path);

/// rm -rf; missing is fine. Throws on other failures (e.g. a busy mount point).
void remove_tree(const std::string& path);

/// An exclusive flock(2) on `path` (created if missing), held until the Fd is
/// closed. Serialises the runtimes that change one `--root`.
Fd lock_file(const std::string& path);

}  // namespace minidocker
