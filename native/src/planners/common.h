// Internal to the planners: the moves a planner chose (final state), and the ordering that
// turns them into safe steps and waves.
#ifndef PVEBAL_PLANNERS_COMMON_H_
#define PVEBAL_PLANNERS_COMMON_H_

#include "constraints/registry.h"
#include "pvebal/constraints.h"
#include "pvebal/deadline.h"
#include "pvebal/report.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pvebal::detail {

// A unit of guests that moves together from one node to another.
struct planned_move {
    std::vector<guest_id> guests; // sorted
    node_id from = 0;
    node_id to = 0;
    double value =
        0; // what the move is worth (objective gain); the least valuable is dropped first
    std::string reason;
    bool temporary = false;
    std::optional<constraint> repair; // a repair: the rule or limit it restores
};

// Orders moves into waves so that every intermediate state passes every check (a migrating
// guest loads both nodes), within the parallel limits; breaks cycles with a temporary parking
// move where one exists, otherwise drops the least valuable move. `state` starts at the
// initial placement and ends at the final one.
// `wave_check`, when given, accepts or refuses the state after each wave (guests in flight
// counted at their targets) and says why it refuses: refused moves wait for a later wave, and
// when a wave would be empty the least valuable of them is dropped with that reason.
// A refusal with `stop` means the check could not decide (the deadline): the plan ends before
// that wave and the moves left are dropped with the reason.
struct wave_refusal {
    std::string reason;
    bool stop = false;
};
using wave_check = std::function<std::optional<wave_refusal>(const overlay &)>;
void order_moves(const decision_context &ctx, overlay &state, std::vector<planned_move> moves,
                 plan &out, const wave_check &check = {});

// Fills costs, totals and metrics of a plan whose migrations are set.
void finish_plan(const cluster &before_cluster, const cluster &after_cluster, const options &o,
                 const load_view &before, const load_view &after, plan &p);

// Movable units: guests that move together (positive affinity) and sit on one node.
struct unit {
    std::vector<guest_id> guests;
    node_id node = 0;
    res demand;
    double cost_seconds = 0;
    std::vector<node_id> allowed; // nodes passing the static checks for every member
    std::optional<node_id> home;  // part of a split keep-together group: where it gathers
};
std::vector<unit> build_units(const decision_context &ctx, const std::vector<bool> &include);

// Repair first (docs/constraints.md): moves that end the violations of `state` whose kinds
// o.repair enables, one at a time, each to a target that passes every check (relief moves off),
// so no repair breaks another rule or makes a violation worse. `state` ends repaired; units
// that moved, and every unit of a keep-together group that gathered, are marked in `frozen`
// (the balance search leaves them). At most `budget` migrations; what cannot be repaired gets
// a note that says why.
struct repair_outcome {
    std::vector<planned_move> moves; // in planning order
    unsigned migrations = 0;
    std::vector<std::string> notes;
};
repair_outcome plan_repairs(decision_context &ctx, overlay &state, std::vector<unit> &units,
                            std::vector<bool> &frozen, unsigned budget, deadline &dl);

} // namespace pvebal::detail

#endif
