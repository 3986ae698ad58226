// File: pvebal/option_schema.h
//
// The one schema of every option pve-balancer knows: the engine's own (options.h) and those of
// the Proxmox integration (API, executor, HA scheduler, daemon), which the engine validates but
// does not act on. Key, type, range, default and description live here and nowhere else: the
// CLI (`pve-balancer options`), the Perl side (`PVE::Balancer::Native::option_schema()`, the API
// parameter schemas, PVE::Balancer::Config) and the daemon all read this table.
//
// It also reads /etc/pve/balancer.cfg ("key: value" lines). Reading never fails: a key this
// version does not know is kept and reported as unknown (a newer package on another node may
// have written it during a rolling upgrade), a bad value or line is reported with its line
// number and left out, so callers decide (the API shows it, the daemon keeps its last good
// configuration).
//
//   for (const pvebal::option_info& o : pvebal::option_schema()) std::cout << o.key << '\n';
//   pvebal::config_file f = pvebal::parse_config_text(text, "/etc/pve/balancer.cfg");
//   for (const auto& e : f.errors) log(e.to_string());
#ifndef PVEBAL_OPTION_SCHEMA_H_
#define PVEBAL_OPTION_SCHEMA_H_

#include "pvebal/error.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pvebal {

enum class option_type : std::uint8_t {
    boolean,     // 0/1 (also true/false, yes/no, on/off as text)
    integer,     // whole number within [minimum, maximum]
    number,      // decimal number within [minimum, maximum]
    size,        // bytes: integer, or a number with a K/M/G/T suffix (powers of 1024)
    choice,      // one of `choices`
    node_list,   // node names, comma/semicolon/blank separated
    storage_map, // "source:target,..." pairs of storage ids
    text,        // one line of printable text (at most `maximum` characters); what it means is
                 // checked by the integration that reads it (e.g. time windows, PVE::Balancer)
};

enum class option_scope : std::uint8_t {
    engine,      // read by the planners (options.h)
    integration, // read by the Perl integration, the HA scheduler or pve-balancerd
};

struct option_info {
    std::string_view key;
    option_type type;
    option_scope scope;
    std::string_view group; // section of the docs: scoring, limits, balance, ...
    double minimum = 0;     // integer, number, size (bytes)
    double maximum = 0;
    std::string_view unit; // word for messages: "a fraction", "seconds", ... ("" = plain)
    std::vector<std::string_view> choices; // choice; the first alias-free spelling is canonical
    std::string_view default_text;         // as written in balancer.cfg; "" = unset (off / none)
    std::string_view description;
};

// Every option, sorted by key.
const std::vector<option_info> &option_schema();
const option_info *find_option(std::string_view key);

// What a value of this option must look like, for messages: "an integer from 1 to 1000".
std::string expected_text(const option_info &o);

// Checks a value given as text (a flag, a line of balancer.cfg, an API parameter) strictly —
// the whole text must be a value of the option's type and range — and returns its canonical
// spelling ("yes" -> "1", "assigned" -> "static", "2G" stays "2G"). The error has no path;
// callers add theirs.
result<std::string> normalize_option_value(const option_info &o, std::string_view text);

// One problem in balancer.cfg.
struct config_issue {
    int line = 0;
    std::string key; // empty for a line that is not "key: value"
    std::string message;
    std::string to_string(std::string_view filename) const;
};

struct config_file {
    std::map<std::string, std::string> values;  // valid known keys, canonical values
    std::map<std::string, std::string> unknown; // keys this version does not know, as written
    std::vector<config_issue> errors;           // bad lines and bad values (left out of values)
    std::vector<config_issue> duplicates;       // keys set twice (the first one counts)
};

config_file parse_config_text(std::string_view text);

} // namespace pvebal

#endif
