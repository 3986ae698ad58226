// The brute-force reference of the HA property tests (ha_property_test.cpp): everything the
// failover and capacity answers must satisfy, derived from the model and the documented rules
// (support/rules.h), and an exhaustive search of guest -> node assignments. It never calls the
// engine's constraint code or the recovery solver; only the survivors' current usage comes from
// make_load_view.
#ifndef PVEBAL_TESTS_SUPPORT_HA_REFERENCE_H_
#define PVEBAL_TESTS_SUPPORT_HA_REFERENCE_H_

#include "support/rules.h"
#include "test_util.h"

#include "pvebal/load.h"
#include "pvebal/report.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pvebal::test::ha {

// Everything the reference needs, derived from the model and the documented rules.
struct reference {
    const cluster &c;
    const options &o;
    load_view v; // the survivors' usage before recovery
    std::vector<bool> needs, recoverable, runs;
    std::vector<int> prio;
    std::vector<res> demand; // what a restarted guest claims
    std::vector<std::vector<node_id>> pins;
    std::vector<int> together;           // group id or -1
    std::vector<std::vector<int>> apart; // group ids
    std::vector<int> node_rule;          // index into c.ha.node_affinity or -1
    std::vector<res> assigned;           // per node: vCPUs and memory of running guests

    reference(const cluster &cl, const options &op, bool all_guests)
        : c(cl), o(op), v(make_load_view(cl, op.mode)), needs(cl.guests.size()),
          recoverable(cl.guests.size(), true), runs(cl.guests.size()),
          prio(cl.guests.size(), op.default_priority), demand(cl.guests.size()),
          pins(cl.guests.size()), together(cl.guests.size(), -1), apart(cl.guests.size()),
          node_rule(cl.guests.size(), -1), assigned(cl.nodes.size()) {
        std::map<std::string, std::vector<guest_id>> tag_together, tag_apart;
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            const guest &gs = c.guests[g];
            const ha_resource *hr = c.ha.find(g);
            const bool managed = hr != nullptr && hr->state != "disabled" && hr->state != "ignored";
            needs[g] = managed || (all_guests && gs.running && !gs.is_template);
            // An HA-managed guest runs after recovery as its requested state says; any other
            // (--all-guests, also disabled or ignored HA resources) as it runs now.
            runs[g] = managed ? hr->state == "started" : gs.running;
            double cpu = 0;
            if (runs[g]) {
                if (o.mode == load_mode::assigned) {
                    cpu = gs.maxcpu;
                } else if (gs.running) {
                    cpu = std::min(gs.cpu, 1.0) * gs.maxcpu;
                }
                demand[g] = {cpu, static_cast<double>(gs.maxmem)};
            }
            if (!gs.local_resources.empty() || !gs.local_disk_volids.empty()) {
                recoverable[g] = false;
            }
            for (const guest_disk &d : gs.disks) {
                const storage_info *s = c.nodes[gs.node].find_storage(d.storage);
                if (!d.cdrom && s != nullptr && !s->shared) {
                    recoverable[g] = false;
                }
            }
            if (gs.running) {
                assigned[gs.node] += {gs.maxcpu, static_cast<double>(gs.maxmem)};
            }
            const tag_reading tags = read_tags(c, o, g);
            pins[g] = tags.pins;
            prio[g] = tags.priority.value_or(prio[g]);
            for (const std::string &name : tags.apart) {
                tag_apart[name].push_back(g);
            }
            for (const std::string &name : tags.together) {
                tag_together[name].push_back(g);
            }
        }
        // Keep-together: connected components of positive rules and affinity tags.
        std::vector<guest_id> parent(c.guests.size());
        std::iota(parent.begin(), parent.end(), 0u);
        std::function<guest_id(guest_id)> root = [&](guest_id x) {
            return parent[x] == x ? x : parent[x] = root(parent[x]);
        };
        std::vector<bool> member(c.guests.size(), false);
        auto join = [&](const std::vector<guest_id> &gs) {
            for (guest_id g : gs) {
                member[g] = true;
                parent[root(g)] = root(gs.front());
            }
        };
        for (const resource_affinity_rule &r : c.ha.resource_affinity) {
            if (r.positive) {
                join(r.guests);
            } else {
                for (guest_id g : r.guests) {
                    apart[g].push_back(static_cast<int>(&r - c.ha.resource_affinity.data()));
                }
            }
        }
        for (const auto &[name, gs] : tag_together) {
            if (gs.size() >= 2) {
                join(gs);
            }
        }
        int next_apart = static_cast<int>(c.ha.resource_affinity.size());
        for (const auto &[name, gs] : tag_apart) {
            if (gs.size() >= 2) {
                for (guest_id g : gs) {
                    apart[g].push_back(next_apart);
                }
                ++next_apart;
            }
        }
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            if (member[g]) {
                together[g] = static_cast<int>(root(g));
            }
        }
        for (size_t i = 0; i < c.ha.node_affinity.size(); ++i) {
            for (guest_id g : c.ha.node_affinity[i].guests) {
                BOOST_REQUIRE_MESSAGE(node_rule[g] < 0,
                                      "generator: a guest in two node-affinity rules");
                node_rule[g] = static_cast<int>(i);
            }
        }
    }

    std::vector<bool> alive(const std::vector<bool> &failed) const {
        std::vector<bool> a(c.nodes.size());
        for (node_id n = 0; n < c.nodes.size(); ++n) {
            a[n] = c.nodes[n].online && !c.nodes[n].maintenance && !failed[n];
        }
        return a;
    }
    std::vector<guest_id> candidates(const std::vector<bool> &failed) const {
        std::vector<guest_id> out;
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            if (needs[g] && failed[c.guests[g].node]) {
                out.push_back(g);
            }
        }
        return out;
    }
    double usable(node_id n) const {
        return usable_bytes(o, static_cast<double>(c.nodes[n].maxmem));
    }
    // Rules that do not depend on the other guests' new nodes: liveness, pins, HA node affinity
    // (highest surviving priority class), the migrate precondition and the positive-affinity
    // majority node of partners that already run on survivors.
    std::vector<node_id> allowed(guest_id g, const std::vector<bool> &alive_nodes,
                                 const std::vector<bool> &failed) const {
        std::optional<int> best;
        const node_affinity_rule *rule =
            node_rule[g] >= 0 ? &c.ha.node_affinity[static_cast<size_t>(node_rule[g])] : nullptr;
        auto klass = [&](node_id n) { return ha_rule_priority(*rule, n); };
        if (rule != nullptr) {
            for (node_id n = 0; n < c.nodes.size(); ++n) {
                if (alive_nodes[n] && klass(n) && (!best || *klass(n) > *best)) {
                    best = klass(n);
                }
            }
        }
        std::optional<node_id> majority;
        if (together[g] >= 0) {
            std::map<node_id, int> count;
            for (guest_id h = 0; h < c.guests.size(); ++h) {
                if (together[h] == together[g] && alive_nodes[c.guests[h].node] &&
                    !failed[c.guests[h].node]) {
                    ++count[c.guests[h].node];
                }
            }
            int top = 0;
            for (const auto &[n, k] : count) {
                if (k > top) {
                    top = k;
                    majority = n;
                }
            }
        }
        std::vector<node_id> out;
        for (node_id n = 0; n < c.nodes.size(); ++n) {
            if (!alive_nodes[n] || (majority && n != *majority)) {
                continue;
            }
            if (!pins[g].empty() && std::find(pins[g].begin(), pins[g].end(), n) == pins[g].end()) {
                continue;
            }
            if (rule != nullptr && (!klass(n) || *klass(n) < *best)) {
                continue;
            }
            if (precondition_blocks(c.guests[g], c.nodes[n])) {
                continue;
            }
            out.push_back(n);
        }
        return out;
    }

    // Can every guest of `which` (recoverable candidates of `failed`) restart at once?
    // Exhaustive depth-first search over guest -> node assignments.
    bool feasible(const std::vector<bool> &failed, std::vector<guest_id> which) const {
        const std::vector<bool> al = alive(failed);
        std::sort(which.begin(), which.end(), [&](guest_id x, guest_id y) {
            return demand[x][dimension::memory] != demand[y][dimension::memory]
                       ? demand[x][dimension::memory] > demand[y][dimension::memory]
                       : x < y;
        });
        std::vector<std::vector<node_id>> allow(c.guests.size());
        for (guest_id g : which) {
            allow[g] = allowed(g, al, failed);
            if (allow[g].empty()) {
                return false;
            }
        }
        std::vector<node_id> pos(c.guests.size());
        for (guest_id g = 0; g < c.guests.size(); ++g) {
            pos[g] = al[c.guests[g].node] ? c.guests[g].node : no_node; // dead nodes hold nobody
        }
        for (guest_id g : which) {
            pos[g] = no_node; // not yet assigned
        }
        std::vector<res> add(c.nodes.size()), add_assigned(c.nodes.size());
        std::function<bool(size_t)> dfs = [&](size_t i) -> bool {
            if (i == which.size()) {
                return true;
            }
            const guest_id g = which[i];
            const guest &gs = c.guests[g];
            for (node_id n : allow[g]) {
                if (!fits(g, n, add, add_assigned)) {
                    continue;
                }
                bool ok = true;
                for (guest_id h = 0; h < c.guests.size() && ok; ++h) {
                    if (h == g || pos[h] == no_node) {
                        continue;
                    }
                    if (together[g] >= 0 && together[h] == together[g] && failed[gs.node] &&
                        failed[c.guests[h].node] &&
                        std::find(which.begin(), which.end(), h) != which.end() && pos[h] != n) {
                        ok = false; // recovering partners restart on one node
                    }
                    if (pos[h] == n) {
                        for (int k : apart[g]) {
                            if (std::find(apart[h].begin(), apart[h].end(), k) != apart[h].end()) {
                                ok = false;
                            }
                        }
                    }
                }
                if (!ok) {
                    continue;
                }
                pos[g] = n;
                add[n] += demand[g];
                if (runs[g]) {
                    add_assigned[n] += {gs.maxcpu, static_cast<double>(gs.maxmem)};
                }
                if (dfs(i + 1)) {
                    return true;
                }
                pos[g] = no_node;
                add[n] -= demand[g];
                if (runs[g]) {
                    add_assigned[n] -= {gs.maxcpu, static_cast<double>(gs.maxmem)};
                }
            }
            return false;
        };
        return dfs(0);
    }

    // Whether g may join what already arrives at n (limits only).
    bool fits(guest_id g, node_id n, const std::vector<res> &add,
              const std::vector<res> &add_assigned) const {
        const guest &gs = c.guests[g];
        const res as = runs[g] ? res_of(gs.maxcpu, static_cast<double>(gs.maxmem)) : res{};
        return fits_load(n, demand[g], as, runs[g], add, add_assigned);
    }

    // Whether a whole unit (guests that restart together) fits on n on top of `add` (limits only).
    bool fits_unit(const std::vector<guest_id> &unit, node_id n, const std::vector<res> &add,
                   const std::vector<res> &add_assigned) const {
        res d, as;
        bool runs_any = false;
        for (guest_id g : unit) {
            d += demand[g];
            if (runs[g]) {
                as += {c.guests[g].maxcpu, static_cast<double>(c.guests[g].maxmem)};
                runs_any = true;
            }
        }
        return fits_load(n, d, as, runs_any, add, add_assigned);
    }

    // The one room check: demand d (and assigned vCPUs/memory `as` when it runs) on top of what
    // n has and what already arrives there.
    bool fits_load(node_id n, const res &d, const res &as, bool runs_any,
                   const std::vector<res> &add, const std::vector<res> &add_assigned) const {
        const res cap = v.capacity[n];
        if (d[dimension::memory] > 0 &&
            v.used[n][dimension::memory] + add[n][dimension::memory] + d[dimension::memory] >
                usable(n)) {
            return false;
        }
        if (d[dimension::cpu] > 0 &&
            v.used[n][dimension::cpu] + add[n][dimension::cpu] + d[dimension::cpu] >
                o.cpu_limit * cap[dimension::cpu]) {
            return false;
        }
        if (runs_any && o.max_vcpu_ratio &&
            assigned[n][dimension::cpu] + add_assigned[n][dimension::cpu] + as[dimension::cpu] >
                *o.max_vcpu_ratio * cap[dimension::cpu]) {
            return false;
        }
        if (runs_any && o.max_memory_ratio &&
            assigned[n][dimension::memory] + add_assigned[n][dimension::memory] +
                    as[dimension::memory] >
                *o.max_memory_ratio * cap[dimension::memory]) {
            return false;
        }
        return true;
    }

    // The restart priority of a guest's unit (a keep-together group counts with its highest).
    int unit_priority(guest_id g, const std::vector<guest_id> &recovering) const {
        int p = prio[g];
        if (together[g] >= 0) {
            for (guest_id h : recovering) {
                if (together[h] == together[g]) {
                    p = std::max(p, prio[h]);
                }
            }
        }
        return p;
    }
};

// Checks a failover plan against the reference: coverage, every hard constraint on the final
// state, and (with the brute force) that nobody is left out who could restart. Returns a list
// of problems (empty: fine).
inline std::vector<std::string> check_failover(const reference &ref,
                                               const std::vector<bool> &failed, const plan &p,
                                               int *feasible_all = nullptr) {
    const cluster &c = ref.c;
    std::vector<std::string> err;
    auto vm = [&](guest_id g) { return "vm " + std::to_string(c.guests[g].vmid); };
    const std::vector<bool> al = ref.alive(failed);
    const std::vector<guest_id> cands = ref.candidates(failed);
    std::set<guest_id> cand_set(cands.begin(), cands.end()), seen;
    std::vector<node_id> pos(c.guests.size(), no_node);
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        pos[g] = c.guests[g].node;
    }
    std::vector<res> add(c.nodes.size()), add_assigned(c.nodes.size());
    for (const migration &m : p.migrations) {
        const guest_id g = m.guest;
        if (!cand_set.count(g)) {
            err.push_back(vm(g) + " moves but is not a guest to recover");
            continue;
        }
        if (!seen.insert(g).second) {
            err.push_back(vm(g) + " moves twice");
        }
        if (!ref.recoverable[g]) {
            err.push_back(vm(g) + " is unrecoverable but moves");
        }
        if (m.from != c.guests[g].node) {
            err.push_back(vm(g) + " leaves the wrong node");
        }
        const std::vector<node_id> allow = ref.allowed(g, al, failed);
        if (std::find(allow.begin(), allow.end(), m.to) == allow.end()) {
            err.push_back(vm(g) + " restarts on " + c.nodes[m.to].name +
                          ", which its rules do not allow");
        }
        const bool zero =
            ref.demand[g][dimension::memory] == 0 && ref.demand[g][dimension::cpu] == 0;
        if ((m.mode == migration_mode::offline) != zero) {
            err.push_back(vm(g) + " has mode restart/offline the wrong way round");
        }
        pos[g] = m.to;
        add[m.to] += ref.demand[g];
        if (ref.runs[g]) {
            add_assigned[m.to] += {c.guests[g].maxcpu, static_cast<double>(c.guests[g].maxmem)};
        }
    }
    for (const unplaced_guest &u : p.unplaced) {
        if (!cand_set.count(u.guest)) {
            err.push_back(vm(u.guest) + " is unplaced but is not a guest to recover");
        }
        if (!seen.insert(u.guest).second) {
            err.push_back(vm(u.guest) + " is both placed and unplaced, or unplaced twice");
        }
        if (u.reasons.empty()) {
            err.push_back(vm(u.guest) + " is unplaced without a reason");
        }
    }
    if (seen.size() != cand_set.size()) {
        err.push_back("placed + unplaced != guests to recover");
    }
    // Limits on the final state.
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        if (!al[n]) {
            continue;
        }
        const res cap = ref.v.capacity[n];
        const res used = ref.v.used[n] + add[n];
        if (add[n][dimension::memory] > 0 && used[dimension::memory] > ref.usable(n) + 1e-3) {
            err.push_back(c.nodes[n].name + ": memory above the usable limit");
        }
        if (add[n][dimension::cpu] > 0 &&
            used[dimension::cpu] > ref.o.cpu_limit * cap[dimension::cpu] + 1e-9) {
            err.push_back(c.nodes[n].name + ": CPU above cpu-limit");
        }
        if (add_assigned[n][dimension::cpu] > 0 && ref.o.max_vcpu_ratio &&
            ref.assigned[n][dimension::cpu] + add_assigned[n][dimension::cpu] >
                *ref.o.max_vcpu_ratio * cap[dimension::cpu] + 1e-9) {
            err.push_back(c.nodes[n].name + ": above max-vcpu-ratio");
        }
        if (add_assigned[n][dimension::memory] > 0 && ref.o.max_memory_ratio &&
            ref.assigned[n][dimension::memory] + add_assigned[n][dimension::memory] >
                *ref.o.max_memory_ratio * cap[dimension::memory] + 1e-3) {
            err.push_back(c.nodes[n].name + ": above max-memory-ratio");
        }
    }
    // Keep-apart on the survivors, keep-together among the recovered.
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        for (guest_id h = g + 1; h < c.guests.size(); ++h) {
            if (pos[g] != pos[h] || !al[pos[g]] || (!seen.count(g) && !seen.count(h))) {
                continue;
            }
            for (int k : ref.apart[g]) {
                if (std::find(ref.apart[h].begin(), ref.apart[h].end(), k) != ref.apart[h].end()) {
                    err.push_back(vm(g) + " and " + vm(h) + " are kept apart but share " +
                                  c.nodes[pos[g]].name);
                }
            }
        }
    }
    for (guest_id g : cands) {
        for (guest_id h : cands) {
            const bool moved = pos[g] != c.guests[g].node || pos[h] != c.guests[h].node;
            if (g < h && ref.together[g] >= 0 && ref.together[g] == ref.together[h] &&
                ref.recoverable[g] && ref.recoverable[h] && moved && pos[g] != pos[h]) {
                err.push_back(vm(g) + " and " + vm(h) +
                              " are kept together but restart apart (or one is left out)");
            }
        }
    }
    // Nobody is left out who fits in the final state (the fast pass would have taken it), and
    // no reason claims "priority" for a node where the guest could not go anyway.
    for (const unplaced_guest &u : p.unplaced) {
        const guest_id g = u.guest;
        if (!ref.recoverable[g] || !cand_set.count(g)) {
            continue;
        }
        std::vector<guest_id> unit{g};
        if (ref.together[g] >= 0) {
            unit.clear();
            for (guest_id h : cands) {
                if (ref.recoverable[h] && ref.together[h] == ref.together[g]) {
                    unit.push_back(h);
                }
            }
        }
        for (node_id n : ref.allowed(g, al, failed)) {
            bool ok = ref.fits_unit(unit, n, add, add_assigned);
            for (guest_id x : unit) {
                const std::vector<node_id> ax = ref.allowed(x, al, failed);
                ok = ok && std::find(ax.begin(), ax.end(), n) != ax.end();
                for (guest_id h = 0; h < c.guests.size() && ok; ++h) {
                    if (h != x && pos[h] == n) {
                        for (int k : ref.apart[x]) {
                            if (std::find(ref.apart[h].begin(), ref.apart[h].end(), k) !=
                                ref.apart[h].end()) {
                                ok = false;
                            }
                        }
                    }
                }
            }
            if (ok) {
                err.push_back(vm(g) + " is left out but fits on " + c.nodes[n].name +
                              " in the final state");
            }
        }
        for (const node_rejection &r : u.reasons) {
            if (r.why.kind == "priority") {
                err.push_back(vm(g) + ": reason 'priority' on " +
                              (r.node ? c.nodes[*r.node].name : "-"));
            }
        }
    }
    // Priority classes: for the lowest p such that every recoverable guest of priority >= p
    // can restart at once, the engine restarts all of them.
    std::vector<guest_id> rec;
    for (guest_id g : cands) {
        if (ref.recoverable[g]) {
            rec.push_back(g);
        }
    }
    std::set<int, std::greater<int>> classes;
    for (guest_id g : rec) {
        classes.insert(ref.unit_priority(g, rec));
    }
    bool all_feasible = true;
    for (int cls : classes) {
        std::vector<guest_id> which;
        for (guest_id g : rec) {
            if (ref.unit_priority(g, rec) >= cls) {
                which.push_back(g);
            }
        }
        if (!ref.feasible(failed, which)) {
            all_feasible = false;
            break;
        }
        for (guest_id g : which) {
            if (pos[g] == c.guests[g].node) {
                err.push_back(vm(g) + " (priority " + std::to_string(ref.unit_priority(g, rec)) +
                              ") is left out although every guest of priority >= " +
                              std::to_string(cls) + " can restart (brute force)");
            }
        }
    }
    if (feasible_all != nullptr) {
        *feasible_all = all_feasible ? 1 : 0;
    }
    for (const std::string &note : p.notes) {
        if (note.find("budget") != std::string::npos) {
            err.push_back("the search ran out of budget on a small cluster");
        }
    }
    return err;
}

} // namespace pvebal::test::ha

#endif
