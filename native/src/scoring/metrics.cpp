#include "pvebal/scoring.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pvebal {

std::vector<bool> active_nodes(const cluster &c) {
    std::vector<bool> a(c.nodes.size());
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        a[n] = c.nodes[n].online && !c.nodes[n].maintenance;
    }
    return a;
}

double pve_imbalance(const std::vector<double> &loads) {
    const double n = static_cast<double>(loads.size());
    if (loads.size() < 2) {
        return 0;
    }
    double sum = 0;
    for (double l : loads) {
        sum += l;
    }
    if (sum <= 0) {
        return 0;
    }
    const double mean = sum / n;
    double var = 0;
    for (double l : loads) {
        var += (l - mean) * (l - mean);
    }
    var /= n;
    return std::sqrt(var) / mean / std::sqrt(n - 1);
}

namespace {

resource_stats stats_of(const std::vector<double> &xs) {
    resource_stats s;
    if (xs.empty()) {
        return s;
    }
    double sum = 0;
    s.min = xs.front();
    s.max = xs.front();
    for (double x : xs) {
        sum += x;
        s.min = std::min(s.min, x);
        s.max = std::max(s.max, x);
    }
    s.mean = sum / static_cast<double>(xs.size());
    double var = 0;
    for (double x : xs) {
        var += (x - s.mean) * (x - s.mean);
    }
    s.stddev = std::sqrt(var / static_cast<double>(xs.size()));
    s.spread = s.max - s.min;
    return s;
}

} // namespace

metrics compute_metrics(const cluster &c, const load_view &v, const options &o) {
    metrics m;
    const std::vector<bool> active = active_nodes(c);
    per_dimension<std::vector<double>> utils;
    std::vector<double> load;
    m.nodes.resize(c.nodes.size());
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        node_metrics &nm = m.nodes[n];
        nm.node = n;
        nm.active = active[n];
        nm.used = v.used[n];
        nm.capacity = v.capacity[n];
        nm.util = v.util(n);
        if (active[n]) {
            for (const dimension_info &row : dimension_table) {
                utils[row.dim].push_back(nm.util[row.dim]);
            }
            // Proxmox's CRS load is CPU and memory by definition.
            load.push_back((nm.util[dimension::cpu] + nm.util[dimension::memory]) / 2);
        }
    }
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        node_metrics &nm = m.nodes[v.placement[g]];
        ++nm.guests;
        nm.running += c.guests[g].running ? 1 : 0;
    }
    for (const dimension_info &row : dimension_table) {
        m.in_use[row.dim] = dimension_in_use(row, o);
        if (m.in_use[row.dim]) {
            m.stats[row.dim] = stats_of(utils[row.dim]);
        }
    }
    m.pve_imbalance = pve_imbalance(load);
    m.objective = objective_state(c, v, o).value();
    return m;
}

// --- objective_state -----------------------------------------------------------------------

objective_state::objective_state(const cluster &c, const load_view &v, const options &o)
    : objective_state(active_nodes(c), v, o) {}

objective_state::objective_state(std::vector<bool> active, const load_view &v, const options &o)
    : active_(std::move(active)), cap_(v.capacity), util_(v.capacity.size()),
      theta_(o.pressure_threshold), p_(o.pressure_weight) {
    for (const dimension_info &row : dimension_table) {
        // An optional dimension that is off has no capacity anywhere: its terms stay 0.
        w_[row.dim] = o.*row.weight;
        all_dims_ = all_dims_ || (row.optional && dimension_in_use(row, o));
    }
    if (!v.pressure.empty() && o.psi_weight > 0) {
        psi_coef_.assign(v.capacity.size(), 0.0);
        for (node_id n = 0; n < v.capacity.size(); ++n) {
            psi_coef_[n] = o.psi_weight * std::max(0.0, v.pressure[n] - o.psi_threshold);
        }
    }
    for (node_id n = 0; n < v.capacity.size(); ++n) {
        util_[n] = v.util(n);
        if (!active_[n]) {
            continue;
        }
        n_ += 1;
        for (std::size_t r = 0; r < dimension_count; ++r) {
            sum_.v[r] += util_[n].v[r];
            sumsq_.v[r] += util_[n].v[r] * util_[n].v[r];
            press_.v[r] += pressure(util_[n].v[r]);
            psi_.v[r] += psi_coef(n) * util_[n].v[r];
        }
    }
}

double objective_state::value() const {
    return std::sqrt(j());
}

objective_state::departure objective_state::leave(node_id from, const res &d) const {
    departure dep{{sum_, sumsq_, press_, psi_}, d};
    if (from == no_node || !active_[from]) {
        return dep;
    }
    if (all_dims_) {
        leave_n<dimension_count>(dep, from);
    } else {
        leave_n<always_on_dimensions>(dep, from);
    }
    return dep;
}

template <std::size_t N> void objective_state::leave_n(departure &dep, node_id from) const {
    const res &cap_from = cap_[from];
    for (std::size_t r = 0; r < N; ++r) {
        if (cap_from.v[r] > 0) {
            const double u = util_[from].v[r];
            const double u2 = u - dep.dv.v[r] / cap_from.v[r];
            dep.t.sum.v[r] += u2 - u;
            dep.t.sumsq.v[r] += u2 * u2 - u * u;
            dep.t.press.v[r] += pressure(u2) - pressure(u);
            dep.t.psi.v[r] += psi_coef(from) * (u2 - u);
        }
    }
}

double objective_state::j_arrive(const departure &dep, node_id to) const {
    if (to == no_node || !active_[to]) {
        return j_of(dep.t.sum, dep.t.sumsq, dep.t.press, dep.t.psi);
    }
    return all_dims_ ? j_arrive_n<dimension_count>(dep, to)
                     : j_arrive_n<always_on_dimensions>(dep, to);
}

// Fused: each dimension's sums after the arrival and its term of J in one pass, without copying
// the running sums (the same operations in the same order as j_of, so the same bits).
template <std::size_t N>
double objective_state::j_arrive_n(const departure &dep, node_id to) const {
    if (n_ < 1) {
        return 0;
    }
    const res &cap_to = cap_[to];
    const res &util_to = util_[to];
    double j = 0;
    double wsum = 0;
    for (std::size_t r = 0; r < N; ++r) {
        double sum = dep.t.sum.v[r];
        double sumsq = dep.t.sumsq.v[r];
        double press = dep.t.press.v[r];
        double psi = dep.t.psi.v[r];
        if (cap_to.v[r] > 0) {
            const double u = util_to.v[r];
            const double u2 = u + dep.dv.v[r] / cap_to.v[r];
            sum += u2 - u;
            sumsq += u2 * u2 - u * u;
            press += pressure(u2) - pressure(u);
            psi += psi_coef(to) * (u2 - u);
        }
        const double mean = sum / n_;
        const double var = std::max(0.0, sumsq / n_ - mean * mean);
        j += w_.v[r] * (var + p_ * press / n_ + psi / n_);
        wsum += w_.v[r];
    }
    return wsum > 0 ? j / wsum : 0;
}

objective_state::arrival_floor objective_state::floor_of_arrivals() const {
    arrival_floor f;
    f.usable = p_ >= 0;
    for (std::size_t r = 0; r < dimension_count; ++r) {
        f.usable = f.usable && w_.v[r] >= 0;
        f.util_min.v[r] = std::numeric_limits<double>::infinity();
        f.cap_min.v[r] = std::numeric_limits<double>::infinity();
    }
    for (double coef : psi_coef_) {
        f.usable = f.usable && coef >= 0;
    }
    for (node_id n = 0; n < cap_.size(); ++n) {
        if (!active_[n]) {
            continue; // an inactive target changes nothing: the bound's growth 0
        }
        for (std::size_t r = 0; r < dimension_count; ++r) {
            f.util_min.v[r] = std::min(f.util_min.v[r], util_[n].v[r]);
            if (cap_[n].v[r] > 0) {
                f.cap_min.v[r] = std::min(f.cap_min.v[r], cap_[n].v[r]);
            }
        }
    }
    return f;
}

std::optional<double> objective_state::j_arrive_floor(const arrival_floor &f,
                                                      const departure &dep) const {
    if (!f.usable) {
        return std::nullopt;
    }
    return all_dims_ ? j_arrive_floor_n<dimension_count>(f, dep)
                     : j_arrive_floor_n<always_on_dimensions>(f, dep);
}

// An arrival of d on a node of utilisation u and capacity c grows the dimension's utilisation
// by x = d / c, in [0, d / cap_min], and its variance by (2x/N)(u - mean) + x^2 (N-1)/N^2, where
// mean is after the departure: with u >= util_min, at least the minimum over x of
// A x^2 - B x (A = (N-1)/N^2, B = 2 (mean - util_min)/N). Pressure and PSI only grow.
template <std::size_t N>
std::optional<double> objective_state::j_arrive_floor_n(const arrival_floor &f,
                                                        const departure &dep) const {
    if (n_ < 1) {
        return 0.0;
    }
    double j = 0;
    double wsum = 0;
    for (std::size_t r = 0; r < N; ++r) {
        const double d = dep.dv.v[r];
        if (d < 0) {
            return std::nullopt;
        }
        const double mean = dep.t.sum.v[r] / n_;
        const double var = dep.t.sumsq.v[r] / n_ - mean * mean;
        double growth = 0;
        const double b = 2 * (mean - f.util_min.v[r]) / n_;
        if (b > 0 && d > 0 && std::isfinite(f.cap_min.v[r])) {
            const double a = (n_ - 1) / (n_ * n_);
            const double x_max = d / f.cap_min.v[r];
            const double x = a > 0 ? std::min(x_max, b / (2 * a)) : x_max;
            growth = a * x * x - b * x;
        }
        j += w_.v[r] *
             (std::max(0.0, var + growth) + p_ * dep.t.press.v[r] / n_ + dep.t.psi.v[r] / n_);
        wsum += w_.v[r];
    }
    return wsum > 0 ? j / wsum : 0;
}

void objective_state::apply(node_id from, node_id to, const res &d) {
    for (std::size_t r = 0; r < dimension_count; ++r) {
        for (int side = 0; side < 2; ++side) {
            const node_id n = side == 0 ? from : to;
            if (n == no_node) {
                continue;
            }
            const double cap = cap_[n].v[r];
            if (cap <= 0) {
                continue;
            }
            const double u = util_[n].v[r];
            const double u2 = u + (side == 0 ? -d.v[r] : d.v[r]) / cap;
            util_[n].v[r] = u2;
            if (active_[n]) {
                sum_.v[r] += u2 - u;
                sumsq_.v[r] += u2 * u2 - u * u;
                press_.v[r] += pressure(u2) - pressure(u);
                psi_.v[r] += psi_coef(n) * (u2 - u);
            }
        }
    }
}

} // namespace pvebal
