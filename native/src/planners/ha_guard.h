// Internal: N+k-safe plans (keep-ha-capacity). Answers "do the HA guests still survive k node
// failures with the guests placed like this?" for the states a plan passes through, with the
// same recovery solver and the same per-scenario search budget as `capacity`.
#ifndef PVEBAL_PLANNERS_HA_GUARD_H_
#define PVEBAL_PLANNERS_HA_GUARD_H_

#include "common.h"
#include "pvebal/deadline.h"
#include "recovery.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pvebal::detail {

class ha_guard {
public:
    // The level asked for: keep-ha-capacity when set, else capacity-target (0: off).
    static int asked(const options &o);
    // Failure sets are drawn from the active nodes of `c` (online, not in maintenance: a node
    // being drained is not counted as one that can fail). The level to keep is asked(o),
    // lowered to what the cluster survives now. With a deadline, no check runs past it: a
    // check it cuts short counts as not passed and unchecked() says so.
    // planning: the planner's decision context, when it has one (its rules are not compiled
    // again; see recovery_solver).
    ha_guard(const cluster &c, const options &o, deadline *dl = nullptr,
             const decision_context *planning = nullptr);

    // The deadline of the checks from now on (the constructor may run on another thread with
    // its own; balance hands over the plan's once it has the guard).
    void set_deadline(deadline *dl) {
        dl_ = dl;
        solver_.set_deadline(dl);
    }

    // Failures to keep (0: the guard is off and every check passes).
    int keep() const { return keep_; }
    // A note for the plan (the level kept, or why it is lower than asked); empty when off.
    const std::string &note() const { return note_; }
    // Whether every set of up to keep() failed nodes leaves every recoverable HA guest a node
    // to restart on, with guest g on placement[g] (no_node: not placed). On a failure, why()
    // names the failure set.
    bool survives(const std::vector<node_id> &placement);
    // The same for one more guest placed on `n` with demand `d` (place), on top of the
    // original placement.
    bool survives_with(guest_id g, node_id n, const res &d);
    // survives(), and the placement is kept as a reference for later checks: a placement that
    // differs from one that passed only by guests on no active node passes without a check
    // (evacuate checks where the units would all go first, then the states on the way there).
    bool survives_as_reference(const std::vector<node_id> &placement);
    const std::string &why() const { return why_; }
    // Whether the deadline stopped the last check before it could decide.
    bool unchecked() const { return unchecked_; }
    // Why a state that does not survive is refused (for dropped moves and notes).
    std::string refusal() const;
    // For order_moves: refuses a wave after which the HA guests survive fewer failures, and
    // stops the plan when the deadline leaves a wave unchecked.
    wave_check waves();

private:
    // A failure set's last restart assignment and when it was found or confirmed.
    struct known_answer {
        std::vector<std::pair<guest_id, node_id>> placed;
        std::vector<node_id> targets; // the nodes it restarts guests on (sorted, unique)
        long stamp = 0;
        std::vector<int> groups; // keep-together groups of the guests it restarts
    };
    // Every set of exactly k failed nodes; the last failing set is tried first.
    bool check(int k);
    void apply(const std::vector<node_id> &placement);
    void move_guest(guest_id g, node_id n, const res *demand = nullptr);
    // Nothing the answer depends on changed since it was confirmed: the failed nodes ran the
    // same guests, and no guest arrived at a node it restarts guests on (arrivals are the only
    // change that can take room away; memory, CPU, ratios and keep-apart counts only grow
    // with them), and no partner of a keep-together guest it restarts moved.
    bool fresh(const std::vector<node_id> &set, const known_answer &a) const;
    // Whether `placement` differs from the last placement that passed (or the reference) only
    // by guests that sit
    // on no active node in it (not yet arrived from a drained node, say) and whose keep-together
    // partners all sit on no active node either. Then it survives too: every failure set has
    // fewer guests to restart, every survivor as much room or more, and each partners'
    // majority is the same, so the restarts found for the passed placement, minus those of the
    // guests gone, are still valid (the checks only ever compare load with limits).
    bool within_passed(const std::vector<node_id> &placement) const;
    bool within(const std::vector<node_id> &placement, const std::vector<node_id> &passed) const;

    const cluster &c_;
    recovery_solver solver_;
    deadline *dl_;
    std::vector<node_id> active_;
    std::vector<node_id> where_; // the solver's current placement
    std::vector<bool> unrecoverable_;
    std::vector<node_id> last_failing_;
    // The last restart assignment found per failure set: checked first (fresh, then
    // still_valid), solved again only when it no longer holds.
    std::map<std::vector<node_id>, known_answer> answers_;
    long clock_ = 0;
    std::vector<long> changed_;      // per node: last change of its guests or their demand
    std::vector<long> arrived_;      // per node: last arrival (or demand change) there
    std::vector<long> group_moved_;  // per keep-together group: last move of a member
    std::vector<bool> active_node_;  // per node: one of active_
    std::vector<node_id> passed_;    // the last placement that passed (empty: none)
    std::vector<node_id> reference_; // survives_as_reference's, when it passed
    int keep_ = 0;
    bool unchecked_ = false;
    std::string note_, why_;
};

} // namespace pvebal::detail

#endif
