// File: pvebal/io.h
//
// JSON <-> model. The only module that knows key names. Reads every snapshot form of
// docs/snapshot.md (the /cluster/resources array, the {"data": [...]} wrapper and the extended
// object with ha, guests and options) and validates it: a bad field gives an `error` naming its
// JSON path and what was expected; nothing is half-read.
//
//   auto snap = pvebal::read_snapshot(text);
//   if (!snap) return fail_with(snap.error());
//   pvebal::options o = snap->opts;            // defaults + the snapshot's "options"
//   auto cfg = pvebal::apply_options_json(o, config_text, "config");
#ifndef PVEBAL_IO_H_
#define PVEBAL_IO_H_

#include "pvebal/error.h"
#include "pvebal/model.h"
#include "pvebal/option_schema.h"
#include "pvebal/options.h"
#include "pvebal/report.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pvebal {

struct snapshot {
    cluster c;
    options opts;     // defaults, then the snapshot's own "options" object
    std::string form; // "array", "data" or "extended"
};

// Input limits (docs/reliability.md): a snapshot beyond one is refused with an error naming the
// limit, before the work (or the memory) grows with it. Far above the largest Proxmox VE
// clusters (the engine's scale tests stop at 2,000 nodes and 100,000 guests).
inline constexpr std::size_t max_snapshot_bytes = 256u * 1024 * 1024; // of JSON text
inline constexpr std::size_t max_snapshot_nodes = 10000;
inline constexpr std::size_t max_snapshot_guests = 1000000;
inline constexpr std::size_t max_snapshot_ha_rules = 100000; // ha.rules plus ha.groups

result<snapshot> read_snapshot(std::string_view json_text);

// Checks the options against the cluster (node names) and applies the node-level ones
// (maintenance-nodes). Call once the options are final.
result<void> bind_options(cluster &c, const options &o);

// Applies an options object (JSON text) on top of `base`; `path` names its origin in errors.
result<options> apply_options_json(options base, std::string_view json_text,
                                   const std::string &path);

// Applies one option given as text (a command-line flag): key as in the JSON, e.g.
// apply_option(o, "max-migrations", "5").
result<void> apply_option(options &o, const std::string &key, const std::string &value);

// Names of every engine option key, sorted (CLI flags; see option_schema() for all keys).
const std::vector<std::string> &option_keys();

// Parses a byte size: a plain integer, or a number with a K/M/G/T suffix (powers of 1024).
result<std::uint64_t> parse_size(const std::string &text);

// Parses node-memory-reserve ("pve1:16G,pve2:8G"): (node, bytes) in the order given. Node
// names are not checked here (bind_options checks them against the cluster).
result<std::vector<std::pair<std::string, std::uint64_t>>>
parse_node_memory_reserve(const std::string &text);

enum class output_format { text, json };

// Renders answers. JSON is canonical: sorted keys, fixed precision, so equal inputs give
// byte-identical output.
std::string render_score(const cluster &c, const options &o, const score_report &r,
                         output_format f);

std::string render_plan(const cluster &c, const options &o, const plan &p, output_format f);
std::string render_capacity(const cluster &c, const capacity_report &r, output_format f);
std::string render_place(const cluster &c, const placement_answer &a, output_format f);
// The option schema (`pve-balancer options`): JSON array, one object per option, or a table.
std::string render_option_schema(output_format f);
// A parsed balancer.cfg as JSON: {values, unknown, errors: [{line, key, message}], duplicates}.
std::string render_config_file(const config_file &f);

} // namespace pvebal

#endif
