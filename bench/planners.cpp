#include "planners.h"

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

// --- rule helpers shared by the baselines ----------------------------------------------------

namespace {

struct RuleIndex {
    std::vector<std::vector<int>> apart_groups; // guest lists
    std::vector<std::vector<int>> apart_of;     // per guest: group indices
    std::vector<int> together_of;               // per guest: group index or -1
    std::vector<std::vector<int>> together_groups;
    std::vector<std::vector<int>> allowed; // per guest: allowed nodes (empty: all)

    explicit RuleIndex(const Scenario &s) {
        const std::vector<Rule> rules = all_rules(s);
        apart_of.resize(s.guests.size());
        together_of.assign(s.guests.size(), -1);
        allowed.resize(s.guests.size());
        for (const Rule &r : rules) {
            if (r.kind == Rule::apart) {
                for (int g : r.guests) {
                    apart_of[static_cast<size_t>(g)].push_back(
                        static_cast<int>(apart_groups.size()));
                }
                apart_groups.push_back(r.guests);
            } else if (r.kind == Rule::together) {
                for (int g : r.guests) {
                    together_of[static_cast<size_t>(g)] = static_cast<int>(together_groups.size());
                }
                together_groups.push_back(r.guests);
            } else {
                for (int g : r.guests) {
                    std::vector<int> &a = allowed[static_cast<size_t>(g)];
                    if (a.empty()) {
                        a = r.nodes;
                    } else {
                        std::vector<int> both;
                        std::set_intersection(a.begin(), a.end(), r.nodes.begin(), r.nodes.end(),
                                              std::back_inserter(both));
                        a = both;
                    }
                }
            }
        }
    }
    bool node_ok(int g, int n) const {
        const std::vector<int> &a = allowed[static_cast<size_t>(g)];
        return a.empty() || std::find(a.begin(), a.end(), n) != a.end();
    }
};

} // namespace

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

// --- MILP reference ------------------------------------------------------------------------------

const char *milp_description =
    "The MILP chooses a final placement (binary x[g,n]) that minimises the proxy objective "
    "J' = 1/2 * sum_r ( mean_n (u_rn - ideal_r)^2 + 10 * mean_n max(0, u_rn - 0.8)^2 ), where "
    "ideal_r is total use / total capacity of resource r (on equal nodes ideal_r is the mean "
    "utilisation, so J' is exactly our objective squared). Squares are replaced by tangent "
    "cuts (49 points for the deviation, 23 plus the zero floor for the pressure), which "
    "under-estimate them, so the "
    "solver's bound is a valid lower bound on J'. Constraints: at most the migration budget of "
    "guests leave their node; in the final state every node stays within cpu-limit 90% and the "
    "usable memory min(90%, maxmem - 1 GiB), a node already above a limit receives nothing; "
    "keep-apart, keep-together and strict node-affinity rules hold; containers stay. It knows "
    "nothing of intermediate states or migration cost, so it is a reference, not a plan.";

PlanOut plan_milp(const Scenario &s, const std::vector<int> &place0, const MilpConfig &cfg) {
    PlanOut out;
    const double t0 = now_ms();
    const RuleIndex ri(s);
    const size_t nn = s.nodes.size(), ng = s.guests.size();
    const Limits lim;
    const Usage u0 = usage_of(s, place0);
    std::vector<bool> closed(nn, false); // above a limit already: no arrivals
    for (size_t n = 0; n < nn; ++n) {
        closed[n] = u0.cpu[n] > lim.cpu_limit * s.nodes[n].maxcpu ||
                    u0.mem[n] > lim.usable_mem(s.nodes[n].maxmem);
    }
    double tc = 0, tm = 0, cc = 0, cm = 0;
    for (size_t n = 0; n < nn; ++n) {
        tc += u0.cpu[n];
        tm += u0.mem[n];
        cc += s.nodes[n].maxcpu;
        cm += s.nodes[n].maxmem;
    }
    const double ideal[2] = {tc / cc, tm / cm};
    // Fixed guests: not movable, or a keep-together partner of an immovable one.
    std::vector<bool> fixed(ng, false);
    for (size_t g = 0; g < ng; ++g) {
        fixed[g] = !movable(s, static_cast<int>(g));
    }
    for (const auto &grp : ri.together_groups) {
        bool any = false, split = false;
        for (int g : grp) {
            any = any || fixed[static_cast<size_t>(g)];
            split = split || place0[static_cast<size_t>(g)] != place0[static_cast<size_t>(grp[0])];
        }
        if (any || split) {
            for (int g : grp) {
                fixed[static_cast<size_t>(g)] = true;
            }
        }
    }
    std::vector<std::vector<int>> allowed(ng);
    for (size_t g = 0; g < ng; ++g) {
        if (fixed[g]) {
            continue;
        }
        for (size_t n = 0; n < nn; ++n) {
            const bool home = place0[g] == static_cast<int>(n);
            if (home || (!closed[n] && ri.node_ok(static_cast<int>(g), static_cast<int>(n)))) {
                allowed[g].push_back(static_cast<int>(n));
            }
        }
    }
    // Constants per node: overhead + fixed guests.
    std::vector<double> base_c(nn), base_m(nn);
    for (size_t n = 0; n < nn; ++n) {
        base_c[n] = s.nodes[n].oh_cpu;
        base_m[n] = s.nodes[n].oh_mem;
    }
    for (size_t g = 0; g < ng; ++g) {
        if (fixed[g]) {
            base_c[static_cast<size_t>(place0[g])] += gcpu(s.guests[g]);
            base_m[static_cast<size_t>(place0[g])] += gmem(s.guests[g]);
        }
    }
    std::ostringstream lp;
    lp.precision(12);
    const double p = 10, theta = 0.8, N = static_cast<double>(nn);
    constexpr double kScale = 1000; // CBC prints objectives with few decimals
    lp << "\\ pve-balancer bench MILP: " << s.name << "\nMinimize\n obj:";
    for (size_t n = 0; n < nn; ++n) {
        for (int r = 0; r < 2; ++r) {
            lp << " + " << kScale / (2 * N) << " s" << r << "_" << n << " + "
               << kScale * p / (2 * N) << " q" << r << "_" << n;
        }
    }
    lp << "\nSubject To\n";
    for (size_t g = 0; g < ng; ++g) {
        if (fixed[g]) {
            continue;
        }
        lp << " a" << g << ":";
        for (int n : allowed[g]) {
            lp << " + x" << g << "_" << n;
        }
        lp << " = 1\n";
    }
    lp << " budget:";
    bool any_move_var = false;
    for (size_t g = 0; g < ng; ++g) {
        for (int n : allowed[g]) {
            if (n != place0[g]) {
                lp << " + x" << g << "_" << n;
                any_move_var = true;
            }
        }
    }
    if (!any_move_var) {
        lp << " 0 x_dummy";
    }
    lp << " <= " << cfg.budget << "\n";
    // Utilisation definitions and limits.
    std::vector<double> dev_pts, press_pts;
    for (double t :
         {0.0,  0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06,
          0.07, 0.08,   0.1,   0.12,   0.15, 0.2,    0.25,  0.3,  0.4,   0.5,  0.7,  1.0}) {
        dev_pts.push_back(t);
        if (t > 0) {
            dev_pts.push_back(-t);
        }
        if (t > 0 && t <= 0.7) {
            press_pts.push_back(t);
        }
    }
    for (size_t n = 0; n < nn; ++n) {
        for (int r = 0; r < 2; ++r) {
            const double cap = r == 0 ? s.nodes[n].maxcpu : s.nodes[n].maxmem;
            const double base = r == 0 ? base_c[n] : base_m[n];
            lp << " u" << r << "_" << n << ": u" << r << "_" << n;
            for (size_t g = 0; g < ng; ++g) {
                if (fixed[g] || std::find(allowed[g].begin(), allowed[g].end(),
                                          static_cast<int>(n)) == allowed[g].end()) {
                    continue;
                }
                const double d = (r == 0 ? gcpu(s.guests[g]) : gmem(s.guests[g])) / cap;
                if (d != 0) {
                    lp << " - " << d << " x" << g << "_" << n;
                }
            }
            lp << " = " << base / cap << "\n";
            if (!closed[n]) {
                const double limit = r == 0 ? lim.cpu_limit : lim.usable_mem(cap) / cap;
                lp << " l" << r << "_" << n << ": u" << r << "_" << n << " <= " << limit << "\n";
            }
            int k = 0;
            for (double t : dev_pts) { // s >= 2t(u - ideal) - t^2
                lp << " d" << r << "_" << n << "_" << k++ << ": s" << r << "_" << n
                   << (t > 0 ? " - " : " + ") << std::fabs(2 * t) << " u" << r << "_" << n
                   << " >= " << -2 * t * ideal[r] - t * t << "\n";
            }
            k = 0;
            for (double t : press_pts) { // q >= 2t(u - theta) - t^2
                lp << " p" << r << "_" << n << "_" << k++ << ": q" << r << "_" << n << " - "
                   << 2 * t << " u" << r << "_" << n << " >= " << -2 * t * theta - t * t << "\n";
            }
        }
    }
    // Keep-apart.
    for (size_t k = 0; k < ri.apart_groups.size(); ++k) {
        for (size_t n = 0; n < nn; ++n) {
            int fixed_here = 0, init_here = 0;
            std::string terms;
            for (int g : ri.apart_groups[k]) {
                const size_t gi = static_cast<size_t>(g);
                init_here += place0[gi] == static_cast<int>(n);
                if (fixed[gi]) {
                    fixed_here += place0[gi] == static_cast<int>(n);
                } else if (std::find(allowed[gi].begin(), allowed[gi].end(), static_cast<int>(n)) !=
                           allowed[gi].end()) {
                    terms += " + x" + std::to_string(g) + "_" + std::to_string(n);
                }
            }
            if (!terms.empty()) {
                lp << " k" << k << "_" << n << ":" << terms
                   << " <= " << std::max(1, init_here) - fixed_here << "\n";
            }
        }
    }
    // Keep-together (movable groups that start co-located).
    for (size_t k = 0; k < ri.together_groups.size(); ++k) {
        const auto &grp = ri.together_groups[k];
        if (fixed[static_cast<size_t>(grp[0])]) {
            continue;
        }
        for (size_t i = 1; i < grp.size(); ++i) {
            const size_t a = static_cast<size_t>(grp[0]), b = static_cast<size_t>(grp[i]);
            for (size_t n = 0; n < nn; ++n) {
                const bool ia = std::find(allowed[a].begin(), allowed[a].end(),
                                          static_cast<int>(n)) != allowed[a].end();
                const bool ib = std::find(allowed[b].begin(), allowed[b].end(),
                                          static_cast<int>(n)) != allowed[b].end();
                if (ia && ib) {
                    lp << " t" << k << "_" << i << "_" << n << ": x" << a << "_" << n << " - x" << b
                       << "_" << n << " = 0\n";
                } else if (ia) {
                    lp << " t" << k << "_" << i << "_" << n << ": x" << a << "_" << n << " = 0\n";
                } else if (ib) {
                    lp << " t" << k << "_" << i << "_" << n << ": x" << b << "_" << n << " = 0\n";
                }
            }
        }
    }
    lp << "Bounds\n";
    for (size_t n = 0; n < nn; ++n) {
        for (int r = 0; r < 2; ++r) {
            lp << " -10 <= u" << r << "_" << n << " <= 10\n";
        }
    }
    lp << "Binaries\n";
    for (size_t g = 0; g < ng; ++g) {
        for (int n : allowed[g]) {
            lp << " x" << g << "_" << n << "\n";
        }
    }
    if (!any_move_var) {
        lp << " x_dummy\n";
    }
    lp << "End\n";
    const std::string stem = cfg.workdir + "/" + cfg.tag;
    {
        std::ofstream f(stem + ".lp");
        f << lp.str();
    }
    const std::string cmd = fmt("cbc %s.lp sec %g threads 1 solve solu %s.sol > %s.log 2>&1",
                                stem.c_str(), cfg.time_limit, stem.c_str(), stem.c_str());
    const int rc = std::system(cmd.c_str());
    out.ms = now_ms() - t0;
    std::ifstream logf(stem + ".log");
    std::string line, log_status;
    double objective = NAN, lower = NAN;
    while (std::getline(logf, line)) {
        if (line.rfind("Result - ", 0) == 0) {
            log_status = line.substr(9);
        } else if (line.rfind("Objective value:", 0) == 0) {
            objective = std::atof(line.c_str() + 16);
        }
        if (const size_t bp = line.find("best possible "); bp != std::string::npos) {
            lower = std::atof(line.c_str() + bp + 14);
        }
    }
    std::ifstream solf(stem + ".sol");
    if (rc != 0 || !solf) {
        out.ok = false;
        out.status = "cbc failed";
        return out;
    }
    std::getline(solf, line);
    out.status = log_status.empty() ? line : log_status;
    if (line.find("Infeasible") != std::string::npos ||
        line.find("infeasible") != std::string::npos) {
        out.ok = false;
        return out;
    }
    const bool optimal = log_status.rfind("Optimal", 0) == 0;
    if (optimal) {
        lower = objective;
    }
    if (!std::isnan(lower)) {
        out.bound = std::sqrt(std::max(0.0, lower / kScale));
    }
    std::vector<int> final_place = place0;
    while (std::getline(solf, line)) {
        std::istringstream ls(line);
        std::string idx, name;
        double value = 0;
        if (line.rfind("**", 0) == 0) {
            ls >> idx;
        }
        ls >> idx >> name >> value;
        if (name.size() > 1 && name[0] == 'x' && name != "x_dummy" && value > 0.5) {
            const size_t us = name.find('_');
            const int g = std::atoi(name.c_str() + 1), n = std::atoi(name.c_str() + us + 1);
            final_place[static_cast<size_t>(g)] = n;
        }
    }
    for (size_t g = 0; g < ng; ++g) {
        if (final_place[g] != place0[g]) {
            out.moves.push_back({static_cast<int>(g), place0[g], final_place[g], 1});
        }
    }
    return out;
}

} // namespace bench
