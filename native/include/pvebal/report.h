// File: pvebal/report.h
//
// What the engine answers: plain result types produced by the planners and rendered by io
// (JSON as docs/plan-format.md, or text). Nothing here knows JSON.
#ifndef PVEBAL_REPORT_H_
#define PVEBAL_REPORT_H_

#include "pvebal/constraints.h"
#include "pvebal/load.h"
#include "pvebal/model.h"
#include "pvebal/options.h"
#include "pvebal/scoring.h"

#include <optional>
#include <string>
#include <vector>

namespace pvebal {

struct warning {
    std::string kind;                 // overloaded, immovable, offline-guests, ha-rule, ...
    std::optional<node_id> node;      // the node it is about, if any
    std::optional<guest_id> guest;    // the guest it is about, if any
    std::string message;
    std::vector<rejection> reasons;   // for immovable guests
};

struct score_report {
    load_view load;
    metrics m;
    std::vector<warning> warnings;
};

score_report make_score_report(const cluster& c, const options& o);

} // namespace pvebal

#endif
