// Violations: the hard rules and limits the current placement already breaks. Each is decided
// by the same unit (or the same limit) that checks arrivals, so `score`, the repairs of `plan`
// and the checks of every move agree on what a rule says.
#include "constraints/units.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace pvebal::detail {

namespace unit_fns {

namespace {

std::string number_text(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", x);
    return buf;
}

} // namespace

opt_rejection h_limit(const decision_context &ctx, const overlay &s, constraint k, node_id n) {
    if (!limit_set(ctx, k)) {
        return std::nullopt;
    }
    const double limit = limit_of(ctx, s, k, n);
    const double held = held_of(s, k, n);
    if (held <= limit) {
        return std::nullopt;
    }
    const std::string &name = ctx.c.nodes[n].name;
    const res cap = s.load().capacity[n];
    switch (k) {
    case constraint::memory:
        return rejection{k, name + " uses " + gib_text(held) + " of memory, above its usable " +
                                gib_text(limit) + " (memory-limit, memory-reserve)"};
    case constraint::cpu:
        return rejection{
            k, name + " CPU at " +
                   fraction_text(cap[dimension::cpu] > 0 ? held / cap[dimension::cpu] : 0) +
                   ", above cpu-limit " + fraction_text(ctx.o.cpu_limit)};
    case constraint::vcpu_ratio:
        return rejection{k, name + " has " + number_text(held) +
                                " vCPUs assigned to running guests, above max-vcpu-ratio " +
                                number_text(*ctx.o.max_vcpu_ratio) + " x " +
                                number_text(cap[dimension::cpu]) + " threads"};
    case constraint::memory_ratio:
        return rejection{k, name + " has " + gib_text(held) +
                                " assigned to running guests, above max-memory-ratio " +
                                number_text(*ctx.o.max_memory_ratio) + " x " +
                                gib_text(cap[dimension::memory])};
    default:
        return std::nullopt;
    }
}

opt_rejection h_ha_node_affinity(const decision_context &ctx, guest_id g, node_id n) {
    const int ri = ctx.a.node_rule[g];
    if (ri < 0 || ctx.rule_priority(static_cast<size_t>(ri), n) != decision_context::no_priority) {
        return std::nullopt;
    }
    return t_ha_node_affinity(ctx, g, n, true); // "... does not allow <node>"
}

} // namespace unit_fns

namespace {

std::string label(const cluster &c, guest_id g) {
    return (c.guests[g].type == guest_type::qemu ? "vm " : "ct ") +
           std::to_string(c.guests[g].vmid);
}

} // namespace

std::vector<violation> find_violations(const decision_context &ctx, const overlay &s) {
    using namespace unit_fns;
    const cluster &c = ctx.c;
    const affinity_groups &a = ctx.a;
    std::vector<violation> out;
    // Guests where they may not be: pin tags, strict HA node affinity.
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        const node_id n = s.node_of(g);
        if (n == no_node || !ctx.usable(n)) {
            continue;
        }
        if (auto why = t_pin(ctx, g, n, true)) {
            out.push_back({constraint::pin, n, {g}, -1, 0, label(c, g) + ": " + why->message});
        }
        if (auto why = h_ha_node_affinity(ctx, g, n)) {
            out.push_back(
                {constraint::ha_node_affinity, n, {g}, -1, 0, label(c, g) + ": " + why->message});
        }
    }
    // Keep-together groups split over several usable nodes.
    std::map<int, std::map<node_id, std::vector<guest_id>>> together;
    std::map<std::pair<int, node_id>, std::vector<guest_id>> apart;
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        const node_id n = s.node_of(g);
        if (n == no_node || !ctx.usable(n)) {
            continue;
        }
        if (a.together[g] >= 0) {
            together[a.together[g]][n].push_back(g);
        }
        for (int k : a.apart[g]) {
            if (s.apart_count(k, n) > 1) {
                apart[{k, n}].push_back(g);
            }
        }
    }
    for (const auto &[k, by_node] : together) {
        if (by_node.size() < 2) {
            continue;
        }
        violation v{constraint::affinity, std::nullopt, {}, k, 0, {}};
        std::string where;
        for (const auto &[n, gs] : by_node) {
            for (guest_id g : gs) {
                v.guests.push_back(g);
                where += (where.empty() ? "" : ", ") + label(c, g) + " on " + c.nodes[n].name;
            }
        }
        std::sort(v.guests.begin(), v.guests.end());
        v.message = "keep-together group (" + a.together_names[static_cast<size_t>(k)] +
                    ") is split: " + where;
        out.push_back(std::move(v));
    }
    for (const auto &[key, gs] : apart) {
        const auto &[k, n] = key;
        std::string who;
        for (guest_id g : gs) {
            who += (who.empty() ? "" : ", ") + label(c, g);
        }
        out.push_back({constraint::anti_affinity, n, gs, k, 0,
                       a.apart_names[static_cast<size_t>(k)] + " keeps " + who + " apart, all on " +
                           c.nodes[n].name});
    }
    // Node limits, memory first (it is hard in flight too).
    for (constraint k :
         {constraint::memory, constraint::memory_ratio, constraint::vcpu_ratio, constraint::cpu}) {
        for (node_id n = 0; n < c.nodes.size(); ++n) {
            if (!ctx.usable(n)) {
                continue;
            }
            if (auto why = h_limit(ctx, s, k, n)) {
                out.push_back({k,
                               n,
                               {},
                               -1,
                               held_of(s, k, n) - limit_of(ctx, s, k, n),
                               std::move(why->message)});
            }
        }
    }
    return out;
}

double limit_share(const decision_context &ctx, const overlay &s, constraint k,
                   const std::vector<guest_id> &gs) {
    double share = 0;
    for (guest_id g : gs) {
        const guest &gg = ctx.c.guests[g];
        switch (k) {
        case constraint::memory:
            share += s.load().demand[g][dimension::memory];
            break;
        case constraint::cpu:
            share += s.load().demand[g][dimension::cpu];
            break;
        case constraint::vcpu_ratio:
            share += gg.running ? gg.maxcpu : 0;
            break;
        case constraint::memory_ratio:
            share += gg.running ? static_cast<double>(gg.maxmem) : 0;
            break;
        default:
            break;
        }
    }
    return share;
}

} // namespace pvebal::detail
