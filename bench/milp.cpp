// The MILP reference of the benchmarks: the best final placement under the same limits and
// rules, solved exactly by COIN-OR CBC (planners.h, plan_milp).
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
    // PVEBAL_BENCH_MILP_CACHE=1: reuse the last solve of exactly this model (same .lp text)
    // while tuning a planner; CBC takes 20-30 s per scenario. Never for BENCHMARKS.md.
    bool cached = false;
    if (const char *c = std::getenv("PVEBAL_BENCH_MILP_CACHE"); c != nullptr && *c == '1') {
        std::ifstream old_lp(stem + ".lp"), old_sol(stem + ".sol"), old_log(stem + ".log");
        std::ostringstream prev;
        prev << old_lp.rdbuf();
        cached = old_lp && old_sol && old_log && prev.str() == lp.str();
    }
    if (!cached) {
        std::ofstream f(stem + ".lp");
        f << lp.str();
    }
    const std::string cmd = fmt("cbc %s.lp sec %g threads 1 solve solu %s.sol > %s.log 2>&1",
                                stem.c_str(), cfg.time_limit, stem.c_str(), stem.c_str());
    const int rc = cached ? 0 : std::system(cmd.c_str());
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
