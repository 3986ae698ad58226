// File: pvebal/scoring.h
//
// Cluster metrics and the objective the planners minimise.
//
// Reported, before and after every plan:
//   - `pve_imbalance`: exactly Proxmox CRS' value: the coefficient of variation of node load,
//     load = (cpu% + mem%) / 2, divided by sqrt(n - 1) so it lies in [0, 1];
//   - per resource dimension in use (pvebal/dimensions.h: cpu, memory, ...): mean, population
//     standard deviation, min, max and spread of node utilisation;
//   - `objective`: ours, see docs/algorithms.md. Per dimension r with weight w_r:
//         J = sum_r w_r * (Var_r(u) + p * mean_n(max(0, u_rn - theta)^2)
//                          + q * mean_n(psi_n * u_rn)) / sum_r w_r
//     and objective = sqrt(J). psi_n is node n's PSI stall share above psi-threshold (0
//     without PSI data) and q the psi weight: load left on a node under pressure costs in
//     proportion to both (pressure is a node signal, not a dimension). Var is the population
//     variance of node utilisation, theta the
//     pressure threshold and p its weight. Per-resource terms mean a node full on memory and
//     idle on CPU next to its mirror image is *not* balanced (PVE's averaged load says it is).
//
// Only active nodes (online, not in maintenance) take part.
#ifndef PVEBAL_SCORING_H_
#define PVEBAL_SCORING_H_

#include "pvebal/load.h"
#include "pvebal/model.h"
#include "pvebal/options.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace pvebal {

struct resource_stats {
    double mean = 0;
    double stddev = 0;
    double min = 0;
    double max = 0;
    double spread = 0; // max - min
};

struct node_metrics {
    node_id node = 0;
    bool active = false;
    res used;
    res capacity;
    res util;        // used / capacity, per dimension
    int guests = 0;  // every guest placed there
    int running = 0; // of which running
};

struct metrics {
    double objective = 0;
    double pve_imbalance = 0;
    per_dimension<resource_stats> stats; // per dimension (zero for one not in use)
    per_dimension<bool> in_use;          // the dimensions shown (dimension_in_use)
    std::vector<node_metrics> nodes;     // every node, by node id
};

// Active nodes: online and not in maintenance.
std::vector<bool> active_nodes(const cluster &c);

metrics compute_metrics(const cluster &c, const load_view &v, const options &o);

// PVE CRS imbalance of the given node loads (already averaged cpu%/mem%).
double pve_imbalance(const std::vector<double> &loads);

// Incrementally maintained objective: O(1) to evaluate moving demand between two nodes.
class objective_state {
public:
    objective_state(const cluster &c, const load_view &v, const options &o);
    // With an explicit set of active nodes (e.g. the survivors of a failure scenario).
    objective_state(std::vector<bool> active, const load_view &v, const options &o);

    double value() const; // the objective, sqrt(J)
    double j() const { return j_of(sum_, sumsq_, press_, psi_); }
    // J after moving `d` from node `from` to node `to` (either may be no_node).
    double j_after(node_id from, node_id to, const res &d) const {
        return j_arrive(leave(from, d), to);
    }
    // The same in two steps, for many targets of one move: the source side once, then each
    // target (the same arithmetic in the same order as j_after, so bit for bit the same value).
    struct departure;
    departure leave(node_id from, const res &d) const;
    double j_arrive(const departure &dep, node_id to) const;
    void apply(node_id from, node_id to, const res &d);
    // Pruning a scan over many targets: a lower bound of j_arrive(dep, to) for every `to` at
    // once (any target's utilisation is at least the lowest, its capacity at least the smallest;
    // an arrival only adds pressure). Exact arithmetic; callers leave a margin for rounding.
    // Not usable (no bound) with a negative weight or departing demand.
    struct arrival_floor {
        res util_min;
        res cap_min;
        bool usable = false;
    };
    arrival_floor floor_of_arrivals() const;
    // nullopt: no bound for this departure.
    std::optional<double> j_arrive_floor(const arrival_floor &f, const departure &dep) const;
    // Utilisation of node n, per dimension, as the state sees it.
    double util(node_id n, dimension d) const { return util_[n][d]; }
    bool active(node_id n) const { return active_[n]; }

    // For exact undo (the overlay's trials): a node's utilisation and the running sums.
    using node_row = res;
    using acc = res;
    struct totals_t {
        acc sum, sumsq, press, psi;
    };
    struct departure {
        totals_t t;
        res dv;
    };
    node_row row(node_id n) const { return util_[n]; }
    totals_t totals() const { return {sum_, sumsq_, press_, psi_}; }
    void restore(node_id n, const node_row &r) { util_[n] = r; }
    void restore(const totals_t &t) {
        sum_ = t.sum;
        sumsq_ = t.sumsq;
        press_ = t.press;
        psi_ = t.psi;
    }

private:
    // The inner loops run over the first N dimensions: always_on_dimensions while every optional
    // dimension is off (its terms would be exactly 0), else all; N is a constant so the loops
    // unroll (the planners' hottest code).
    template <std::size_t N>
    double j_of_n(const acc &sum, const acc &sumsq, const acc &press, const acc &psi) const {
        if (n_ < 1) {
            return 0;
        }
        double j = 0;
        double wsum = 0;
        for (std::size_t r = 0; r < N; ++r) {
            const double mean = sum.v[r] / n_;
            // Population variance from running sums; clamp the rounding error below zero.
            const double var = std::max(0.0, sumsq.v[r] / n_ - mean * mean);
            // psi is 0 without PSI data: adding it changes no bit.
            j += w_.v[r] * (var + p_ * press.v[r] / n_ + psi.v[r] / n_);
            wsum += w_.v[r];
        }
        return wsum > 0 ? j / wsum : 0;
    }
    double j_of(const acc &sum, const acc &sumsq, const acc &press, const acc &psi) const {
        return all_dims_ ? j_of_n<dimension_count>(sum, sumsq, press, psi)
                         : j_of_n<always_on_dimensions>(sum, sumsq, press, psi);
    }
    template <std::size_t N> void leave_n(departure &dep, node_id from) const;
    template <std::size_t N> double j_arrive_n(const departure &dep, node_id to) const;
    template <std::size_t N>
    std::optional<double> j_arrive_floor_n(const arrival_floor &f, const departure &dep) const;
    double pressure(double u) const {
        const double x = u - theta_;
        return x > 0 ? x * x : 0;
    }
    // The PSI term's weight on node n's utilisation (psi weight x its pressure).
    double psi_coef(node_id n) const { return psi_coef_.empty() ? 0 : psi_coef_[n]; }

    std::vector<bool> active_;
    std::vector<res> cap_;
    std::vector<res> util_;
    res w_;
    bool all_dims_ = false; // an optional dimension is in use
    double theta_;
    double p_;
    double n_ = 0;
    acc sum_, sumsq_, press_, psi_;
    std::vector<double> psi_coef_; // per node; empty when no node has pressure
};

} // namespace pvebal

#endif
