/* perl/glue/hacompat_args.h - the HA scheduler's argument types from Perl (resource and node
 * stats, PveResource, compact migration candidates), each as upstream's Rust type deserialises
 * it (serde.h). Included once, by Native.xs.
 *
 * Copyright (C) the pve-balancer authors. SPDX-License-Identifier: AGPL-3.0-or-later
 */
#ifndef PVEBAL_PERL_GLUE_HACOMPAT_ARGS_H_
#define PVEBAL_PERL_GLUE_HACOMPAT_ARGS_H_

namespace {

/* StaticResourceStats {maxcpu: f64, maxmem: usize} -> cpu = maxcpu, mem = maxmem. */
error_text to_static_stats(pTHX_ SV *sv, hc::service_stats &out) {
    std::vector<SV *> f;
    if (auto e = struct_fields(aTHX_ sv, "StaticResourceStats", {{"maxcpu", false}, {"maxmem", false}}, f)) {
        return e;
    }
    double maxcpu = 0;
    std::uint64_t maxmem = 0;
    if (f[0]) {
        if (auto e = to_f64(aTHX_ f[0], maxcpu)) {
            return e;
        }
    }
    if (f[1]) {
        if (auto e = to_usize(aTHX_ f[1], maxmem)) {
            return e;
        }
    }
    if (!f[0]) {
        return missing_field("maxcpu");
    }
    if (!f[1]) {
        return missing_field("maxmem");
    }
    out = hc::static_service_stats(maxcpu, maxmem);
    return std::nullopt;
}

/* DynamicResourceStats {cpu: f64, maxcpu: f64, mem: usize, maxmem: usize}. */
error_text to_dynamic_stats(pTHX_ SV *sv, hc::service_stats &out) {
    static const std::vector<field> fields = {
        {"cpu", false}, {"maxcpu", false}, {"mem", false}, {"maxmem", false}};
    std::vector<SV *> f;
    if (auto e = struct_fields(aTHX_ sv, "DynamicResourceStats", fields, f)) {
        return e;
    }
    hc::service_stats r;
    if (f[0]) {
        if (auto e = to_f64(aTHX_ f[0], r.cpu)) {
            return e;
        }
    }
    if (f[1]) {
        if (auto e = to_f64(aTHX_ f[1], r.maxcpu)) {
            return e;
        }
    }
    if (f[2]) {
        if (auto e = to_usize(aTHX_ f[2], r.mem)) {
            return e;
        }
    }
    if (f[3]) {
        if (auto e = to_usize(aTHX_ f[3], r.maxmem)) {
            return e;
        }
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (!f[i]) {
            return missing_field(fields[i].name);
        }
    }
    out = r;
    return std::nullopt;
}

/* DynamicNodeStats {cpu: f64, maxcpu: usize, mem: usize, maxmem: usize}. */
error_text to_dynamic_node(pTHX_ SV *sv, hc::node_stats &out) {
    static const std::vector<field> fields = {
        {"cpu", false}, {"maxcpu", false}, {"mem", false}, {"maxmem", false}};
    std::vector<SV *> f;
    if (auto e = struct_fields(aTHX_ sv, "DynamicNodeStats", fields, f)) {
        return e;
    }
    hc::node_stats n;
    if (f[0]) {
        if (auto e = to_f64(aTHX_ f[0], n.cpu)) {
            return e;
        }
    }
    if (f[1]) {
        if (auto e = to_usize(aTHX_ f[1], n.maxcpu)) {
            return e;
        }
    }
    if (f[2]) {
        if (auto e = to_usize(aTHX_ f[2], n.mem)) {
            return e;
        }
    }
    if (f[3]) {
        if (auto e = to_usize(aTHX_ f[3], n.maxmem)) {
            return e;
        }
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (!f[i]) {
            return missing_field(fields[i].name);
        }
    }
    out = n;
    return std::nullopt;
}

/* PveResource<T> {stats: T, running: bool, current-node: String, target-node: Option<String>}. */
struct pve_resource {
    hc::service_stats stats;
    bool running = false;
    std::string current_node;
    std::optional<std::string> target_node;
};

error_text to_pve_resource(pTHX_ SV *sv, hc::kind k, pve_resource &out) {
    static const std::vector<field> fields = {
        {"stats", false}, {"running", false}, {"current-node", false}, {"target-node", true}};
    std::vector<SV *> f;
    if (auto e = struct_fields(aTHX_ sv, "PveResource", fields, f)) {
        return e;
    }
    pve_resource r;
    if (f[0]) {
        auto e = k == hc::kind::static_usage ? to_static_stats(aTHX_ f[0], r.stats)
                                             : to_dynamic_stats(aTHX_ f[0], r.stats);
        if (e) {
            return e;
        }
    }
    if (f[1]) {
        if (auto e = to_bool(aTHX_ f[1], r.running)) {
            return e;
        }
    }
    if (f[2]) {
        if (auto e = to_string(aTHX_ f[2], r.current_node)) {
            return e;
        }
    }
    if (f[3]) {
        if (auto e = to_optional_string(aTHX_ f[3], r.target_node)) {
            return e;
        }
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (!f[i] && !fields[i].optional) {
            return missing_field(fields[i].name);
        }
    }
    out = std::move(r);
    return std::nullopt;
}

/* Vec<CompactMigrationCandidate {leader: String, resources: Vec<String>, nodes: Vec<String>}>. */
error_text to_candidates(pTHX_ SV *sv, std::vector<hc::compact_candidate> &out) {
    static const std::vector<field> fields = {{"leader", false}, {"resources", false}, {"nodes", false}};
    std::vector<SV *> items;
    if (auto e = to_sequence(aTHX_ sv, items)) {
        return e;
    }
    out.clear();
    out.reserve(items.size());
    for (SV *item : items) {
        std::vector<SV *> f;
        if (auto e = struct_fields(aTHX_ item, "CompactMigrationCandidate", fields, f)) {
            return e;
        }
        hc::compact_candidate c;
        if (f[0]) {
            if (auto e = to_string(aTHX_ f[0], c.leader)) {
                return e;
            }
        }
        if (f[1]) {
            if (auto e = to_string_list(aTHX_ f[1], c.resources)) {
                return e;
            }
        }
        if (f[2]) {
            if (auto e = to_string_list(aTHX_ f[2], c.nodes)) {
                return e;
            }
        }
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (!f[i]) {
                return missing_field(fields[i].name);
            }
        }
        out.push_back(std::move(c));
    }
    return std::nullopt;
}

} // namespace

#endif
