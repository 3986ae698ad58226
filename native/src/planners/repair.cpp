// Repair first: before balancing, `plan` restores the hard rules and limits the cluster already
// breaks (docs/constraints.md, "Repair first"). One violation at a time, in find_violations'
// order; each repair is one unit move to a target that passes every check of the registry
// with relief moves off, so it breaks no other rule and makes no violation worse, in the final
// state as in flight (the ordering checks the same units against every intermediate state).
#include "common.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>

namespace pvebal::detail {

namespace {

std::string label(const cluster &c, guest_id g) {
    return (c.guests[g].type == guest_type::qemu ? "vm " : "ct ") +
           std::to_string(c.guests[g].vmid);
}

bool enabled(const options &o, constraint k) {
    switch (k) {
    case constraint::affinity:
        return o.repair.affinity;
    case constraint::anti_affinity:
        return o.repair.anti_affinity;
    case constraint::pin:
        return o.repair.pin;
    case constraint::ha_node_affinity:
        return o.repair.ha_node_affinity;
    case constraint::memory:
        return o.repair.memory;
    case constraint::cpu:
        return o.repair.cpu;
    case constraint::vcpu_ratio:
        return o.repair.vcpu_ratio;
    case constraint::memory_ratio:
        return o.repair.memory_ratio;
    default:
        return false;
    }
}

// A violation is the same one while its kind, node, group and first guest are.
using violation_key = std::tuple<constraint, node_id, int, guest_id>;
violation_key key_of(const violation &v) {
    return {v.kind, v.node.value_or(no_node), v.group, v.guests.empty() ? 0 : v.guests.front()};
}

// A candidate repair: a unit to a target, ranked by (resolves the violation, share given
// back for a limit, objective after), then unit index and node id.
struct candidate {
    size_t unit = 0;
    node_id to = no_node;
    bool resolves = true;
    double share = 0;
    double j = 0;

    bool better_than(const candidate &o) const {
        constexpr double eps = 1e-12;
        if (resolves != o.resolves) {
            return resolves;
        }
        if (!resolves && std::fabs(share - o.share) > eps) {
            return share > o.share; // not enough anywhere: give back as much as one move can
        }
        if (std::fabs(j - o.j) > eps) {
            return j < o.j;
        }
        return std::tie(unit, to) < std::tie(o.unit, o.to);
    }
};

class repairer {
public:
    repairer(decision_context &ctx, overlay &state, std::vector<unit> &units,
             std::vector<bool> &frozen)
        : ctx_(ctx), c_(ctx.c), state_(state), units_(units), frozen_(frozen),
          unit_of_(ctx.c.guests.size(), SIZE_MAX) {
        for (size_t i = 0; i < units_.size(); ++i) {
            for (guest_id g : units_[i].guests) {
                unit_of_[g] = i;
            }
        }
    }

    std::optional<candidate> best_for(const violation &v, std::string &why);
    void apply(const violation &v, const candidate &cand, repair_outcome &out);

private:
    // The best target of unit i (or nothing); `why` gets the first reason a node refused.
    void consider(size_t i, bool resolves, double share, std::optional<candidate> &best,
                  std::string &why) const;

    decision_context &ctx_;
    const cluster &c_;
    overlay &state_;
    std::vector<unit> &units_;
    std::vector<bool> &frozen_;
    std::vector<size_t> unit_of_; // SIZE_MAX: the guest never moves (or its group cannot)
};

void repairer::consider(size_t i, bool resolves, double share, std::optional<candidate> &best,
                        std::string &why) const {
    const unit &u = units_[i];
    const objective_state &obj = state_.objective();
    if (u.allowed.empty() && why.empty()) {
        why = "no node passes " + label(c_, u.guests.front()) + "'s rules";
    }
    for (node_id n : u.allowed) {
        if (auto r = check_state(ctx_, state_, u.guests, n, why.empty())) {
            if (why.empty()) {
                why = r->message;
            }
            continue;
        }
        candidate cand{i, n, resolves, share, obj.j_after(u.node, n, u.demand)};
        if (!best || cand.better_than(*best)) {
            best = cand;
        }
    }
}

std::optional<candidate> repairer::best_for(const violation &v, std::string &why) {
    std::optional<candidate> best;
    auto movable = [&](guest_id g) -> std::optional<size_t> {
        const size_t i = unit_of_[g];
        if (i == SIZE_MAX) {
            if (why.empty()) {
                std::vector<rejection> r = immovable_reasons(ctx_, g);
                why = label(c_, g) + " cannot move" +
                      (r.empty() ? std::string(" without its keep-together group")
                                 : ": " + r.front().message);
            }
            return std::nullopt;
        }
        if (frozen_[i]) {
            if (why.empty()) {
                why = label(c_, g) + " has moved already in this plan";
            }
            return std::nullopt;
        }
        return i;
    };
    switch (v.kind) {
    case constraint::pin:
    case constraint::ha_node_affinity:
        if (auto i = movable(v.guests.front())) {
            consider(*i, true, 0, best, why);
        }
        break;
    case constraint::affinity: {
        // The parts away from the group's home go home, one per repair.
        std::set<size_t> parts;
        for (guest_id g : v.guests) {
            const size_t i = unit_of_[g];
            if (i != SIZE_MAX && units_[i].home && *units_[i].home != units_[i].node) {
                parts.insert(i);
            } else if (i == SIZE_MAX) {
                movable(g);
            }
        }
        for (size_t i : parts) {
            if (!frozen_[i]) {
                consider(i, true, 0, best, why);
            }
        }
        if (parts.empty() && why.empty()) {
            why = "no part of the group can gather on its home";
        }
        break;
    }
    case constraint::anti_affinity:
        for (guest_id g : v.guests) {
            if (auto i = movable(g)) {
                consider(*i, true, 0, best, why);
            }
        }
        break;
    default: { // node limits: a unit on the node gives its share back
        const node_id n = *v.node;
        bool any = false;
        for (size_t i = 0; i < units_.size(); ++i) {
            if (frozen_[i] || state_.node_of(units_[i].guests.front()) != n) {
                continue;
            }
            const double share = limit_share(ctx_, state_, v.kind, units_[i].guests);
            if (share <= 0) {
                continue;
            }
            any = true;
            consider(i, share >= v.excess, share, best, why);
        }
        if (!any) {
            why = "no guest on " + c_.nodes[n].name + " can move";
        }
        break;
    }
    }
    return best;
}

void repairer::apply(const violation &v, const candidate &cand, repair_outcome &out) {
    unit &u = units_[cand.unit];
    const node_id from = u.node;
    state_.move(u.guests, cand.to);
    u.node = cand.to;
    frozen_[cand.unit] = true;
    if (v.kind == constraint::affinity) {
        // The group gathers where it is: no part of it leaves again in this plan.
        for (size_t i = 0; i < units_.size(); ++i) {
            if (ctx_.a.together[units_[i].guests.front()] == v.group) {
                frozen_[i] = true;
            }
        }
    }
    out.migrations += static_cast<unsigned>(u.guests.size());
    // Repairs come first in the ordering's eyes too: it drops the least valuable move first.
    constexpr double must = 1e9;
    std::string reason = std::string("repairs ") + constraint_name(v.kind) + ": " + v.message;
    if (u.guests.size() > 1) {
        reason += " (moves with its affinity group)";
    }
    out.moves.push_back({u.guests, from, cand.to, must, reason, false, v.kind});
}

} // namespace

repair_outcome plan_repairs(decision_context &ctx, overlay &state, std::vector<unit> &units,
                            std::vector<bool> &frozen, unsigned budget, deadline &dl) {
    repair_outcome out;
    // A repair makes nothing worse: no relief move above cpu-limit while repairs are planned.
    struct relief_off {
        decision_context &ctx;
        bool was;
        ~relief_off() { ctx.cpu_relief = was; }
    } restore{ctx, ctx.cpu_relief};
    ctx.cpu_relief = false;

    repairer r(ctx, state, units, frozen);
    std::set<violation_key> given_up;
    // Ends: each round moves a unit that has not moved yet, or gives up a violation of the
    // unchanged placement.
    for (;;) {
        std::vector<violation> open;
        for (violation &v : find_violations(ctx, state)) {
            if (enabled(ctx.o, v.kind) && !given_up.count(key_of(v))) {
                open.push_back(std::move(v));
            }
        }
        if (open.empty()) {
            break;
        }
        if (dl.expired()) {
            out.notes.push_back(
                dl.note(std::to_string(open.size()) + " broken rule(s) or limit(s) not repaired"));
            break;
        }
        const violation &v = open.front();
        std::string why;
        std::optional<candidate> cand = r.best_for(v, why);
        if (cand && out.migrations + units[cand->unit].guests.size() > budget) {
            for (const violation &left : open) {
                out.notes.push_back(std::string("not repaired (max-migrations reached): ") +
                                    constraint_name(left.kind) + ": " + left.message);
            }
            break;
        }
        if (!cand) {
            given_up.insert(key_of(v));
            out.notes.push_back(std::string("cannot repair ") + constraint_name(v.kind) + ": " +
                                v.message + ": " + (why.empty() ? "no move found" : why));
            continue;
        }
        r.apply(v, *cand, out);
    }
    return out;
}

} // namespace pvebal::detail
