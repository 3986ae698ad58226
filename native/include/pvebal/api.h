// File: pvebal/api.h
//
// The one entry point every caller uses: the CLI, the Perl XS module and the daemon. A command
// name, the snapshot as JSON text, option layers and the command's arguments go in; the
// rendered answer (JSON or text) or an error naming the offending field comes out. Nothing is
// printed, nothing throws for bad input.
//
//   pvebal::request r;
//   r.command = "plan";
//   r.snapshot = text;                            // what pvesh printed
//   r.args["max-migrations"] = "5";               // engine options may be given as args too
//   pvebal::result<std::string> out = pvebal::execute(r);
#ifndef PVEBAL_API_H_
#define PVEBAL_API_H_

#include "pvebal/error.h"
#include "pvebal/io.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pvebal {

struct request {
    std::string command;  // score, plan, evacuate, failover, capacity, place
    std::string snapshot; // JSON text of the snapshot
    // Options as JSON objects, applied in order after the snapshot's own (origin, text).
    std::vector<std::pair<std::string, std::string>> option_layers;
    // Command arguments and engine options as text, applied last:
    //   evacuate: node; failover: failed-node, all-guests; capacity: target-failures,
    //   all-guests, max-scenarios; place: vmid | cpu + mem [tags], apart-from.
    // Any other key must be an engine option (docs/options.md).
    std::map<std::string, std::string> args;
    std::string arg_prefix = "--"; // how errors name an argument: "--node" (CLI) or "node"
    output_format format = output_format::json;
};

result<std::string> execute(const request &r);

// For a process that exits right after one command (the CLI) and only there: from then on, the
// snapshot's JSON tree is kept until the process ends instead of being freed. Freeing the tree
// of 10,000 guests (and the heap consolidation after it) is about a tenth of `plan`'s CPU time,
// and the memory goes back at exit anyway. The tree stays reachable (from a static holder), so
// leak checkers stay quiet. Never for a caller that runs more than one command (the daemon, the
// XS module): each call would keep its tree.
void keep_input_trees_until_exit();

// The commands execute() knows, and the arguments each takes (besides engine options).
const std::vector<std::pair<std::string, std::vector<std::string>>> &command_args();

} // namespace pvebal

#endif
