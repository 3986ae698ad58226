// Failover: where the HA guests of failed nodes restart, in restart-priority order.
#include "recovery.h"

#include <algorithm>
#include <map>
#include <set>

namespace pvebal {

using namespace detail;

plan plan_failover(const cluster &c, const options &o, const std::vector<node_id> &failed_nodes,
                   bool all_guests) {
    plan p;
    p.kind = plan_kind::failover;
    p.drained = failed_nodes;
    std::sort(p.drained.begin(), p.drained.end());
    p.drained.erase(std::unique(p.drained.begin(), p.drained.end()), p.drained.end());
    std::vector<bool> failed(c.nodes.size(), false);
    for (node_id n : p.drained) {
        failed[n] = true;
    }
    recovery_solver solver(c, o, all_guests);
    deadline dl(o.deadline);
    solver.set_deadline(&dl);
    const load_view before = make_load_view(c, o);
    // An exhaustive search decides whether everyone can restart; large inputs get a budget.
    const long budget = 2'000'000;
    recovery_solver::answer out = solver.solve(failed, budget);

    // Waves: one per restart priority, highest first; steps in placement order.
    std::set<int, std::greater<int>> prios;
    for (const auto &[g, n] : out.placed) {
        prios.insert(solver.priority(g));
    }
    std::map<int, int> wave_of;
    int w = 0;
    for (int pr : prios) {
        wave_of[pr] = ++w;
    }
    std::vector<std::pair<guest_id, node_id>> placed = out.placed;
    std::stable_sort(placed.begin(), placed.end(), [&](const auto &x, const auto &y) {
        return wave_of[solver.priority(x.first)] < wave_of[solver.priority(y.first)];
    });
    int step = 0;
    for (const auto &[g, n] : placed) {
        migration m;
        m.step = ++step;
        m.wave = wave_of[solver.priority(g)];
        m.guest = g;
        m.from = c.guests[g].node;
        m.to = n;
        const bool runs = !solver.demand(g).is_zero();
        m.mode = runs ? migration_mode::restart : migration_mode::offline;
        m.ha = c.ha.find(g) != nullptr;
        m.cost.seconds = runs ? o.restart_downtime : 0;
        m.cost.downtime = runs ? o.restart_downtime : 0;
        m.reason = "recover from " + c.nodes[m.from].name + " (restart priority " +
                   std::to_string(solver.priority(g)) + ")";
        p.total.seconds += m.cost.seconds;
        p.total.downtime += m.cost.downtime;
        p.migrations.push_back(m);
    }
    p.waves = w;
    p.duration = w * o.restart_downtime;
    for (guest_id g : out.unplaced) {
        p.unplaced.push_back({g, solver.explain(failed, out, g)});
    }
    if (!out.proven && dl.hit()) {
        p.notes.push_back(dl.note("the search for an assignment that restarts every guest did "
                                  "not finish; the guests listed as unplaced may fit in a way "
                                  "not found"));
    } else if (!out.proven) {
        p.notes.push_back(
            "the search for an assignment that restarts every guest ran out of budget; "
            "the guests listed as unplaced may fit in a way not found");
    }
    if (out.placed.empty() && out.unplaced.empty()) {
        p.notes.push_back(
            all_guests
                ? "no running guest on the failed nodes"
                : "no HA-managed guest on the failed nodes (use --all-guests for the others)");
    } else if (out.unplaced.empty()) {
        p.notes.push_back("done: every guest restarts on a surviving node");
    } else {
        p.notes.push_back("done: " + std::to_string(out.unplaced.size()) +
                          " guest(s) cannot restart, listed in unplaced with the reasons");
    }
    // After: the failed nodes are gone, the placed guests run on their new nodes.
    cluster after_c = c;
    for (node_id n : p.drained) {
        after_c.nodes[n].online = false;
    }
    load_view after = solver.state().load();
    for (node_id n : p.drained) {
        after.used[n] = {}; // a failed node runs nothing
    }
    p.before = compute_metrics(c, before, o);
    p.after = compute_metrics(after_c, after, o);
    return p;
}

} // namespace pvebal
