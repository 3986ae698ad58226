// Evacuate: drain nodes for maintenance. Units leave largest first (first-fit decreasing by
// dominant share) to the node that keeps the rest of the cluster most balanced; a unit that
// fits nowhere may make room by moving one guest off a target; what still cannot move is
// reported with a reason per node.
#include "common.h"
#include "ha_guard.h"

#include "pvebal/deadline.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace pvebal {

using namespace detail;

namespace {

std::string label(const cluster &c, guest_id g) {
    return (c.guests[g].type == guest_type::qemu ? "vm " : "ct ") +
           std::to_string(c.guests[g].vmid);
}

} // namespace

plan plan_evacuate(const cluster &c_in, const options &o, const std::vector<node_id> &drain) {
    plan p;
    p.kind = plan_kind::evacuate;
    p.drained = drain;
    std::sort(p.drained.begin(), p.drained.end());
    p.drained.erase(std::unique(p.drained.begin(), p.drained.end()), p.drained.end());

    // The drained nodes are in maintenance from now on: never a target, not in the metrics.
    cluster c = c_in;
    std::vector<bool> drained(c.nodes.size(), false);
    for (node_id n : p.drained) {
        drained[n] = true;
        c.nodes[n].maintenance = true;
    }
    const affinity_groups a = compile_affinity(c, o);
    const decision_context ctx(c, o, a);
    overlay state(c, o, a, active_nodes(c));
    const objective_state &obj = state.objective();
    const load_view before_view = make_load_view(c_in, o);

    std::vector<bool> include(c.guests.size(), false);
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        if (!drained[c.guests[g].node]) {
            continue;
        }
        std::vector<rejection> why = immovable_reasons(ctx, g);
        if (why.empty()) {
            include[g] = true;
            continue;
        }
        unplaced_guest u{g, {}};
        for (rejection &r : why) {
            u.reasons.push_back({std::nullopt, std::move(r)});
        }
        p.unplaced.push_back(std::move(u));
    }
    std::vector<unit> units = build_units(ctx, include);
    // Movable guests without a unit: a keep-together partner on their node cannot move.
    std::vector<bool> in_unit(c.guests.size(), false);
    for (const unit &u : units) {
        for (guest_id g : u.guests) {
            in_unit[g] = true;
        }
    }
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        if (!include[g] || in_unit[g]) {
            continue;
        }
        unplaced_guest up{g, {}};
        for (guest_id h = 0; h < c.guests.size(); ++h) {
            if (h != g && a.together[h] == a.together[g] && c.guests[h].node == c.guests[g].node &&
                !include[h]) {
                up.reasons.push_back({std::nullopt,
                                      {constraint::affinity,
                                       "kept together with " + c.guests[h].sid() + " (" +
                                           a.together_names[static_cast<size_t>(a.together[g])] +
                                           "), which cannot move"}});
            }
        }
        p.unplaced.push_back(std::move(up));
    }
    // Largest dominant share first; stopped guests (no demand) last; then by vmid.
    auto share = [&](const unit &u) {
        res total;
        for (node_id n = 0; n < c.nodes.size(); ++n) {
            if (obj.active(n)) {
                total += state.load().capacity[n];
            }
        }
        return dominant_share(u.demand, total);
    };
    std::stable_sort(units.begin(), units.end(),
                     [&](const unit &x, const unit &y) { return share(x) > share(y); });

    std::vector<planned_move> moves;
    std::vector<bool> moved(c.guests.size(), false);
    deadline dl(o.deadline);
    size_t room_skipped = 0; // units whose make-room search the deadline cut
    auto fits = [&](const std::vector<guest_id> &gs, node_id n) {
        return !check_state(ctx, state, gs, n, false);
    };
    auto place = [&](const std::vector<guest_id> &gs, node_id from, node_id to,
                     const std::string &why) {
        state.move(gs, to);
        for (guest_id g : gs) {
            moved[g] = true;
        }
        moves.push_back({gs, from, to, 1.0, why, false, std::nullopt});
    };
    // Units that are not being evacuated, for making room.
    std::vector<unit> others;
    {
        std::vector<bool> other_include(c.guests.size(), false);
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            other_include[g] = !drained[c.guests[g].node] && c.nodes[c.guests[g].node].online &&
                               immovable_reasons(ctx, g).empty();
        }
        others = build_units(ctx, other_include);
        std::stable_sort(others.begin(), others.end(), [&](const unit &x, const unit &y) {
            return x.demand[dimension::memory] <
                   y.demand[dimension::memory]; // smallest first: cheapest room
        });
    }
    // Per node, in that order: the make-room search looks only at the target's own guests.
    std::vector<std::vector<size_t>> others_on(c.nodes.size());
    for (size_t k = 0; k < others.size(); ++k) {
        others_on[others[k].node].push_back(k);
    }

    // N+k-safe waves: the drained nodes count as down already (they are never a failure to
    // survive); the guests leaving them must not leave the rest unable to absorb the failures
    // the HA guests survive now. Targets are chosen to keep it too.
    std::optional<ha_guard> guard;
    if (ha_guard::asked(o) > 0) {
        guard.emplace(c, o, &dl);
    }
    // The best target of a unit as the state stands (no_node: none fits), with every fitting
    // target and its objective.
    std::vector<std::pair<double, node_id>> fitting;
    auto best_target = [&](const unit &u) {
        node_id best = no_node;
        double best_j = 0;
        fitting.clear();
        for (node_id n : u.allowed) {
            if (!fits(u.guests, n)) {
                continue;
            }
            // A stopped unit changes nothing: prefer the node with the most free memory.
            const double j = u.demand.is_zero()
                                 ? state.load().used[n][dimension::memory] /
                                       std::max(1.0, state.load().capacity[n][dimension::memory])
                                 : obj.j_after(u.node, n, u.demand);
            fitting.emplace_back(j, n);
            if (best == no_node || j < best_j - 1e-15) {
                best = n;
                best_j = j;
            }
        }
        return best;
    };
    if (guard && guard->keep() > 0) {
        // One check of where the units go to their best targets: when that passes, each state
        // on the way there (fewer guests arrived) passes without a check of its own
        // (ha_guard::survives_as_reference); otherwise the checks below decide as they would.
        auto t = state.begin_trial();
        for (const unit &u : units) {
            if (const node_id best = best_target(u); best != no_node) {
                state.move(u.guests, best);
            }
        }
        guard->survives_as_reference(state.load().placement);
    }
    for (const unit &u : units) {
        node_id best = best_target(u);
        if (guard && guard->keep() > 0 && fitting.size() > 1) {
            // keep-ha-capacity: the best target after which the HA guests still survive the
            // failures kept (in the final state; the ordering checks every wave again). None:
            // the best, and the wave check decides.
            std::sort(fitting.begin(), fitting.end());
            std::stable_partition(fitting.begin(), fitting.end(),
                                  [&](const auto &x) { return x.second == best; });
            for (const auto &[j, n] : fitting) {
                auto t = state.begin_trial();
                state.move(u.guests, n);
                const bool ok = guard->survives(state.load().placement);
                t.undo();
                if (ok) {
                    best = n;
                    break;
                }
                if (guard->unchecked()) {
                    break; // the deadline: the wave check ends the plan
                }
            }
        }
        if (best != no_node) {
            place(u.guests, u.node, best, "evacuate " + c.nodes[u.node].name);
            continue;
        }
        // Make room: move one guest off an allowed node to a third node (not after the deadline:
        // the unit is reported with its reasons, as one that fits nowhere).
        struct room {
            size_t other;
            node_id target;
            node_id third;
            double j;
        };
        std::optional<room> found;
        const bool searching = !dl.expired();
        room_skipped += searching ? 0 : 1;
        const std::vector<node_id> none;
        for (node_id n : searching ? u.allowed : none) {
            for (size_t k : others_on[n]) {
                if (found) {
                    break;
                }
                const unit &h = others[k];
                if (std::any_of(h.guests.begin(), h.guests.end(),
                                [&](guest_id g) { return moved[g]; })) {
                    continue;
                }
                // Necessary for u to fit once h has left (the memory unit), with a byte of
                // margin for rounding: h too small to make room is skipped without a trial.
                if (u.demand[dimension::memory] > 0 &&
                    state.load().used[n][dimension::memory] - h.demand[dimension::memory] +
                            u.demand[dimension::memory] >
                        usable_memory(o, c.nodes[n], state.load().capacity[n][dimension::memory]) +
                            1.0) {
                    continue;
                }
                for (node_id m : h.allowed) {
                    if (m == n || drained[m] || !fits(h.guests, m)) {
                        continue;
                    }
                    // h to m as a trial (the objective follows; the scope undoes it exactly).
                    auto t = state.begin_trial();
                    state.move(h.guests, m);
                    if (fits(u.guests, n)) {
                        const double j = obj.j_after(u.node, n, u.demand);
                        if (!found || j < found->j - 1e-15) {
                            found = room{k, n, m, j};
                        }
                    }
                }
            }
        }
        if (found) {
            const unit &h = others[found->other];
            place(h.guests, h.node, found->third,
                  "makes room on " + c.nodes[found->target].name + " for " +
                      label(c, u.guests.front()));
            place(u.guests, u.node, found->target, "evacuate " + c.nodes[u.node].name);
            continue;
        }
        // Nowhere: one reason per node.
        for (guest_id g : u.guests) {
            unplaced_guest up{g, {}};
            for (node_id n = 0; n < c.nodes.size(); ++n) {
                if (n == u.node) {
                    continue;
                }
                std::optional<rejection> r = check_target(ctx, g, n);
                // A unit goes together: a partner that may not go there keeps this guest out too.
                for (guest_id h : u.guests) {
                    if (r) {
                        break;
                    }
                    if (auto rh = h != g ? check_target(ctx, h, n) : std::nullopt) {
                        r = rejection{constraint::affinity,
                                      "moves with " + c.guests[h].sid() + " (" +
                                          a.together_names[static_cast<size_t>(a.together[g])] +
                                          "), which may not go there: " + rh->message};
                    }
                }
                if (!r && a.together[g] != no_group &&
                    !std::binary_search(u.allowed.begin(), u.allowed.end(), n)) {
                    r = rejection{constraint::affinity,
                                  "its keep-together group (" +
                                      a.together_names[static_cast<size_t>(a.together[g])] +
                                      ") gathers on another node"};
                }
                if (!r) {
                    r = check_state(ctx, state, u.guests, n, true);
                }
                if (r) {
                    up.reasons.push_back({n, *r});
                }
            }
            p.unplaced.push_back(std::move(up));
        }
    }
    std::sort(p.unplaced.begin(), p.unplaced.end(),
              [](const unplaced_guest &x, const unplaced_guest &y) { return x.guest < y.guest; });
    if (room_skipped > 0) {
        p.notes.push_back(dl.note("no room was made for " + std::to_string(room_skipped) +
                                  " guest unit(s) that fit nowhere as the cluster stands; they "
                                  "are listed as unplaced and may fit with more time"));
    }

    overlay ordering_state(c, o, a);
    order_moves(ctx, ordering_state, moves, p, guard ? guard->waves() : wave_check{});
    // A dropped evacuation move leaves its guest behind: report it as unplaced too.
    for (const dropped_move &d : p.dropped) {
        if (drained[d.from]) {
            p.unplaced.push_back({d.guest, {{d.to, {constraint::ordering, d.reason}}}});
        }
    }
    std::sort(p.unplaced.begin(), p.unplaced.end(),
              [](const unplaced_guest &x, const unplaced_guest &y) { return x.guest < y.guest; });
    // Why it stopped (stable wording).
    std::string names;
    size_t on_drained = 0;
    for (node_id n : p.drained) {
        names += (names.empty() ? "" : ", ") + c.nodes[n].name;
    }
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        on_drained += drained[c.guests[g].node] ? 1 : 0;
    }
    if (on_drained == 0) {
        p.notes.push_back("nothing to evacuate: no guest on " + names);
    } else if (p.unplaced.empty()) {
        p.notes.push_back("done: every guest leaves " + names);
    } else {
        p.notes.push_back("done: " + std::to_string(p.unplaced.size()) + " guest(s) stay on " +
                          names + ", listed in unplaced with the reasons");
    }
    finish_plan(c_in, c, o, before_view, ordering_state.load(), p);
    return p;
}

} // namespace pvebal
