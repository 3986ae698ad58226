// Internal: N+k-safe plans (keep-ha-capacity). Answers "do the HA guests still survive k node
// failures with the guests placed like this?" for the states a plan passes through, with the
// same recovery solver and the same per-scenario search budget as `capacity`.
#ifndef PVEBAL_PLANNERS_HA_GUARD_H_
#define PVEBAL_PLANNERS_HA_GUARD_H_

#include "common.h"
#include "recovery.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pvebal::detail {

class ha_guard {
public:
    // Failure sets are drawn from the active nodes of `c` (online, not in maintenance: a node
    // being drained is not counted as one that can fail). The level to keep is
    // o.keep_ha_capacity, or by default o.capacity_target, lowered to what the cluster
    // survives now.
    ha_guard(const cluster &c, const options &o);

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
    const std::string &why() const { return why_; }
    // Why a state that does not survive is refused (for dropped moves and notes).
    std::string refusal() const;
    // For order_moves: refuses a wave after which the HA guests survive fewer failures.
    wave_check waves();

private:
    // Every set of exactly k failed nodes; the last failing set is tried first.
    bool check(int k);
    void apply(const std::vector<node_id> &placement);

    const cluster &c_;
    recovery_solver solver_;
    std::vector<node_id> active_;
    std::vector<node_id> where_; // the solver's current placement
    std::vector<bool> unrecoverable_;
    std::vector<node_id> last_failing_;
    // The last restart assignment found per failure set: checked first (still_valid), solved
    // again only when it no longer holds.
    std::map<std::vector<node_id>, std::vector<std::pair<guest_id, node_id>>> answers_;
    int keep_ = 0;
    std::string note_, why_;
};

} // namespace pvebal::detail

#endif
