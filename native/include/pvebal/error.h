// File: pvebal/error.h
//
// Errors as values at the I/O edge. Bad input never throws out of the engine's public entry
// points: they return `result<T>`, which holds either the value or an `error` naming the JSON
// path of the offending field and what was expected.
//
//   pvebal::result<pvebal::cluster> c = pvebal::read_snapshot(text);
//   if (!c) { std::cerr << c.error().to_string() << '\n'; return 2; }
//
// An infeasible placement is *not* an error: planners report it in their result.
#ifndef PVEBAL_ERROR_H_
#define PVEBAL_ERROR_H_

#include <expected>
#include <string>

namespace pvebal {

struct error {
    std::string path;    // JSON path such as "resources[7].maxmem"; empty when not about a field
    std::string message; // what was expected, e.g. "expected a non-negative integer, got \"8G\""

    std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

template <class T> using result = std::expected<T, error>;

inline std::unexpected<error> fail(std::string path, std::string message) {
    return std::unexpected(error{std::move(path), std::move(message)});
}

} // namespace pvebal

#endif
