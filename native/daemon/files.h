// File: daemon/files.h
//
// File helpers with errors as values: atomic replace (write a temporary file in the same
// directory, then rename; pmxcfs supports rename, so this also works in /etc/pve), read, stat.
#ifndef PVEBAL_DAEMON_FILES_H_
#define PVEBAL_DAEMON_FILES_H_

#include "environment.h"

#include "pvebal/error.h"

#include <optional>
#include <string>

namespace pvebal::balancerd {

// Replaces `path` with `content`. With `make_dir`, creates the parent directory (one level)
// when it is missing.
result<void> write_file_atomic(const std::string &path, const std::string &content, bool make_dir);
// nullopt when the file does not exist.
result<std::optional<std::string>> read_file(const std::string &path);
std::optional<file_stamp> stat_file(const std::string &path);
// Creates `dir` and its parents (mode 0755).
result<void> make_dirs(const std::string &dir);

} // namespace pvebal::balancerd

#endif
