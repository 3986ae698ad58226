#include "pvebal/scoring.h"

#include <algorithm>
#include <cmath>

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
    std::vector<double> cpu, mem, load;
    m.nodes.resize(c.nodes.size());
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        node_metrics &nm = m.nodes[n];
        nm.node = n;
        nm.active = active[n];
        nm.used = v.used[n];
        nm.capacity = v.capacity[n];
        nm.cpu_util = v.cpu_util(n);
        nm.mem_util = v.mem_util(n);
        if (active[n]) {
            cpu.push_back(nm.cpu_util);
            mem.push_back(nm.mem_util);
            load.push_back((nm.cpu_util + nm.mem_util) / 2);
        }
    }
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        node_metrics &nm = m.nodes[v.placement[g]];
        ++nm.guests;
        nm.running += c.guests[g].running ? 1 : 0;
    }
    m.cpu = stats_of(cpu);
    m.mem = stats_of(mem);
    m.pve_imbalance = pve_imbalance(load);
    m.objective = objective_state(c, v, o).value();
    return m;
}

// --- objective_state -----------------------------------------------------------------------

objective_state::objective_state(const cluster &c, const load_view &v, const options &o)
    : objective_state(active_nodes(c), v, o) {}

objective_state::objective_state(std::vector<bool> active, const load_view &v, const options &o)
    : active_(std::move(active)), cap_(v.capacity),
      util_(v.capacity.size()), w_{o.cpu_weight, o.memory_weight}, theta_(o.pressure_threshold),
      p_(o.pressure_weight) {
    if (!v.pressure.empty() && o.psi_weight > 0) {
        psi_coef_.assign(v.capacity.size(), 0.0);
        for (node_id n = 0; n < v.capacity.size(); ++n) {
            psi_coef_[n] = o.psi_weight * std::max(0.0, v.pressure[n] - o.psi_threshold);
        }
    }
    for (node_id n = 0; n < v.capacity.size(); ++n) {
        util_[n] = {v.cpu_util(n), v.mem_util(n)};
        if (!active_[n]) {
            continue;
        }
        n_ += 1;
        for (int r = 0; r < 2; ++r) {
            sum_.v[r] += util_[n][r];
            sumsq_.v[r] += util_[n][r] * util_[n][r];
            press_.v[r] += pressure(util_[n][r]);
            psi_.v[r] += psi_coef(n) * util_[n][r];
        }
    }
}

double objective_state::value() const {
    return std::sqrt(j());
}

objective_state::departure objective_state::leave(node_id from, const res &d) const {
    departure dep{{sum_, sumsq_, press_, psi_}, {d.cpu, d.mem}};
    if (from == no_node || !active_[from]) {
        return dep;
    }
    const double cap_from[2] = {cap_[from].cpu, cap_[from].mem};
    for (int r = 0; r < 2; ++r) {
        if (cap_from[r] > 0) {
            const double u = util_[from][r];
            const double u2 = u - dep.dv[r] / cap_from[r];
            dep.t.sum.v[r] += u2 - u;
            dep.t.sumsq.v[r] += u2 * u2 - u * u;
            dep.t.press.v[r] += pressure(u2) - pressure(u);
            dep.t.psi.v[r] += psi_coef(from) * (u2 - u);
        }
    }
    return dep;
}

double objective_state::j_arrive(const departure &dep, node_id to) const {
    if (to == no_node || !active_[to]) {
        return j_of(dep.t.sum, dep.t.sumsq, dep.t.press, dep.t.psi);
    }
    acc sum = dep.t.sum, sumsq = dep.t.sumsq, press = dep.t.press, psi = dep.t.psi;
    const double cap_to[2] = {cap_[to].cpu, cap_[to].mem};
    for (int r = 0; r < 2; ++r) {
        if (cap_to[r] > 0) {
            const double u = util_[to][r];
            const double u2 = u + dep.dv[r] / cap_to[r];
            sum.v[r] += u2 - u;
            sumsq.v[r] += u2 * u2 - u * u;
            press.v[r] += pressure(u2) - pressure(u);
            psi.v[r] += psi_coef(to) * (u2 - u);
        }
    }
    return j_of(sum, sumsq, press, psi);
}

void objective_state::apply(node_id from, node_id to, const res &d) {
    const double dv[2] = {d.cpu, d.mem};
    for (int r = 0; r < 2; ++r) {
        for (int side = 0; side < 2; ++side) {
            const node_id n = side == 0 ? from : to;
            if (n == no_node) {
                continue;
            }
            const double cap = r == 0 ? cap_[n].cpu : cap_[n].mem;
            if (cap <= 0) {
                continue;
            }
            const double u = util_[n][r];
            const double u2 = u + (side == 0 ? -dv[r] : dv[r]) / cap;
            util_[n][r] = u2;
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
