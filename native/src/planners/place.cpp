// Place: rank nodes for a guest that is about to start, or for a new one (the "best node" for
// Terraform/Ansible). Nodes where it fits are ranked by the objective after placing it; the
// others are listed with the reason.
#include "common.h"
#include "ha_guard.h"

#include <optional>

#include <algorithm>
#include <cmath>

namespace pvebal {

using namespace detail;

result<placement_answer> plan_place(const cluster &c, const options &o,
                                    const placement_request &req) {
    if (!req.guest && c.nodes.empty()) {
        return fail("", "the cluster has no nodes");
    }
    // An existing guest counts with its configured size when it starts (static), as it is
    // running (used). A new guest has no record: it is the newcomer of the affinity groups, its
    // requested tags decide its policy and groups, its requested size what it needs.
    const guest *gs = req.guest ? &c.guests[*req.guest] : nullptr;
    const res demand = gs == nullptr ? req.demand
                       : gs->running ? make_load_view(c, o.mode).demand[*req.guest]
                                     : res{gs->maxcpu, static_cast<double>(gs->maxmem)};
    const newcomer incoming{req.tags, demand};
    affinity_groups a = compile_affinity(c, o, gs == nullptr ? &incoming : nullptr);
    const guest_id g = gs != nullptr ? *req.guest : *a.newcomer;
    // Keep apart from named guests: one extra group.
    if (!req.apart_from.empty()) {
        const int k = static_cast<int>(a.apart_names.size());
        a.apart_names.push_back("the apart-from list");
        a.apart[g].push_back(k);
        for (guest_id h : req.apart_from) {
            a.apart[h].push_back(k);
        }
    }
    overlay state(c, o, a);
    const decision_context ctx(c, o, a);
    const bool placed_somewhere = gs != nullptr && gs->running;
    if (gs != nullptr && !placed_somewhere) {
        state.unplace(g); // not running anywhere yet: it loads no node and counts in no group
    }
    state.track_objective(active_nodes(c));
    const objective_state &obj = state.objective();
    const double now = obj.value();

    // What arrives at a node: the guest with its demand; its configured size counts for the
    // overcommit ratios (a running guest's, or the size it starts with).
    arrival in;
    in.demand = demand;
    in.assigned = placed_somewhere ? res{gs->maxcpu, static_cast<double>(gs->maxmem)} : demand;
    in.apart = a.apart[g];
    if (gs != nullptr) {
        in.self = g;
    }

    placement_answer ans;
    ans.demand = demand;
    std::vector<ranked_node> ranked, rest;
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        ranked_node rn;
        rn.node = n;
        std::optional<rejection> why;
        if (gs == nullptr) {
            why = check_newcomer_target(ctx, n);
            if (!why) {
                why = check_arrival(ctx, state, in, n);
            }
        } else if (!(placed_somewhere && n == gs->node)) { // staying is an option
            why = check_target(ctx, g, n);
            if (why && why->kind == constraint::current_node) {
                why.reset(); // a stopped guest may start where it is
            }
            if (!why) {
                why = check_arrival(ctx, state, in, n);
            }
        }
        if (why) {
            rn.why = std::move(why);
            rest.push_back(rn);
            continue;
        }
        rn.fits = true;
        const node_id from = placed_somewhere ? gs->node : no_node;
        rn.objective_after =
            (placed_somewhere && n == gs->node) ? now : std::sqrt(obj.j_after(from, n, demand));
        ranked.push_back(rn);
    }
    // keep-ha-capacity: nodes where the guest leaves the HA guests as safe as they are now
    // come first. The guard sees the cluster as it stands, the guest on each candidate node.
    if (!ranked.empty() && ha_guard::asked(o) > 0) {
        // The guard moves the guest's demand between nodes, so it needs the guest as a record:
        // a new guest gets one in the guard's own copy of the cluster only (stopped, not
        // HA-managed; its node means nothing, survives_with places it).
        std::optional<cluster> with_new;
        guest_id gg = g;
        if (gs == nullptr) {
            with_new = c;
            guest ng;
            ng.vmid = c.guests.empty() ? 100 : c.guests.back().vmid + 1;
            ng.name = "new guest";
            ng.node = ranked.front().node;
            ng.status = "stopped";
            with_new->guests.push_back(ng);
            gg = static_cast<guest_id>(with_new->guests.size() - 1);
        }
        ha_guard guard(with_new ? *with_new : c, o);
        for (ranked_node &rn : ranked) {
            if (guard.keep() > 0 && !guard.survives_with(gg, rn.node, demand)) {
                rn.lowers_ha_capacity = guard.refusal();
            }
        }
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const ranked_node &x, const ranked_node &y) {
        if (x.lowers_ha_capacity.has_value() != y.lowers_ha_capacity.has_value()) {
            return !x.lowers_ha_capacity.has_value();
        }
        if (std::fabs(x.objective_after - y.objective_after) > 1e-12) {
            return x.objective_after < y.objective_after;
        }
        return x.node < y.node;
    });
    // Score 0..100: 100 for the best, scaled by how much worse the others leave the cluster.
    if (!ranked.empty()) {
        double best = ranked.front().objective_after, worst = best;
        for (const ranked_node &rn : ranked) {
            best = std::min(best, rn.objective_after);
            worst = std::max(worst, rn.objective_after);
        }
        for (ranked_node &rn : ranked) {
            rn.score = worst - best > 1e-12
                           ? 100.0 - 50.0 * (rn.objective_after - best) / (worst - best)
                           : 100.0;
            if (rn.lowers_ha_capacity) {
                rn.score *= 0.49; // below every node that keeps it (50 at least)
            }
        }
    }
    ans.nodes = ranked;
    ans.nodes.insert(ans.nodes.end(), rest.begin(), rest.end());
    return ans;
}

} // namespace pvebal
