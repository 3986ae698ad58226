#include "planners.h"
#include "rule_index.h"

#include "pvebal/hacompat.h"
#include "pvebal/io.h"
#include "pvebal/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace bench {

bool movable(const Scenario &s, int g) {
    return !s.guests[static_cast<size_t>(g)].lxc;
}

// --- ours --------------------------------------------------------------------------------------

PlanOut plan_ours(const Scenario &s, const std::vector<int> &place,
                  const std::string &options_json) {
    PlanOut out;
    const std::string text = to_json(s, place, options_json);
    auto snap = pvebal::read_snapshot(text);
    if (!snap) {
        throw std::runtime_error(s.name + ": snapshot rejected: " + snap.error().to_string());
    }
    if (auto ok = pvebal::bind_options(snap->c, snap->opts); !ok) {
        throw std::runtime_error(s.name + ": options rejected: " + ok.error().to_string());
    }
    const double t0 = now_ms();
    const pvebal::plan p = pvebal::plan_balance(snap->c, snap->opts);
    out.ms = now_ms() - t0;
    for (const pvebal::migration &m : p.migrations) {
        if (snap->c.guests[m.guest].vmid != s.guests[m.guest].vmid) {
            throw std::runtime_error("guest order differs from the engine's");
        }
        out.moves.push_back(
            {static_cast<int>(m.guest), static_cast<int>(m.from), static_cast<int>(m.to), m.wave});
    }
    out.engine_objective_after = p.after.objective;
    out.status = p.notes.empty() ? "" : p.notes.front();
    return out;
}

// --- ProxLB-style greedy ------------------------------------------------------------------------
//
// Re-implemented from the description of ProxLB's calculations.py (anchors §1.1.3):
//  - node value = <method>_used_percent; balance when (max - min) > balanciness;
//  - affinity groups (keep-together rules; every other guest its own group) sorted by member
//    count, then group memory (ascending unless balance_larger_guests_first); stable otherwise
//    (singleton groups carry random names upstream; we keep dict order);
//  - per group: stop when balanced; target = least-loaded node; per guest: stop the group if the
//    guest's node is not the most loaded node; skip if guest memory used >= target memory free;
//    anti-affinity overwrites the target with the first node (dict order) not yet used by the
//    group (used_nodes starts empty); pins overwrite it with the least-loaded allowed node; then
//    the simulated node counters move;
//  - execution iterates over all guests in dict order (node order, qemu before lxc, vmid) and
//    migrates those whose target differs, `parallel_jobs` at a time.
PlanOut plan_proxlb(const Scenario &s, const std::vector<int> &place0, const ProxlbConfig &cfg) {
    PlanOut out;
    const double t0 = now_ms();
    const RuleIndex ri(s);
    const size_t nn = s.nodes.size();
    Usage u = usage_of(s, place0);
    std::vector<int> place = place0;
    auto pct = [&](size_t n) {
        return cfg.cpu_method ? 100.0 * u.cpu[n] / s.nodes[n].maxcpu
                              : 100.0 * u.mem[n] / s.nodes[n].maxmem;
    };
    auto spread_exceeded = [&] {
        double hi = -1e300, lo = 1e300;
        for (size_t n = 0; n < nn; ++n) {
            hi = std::max(hi, pct(n));
            lo = std::min(lo, pct(n));
        }
        return hi - lo > cfg.balanciness;
    };
    auto least = [&](const std::vector<int> *among) {
        int best = -1;
        for (size_t n = 0; n < nn; ++n) {
            if (among && !among->empty() &&
                std::find(among->begin(), among->end(), static_cast<int>(n)) == among->end()) {
                continue;
            }
            if (best < 0 || pct(n) < pct(static_cast<size_t>(best))) {
                best = static_cast<int>(n);
            }
        }
        return best;
    };
    auto most = [&] {
        size_t best = 0;
        for (size_t n = 1; n < nn; ++n) {
            if (pct(n) > pct(best)) {
                best = n;
            }
        }
        return static_cast<int>(best);
    };
    // Dict order of guests: by node, qemu before lxc, vmid.
    std::vector<int> dict(s.guests.size());
    for (size_t g = 0; g < dict.size(); ++g) {
        dict[g] = static_cast<int>(g);
    }
    std::stable_sort(dict.begin(), dict.end(), [&](int a, int b) {
        const Guest &ga = s.guests[static_cast<size_t>(a)], &gb = s.guests[static_cast<size_t>(b)];
        if (place0[static_cast<size_t>(a)] != place0[static_cast<size_t>(b)]) {
            return place0[static_cast<size_t>(a)] < place0[static_cast<size_t>(b)];
        }
        if (ga.lxc != gb.lxc) {
            return !ga.lxc;
        }
        return ga.vmid < gb.vmid;
    });
    // Groups.
    std::vector<std::vector<int>> groups;
    std::map<int, size_t> together_group;
    for (int g : dict) {
        if (!movable(s, g)) {
            continue;
        }
        const int t = ri.together_of[static_cast<size_t>(g)];
        if (t >= 0) {
            auto it = together_group.find(t);
            if (it == together_group.end()) {
                together_group[t] = groups.size();
                groups.push_back({g});
            } else {
                groups[it->second].push_back(g);
            }
        } else {
            groups.push_back({g});
        }
    }
    auto gmem_sum = [&](const std::vector<int> &gr) {
        double m = 0;
        for (int g : gr) {
            m += gmem(s.guests[static_cast<size_t>(g)]);
        }
        return m;
    };
    std::stable_sort(
        groups.begin(), groups.end(), [&](const std::vector<int> &a, const std::vector<int> &b) {
            if (a.size() != b.size()) {
                return a.size() < b.size();
            }
            return cfg.larger_first ? gmem_sum(a) > gmem_sum(b) : gmem_sum(a) < gmem_sum(b);
        });
    std::vector<std::vector<int>> used_nodes(ri.apart_groups.size());
    std::vector<int> target = place0;
    int moved = 0;
    if (spread_exceeded()) {
        for (const std::vector<int> &gr : groups) {
            if (!spread_exceeded() || moved >= cfg.budget) {
                break;
            }
            if (moved + static_cast<int>(gr.size()) > cfg.budget) {
                continue;
            }
            const int tgt0 = least(nullptr);
            for (int g : gr) {
                const Guest &gs = s.guests[static_cast<size_t>(g)];
                if (place[static_cast<size_t>(g)] != most()) {
                    break;
                }
                int t = tgt0;
                if (!(gmem(gs) <
                      s.nodes[static_cast<size_t>(t)].maxmem - u.mem[static_cast<size_t>(t)])) {
                    continue;
                }
                for (int k : ri.apart_of[static_cast<size_t>(g)]) {
                    for (size_t n = 0; n < nn; ++n) {
                        std::vector<int> &un = used_nodes[static_cast<size_t>(k)];
                        if (std::find(un.begin(), un.end(), static_cast<int>(n)) == un.end()) {
                            un.push_back(static_cast<int>(n));
                            t = static_cast<int>(n);
                            break;
                        }
                    }
                }
                if (!ri.allowed[static_cast<size_t>(g)].empty()) {
                    t = least(&ri.allowed[static_cast<size_t>(g)]);
                }
                const int from = place[static_cast<size_t>(g)];
                if (t == from) {
                    continue;
                }
                u.cpu[static_cast<size_t>(from)] -= gcpu(gs);
                u.mem[static_cast<size_t>(from)] -= gmem(gs);
                u.cpu[static_cast<size_t>(t)] += gcpu(gs);
                u.mem[static_cast<size_t>(t)] += gmem(gs);
                place[static_cast<size_t>(g)] = t;
                target[static_cast<size_t>(g)] = t;
                ++moved;
            }
        }
    }
    // Execution in dict order.
    int wave = 0, in_wave = 0;
    for (int g : dict) {
        const size_t gi = static_cast<size_t>(g);
        if (target[gi] == place0[gi]) {
            continue;
        }
        if (in_wave == 0) {
            ++wave;
        }
        out.moves.push_back({g, place0[gi], target[gi], wave});
        if (++in_wave >= cfg.parallel_jobs) {
            in_wave = 0;
        }
    }
    out.ms = now_ms() - t0;
    return out;
}

// --- Proxmox CRS brute force ------------------------------------------------------------------
//
// pve-ha-manager 5.2 auto-rebalance (anchors §1.3.4) with the C++ port of the upstream scorer:
// node stats are the measured usage (dynamic mode); candidates are bundles (keep-together
// groups that sit on one node, else single guests) with targets pruned by strict node affinity
// and keep-apart rules; the best (lowest expected imbalance) migration is executed only if the
// imbalance is above the threshold and the relative improvement is at least the margin; one
// migration at a time, re-scored after each, until the migration budget is spent.
PlanOut plan_crs(const Scenario &s, const std::vector<int> &place0, const CrsConfig &cfg) {
    namespace hc = pvebal::hacompat;
    PlanOut out;
    const double t0 = now_ms();
    const RuleIndex ri(s);
    std::vector<int> place = place0;
    auto sid = [&](int g) {
        const Guest &gs = s.guests[static_cast<size_t>(g)];
        return std::string(gs.lxc ? "ct:" : "vm:") + std::to_string(gs.vmid);
    };
    std::map<std::string, int> by_sid;
    for (size_t g = 0; g < s.guests.size(); ++g) {
        by_sid[sid(static_cast<int>(g))] = static_cast<int>(g);
    }
    int moved = 0, wave = 0;
    while (moved < cfg.budget) {
        const Usage u = usage_of(s, place);
        hc::scheduler sch(hc::kind::dynamic_usage);
        for (size_t n = 0; n < s.nodes.size(); ++n) {
            sch.add_node(s.nodes[n].name, {u.cpu[n], static_cast<std::uint64_t>(s.nodes[n].maxcpu),
                                           static_cast<std::uint64_t>(u.mem[n]),
                                           static_cast<std::uint64_t>(s.nodes[n].maxmem)});
        }
        for (size_t g = 0; g < s.guests.size(); ++g) {
            const Guest &gs = s.guests[g];
            auto r = sch.add_resource(sid(static_cast<int>(g)),
                                      {gcpu(gs), gs.maxcpu, static_cast<std::uint64_t>(gmem(gs)),
                                       static_cast<std::uint64_t>(gs.maxmem)},
                                      true, s.nodes[static_cast<size_t>(place[g])].name);
            if (!r) {
                throw std::runtime_error("hacompat: " + r.error());
            }
        }
        const double imb = sch.node_imbalance();
        if (!(imb > cfg.threshold)) {
            break;
        }
        std::vector<hc::compact_candidate> cands;
        std::set<int> done_groups;
        for (size_t g = 0; g < s.guests.size(); ++g) {
            if (!movable(s, static_cast<int>(g))) {
                continue;
            }
            std::vector<int> bundle{static_cast<int>(g)};
            const int t = ri.together_of[g];
            if (t >= 0) {
                if (done_groups.count(t)) {
                    continue;
                }
                done_groups.insert(t);
                bundle.clear();
                bool together = true;
                for (int h : ri.together_groups[static_cast<size_t>(t)]) {
                    together =
                        together && place[static_cast<size_t>(h)] == place[g] && movable(s, h);
                    bundle.push_back(h);
                }
                if (!together) {
                    continue; // HA only moves co-located bundles
                }
            }
            if (moved + static_cast<int>(bundle.size()) > cfg.budget) {
                continue;
            }
            hc::compact_candidate c;
            c.leader = sid(bundle.front());
            for (int h : bundle) {
                c.resources.push_back(sid(h));
            }
            for (size_t n = 0; n < s.nodes.size(); ++n) {
                if (static_cast<int>(n) == place[g]) {
                    continue;
                }
                bool ok = true;
                for (int h : bundle) {
                    ok = ok && ri.node_ok(h, static_cast<int>(n));
                    for (int k : ri.apart_of[static_cast<size_t>(h)]) {
                        for (int o : ri.apart_groups[static_cast<size_t>(k)]) {
                            ok = ok &&
                                 (o == h || place[static_cast<size_t>(o)] != static_cast<int>(n));
                        }
                    }
                }
                if (ok) {
                    c.nodes.push_back(s.nodes[n].name);
                }
            }
            if (!c.nodes.empty()) {
                cands.push_back(c);
            }
        }
        auto best = sch.score_best_balancing_migrations(cands, 1);
        if (!best) {
            throw std::runtime_error("hacompat: " + best.error());
        }
        if (best->empty()) {
            break;
        }
        const hc::scored_migration &b = best->front();
        if ((imb - b.imbalance) / imb < cfg.margin) {
            break;
        }
        int to = -1;
        for (size_t n = 0; n < s.nodes.size(); ++n) {
            if (s.nodes[n].name == b.mig.target_node) {
                to = static_cast<int>(n);
            }
        }
        ++wave;
        for (const hc::compact_candidate &c : cands) {
            if (c.leader != b.mig.sid) {
                continue;
            }
            for (const std::string &r : c.resources) {
                const int g = by_sid[r];
                out.moves.push_back({g, place[static_cast<size_t>(g)], to, wave});
                place[static_cast<size_t>(g)] = to;
                ++moved;
            }
        }
    }
    out.ms = now_ms() - t0;
    return out;
}

} // namespace bench
