// bench/planners.h: the planners compared by the benchmark. Ours is the engine's plan_balance;
// the others are baselines written for the benchmark:
//   - ProxLB-style greedy (../shared/reference/anchors.md §1.1.3), memory or cpu method;
//   - Proxmox CRS auto-rebalance, brute force, one move at a time (pvebal::hacompat scoring);
//   - an exact MILP reference solved by COIN-OR CBC (final placement only).
#ifndef PVEBAL_BENCH_PLANNERS_H_
#define PVEBAL_BENCH_PLANNERS_H_

#include "common.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace bench {

struct PlanOut {
    std::vector<Move> moves; // execution order; wave = what runs together
    double ms = 0;           // planning wall time
    bool ok = true;
    std::string status; // e.g. MILP: Optimal / Stopped on time
    double bound =
        std::numeric_limits<double>::quiet_NaN(); // MILP: lower bound on the proxy (sqrt units)
    double engine_objective_after =
        std::numeric_limits<double>::quiet_NaN(); // ours: plan.after.objective
};

// Guests a planner may move: running VMs (containers only move by restart; the engine leaves
// them in place by default, so every planner does).
bool movable(const Scenario &s, int g);

// Ours: pvebal::plan_balance on the scenario's snapshot. `options_json` is an options object.
PlanOut plan_ours(const Scenario &s, const std::vector<int> &place,
                  const std::string &options_json);

struct ProxlbConfig {
    bool cpu_method = false; // method: memory (default) or cpu
    double balanciness = 10; // percentage points of spread that trigger balancing
    bool larger_first = false;
    int budget = 10;       // the common migration budget (ProxLB itself has no cap)
    int parallel_jobs = 1; // ProxLB's default is parallel: false, i.e. one migration at a time
};
PlanOut plan_proxlb(const Scenario &s, const std::vector<int> &place, const ProxlbConfig &cfg);

struct CrsConfig {
    double threshold = 0.3; // ha-auto-rebalance-threshold
    double margin = 0.1;    // ha-auto-rebalance-margin (relative improvement)
    int budget = 10;
};
PlanOut plan_crs(const Scenario &s, const std::vector<int> &place, const CrsConfig &cfg);

struct MilpConfig {
    int budget = 10;
    double time_limit = 30; // seconds
    std::string workdir;    // where the LP and solution files go
    std::string tag;        // file name stem
};
PlanOut plan_milp(const Scenario &s, const std::vector<int> &place, const MilpConfig &cfg);
extern const char *milp_description;

} // namespace bench

#endif
