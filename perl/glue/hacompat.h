/* perl/glue/hacompat.h - glue of PVE::Balancer::HAScheduler::{Static,Dynamic}: the scheduler
 * handles and their methods. Arguments are converted by hacompat_args.h and serde.h. Included
 * once, by Native.xs.
 *
 * Copyright (C) the pve-balancer authors. SPDX-License-Identifier: AGPL-3.0-or-later
 */
#ifndef PVEBAL_PERL_GLUE_HACOMPAT_H_
#define PVEBAL_PERL_GLUE_HACOMPAT_H_

namespace {

/* ------------------------------------------------------------------------------------------
 * The scheduler handle
 * ------------------------------------------------------------------------------------------ */

/* Live handles, for the tests (DESTROY must free them). */
IV live_handles = 0;

struct ha_handle {
    hc::scheduler sched;
    bool capacity_aware;
    ca::settings cfg;

    ha_handle(hc::kind k, bool capacity, bool normalize, ca::settings settings)
        : sched(k, hc::scheduler_options{.normalize_imbalance = normalize}),
          capacity_aware(capacity),
          cfg(settings) {
        ++live_handles;
    }
    ~ha_handle() { --live_handles; }
    ha_handle(const ha_handle &) = delete;
    ha_handle &operator=(const ha_handle &) = delete;
};

int free_handle(pTHX_ SV *, MAGIC *mg) {
    delete reinterpret_cast<ha_handle *>(mg->mg_ptr);
    mg->mg_ptr = nullptr;
    return 0;
}

MGVTBL vtbl_static = {nullptr, nullptr, nullptr, nullptr, free_handle, nullptr, nullptr, nullptr};
MGVTBL vtbl_dynamic = {nullptr, nullptr, nullptr, nullptr, free_handle, nullptr, nullptr, nullptr};

MGVTBL *vtbl_of(hc::kind k) {
    return k == hc::kind::static_usage ? &vtbl_static : &vtbl_dynamic;
}

const char *class_of(hc::kind k) {
    return k == hc::kind::static_usage ? "PVE::Balancer::HAScheduler::Static"
                                       : "PVE::Balancer::HAScheduler::Dynamic";
}

/* perlmod's #[try_from_ref] this: a reference to a value carrying our magic (its messages, with
 * the class the objects are blessed into). */
error_text to_handle(pTHX_ hc::kind k, SV *sv, ha_handle *&out) {
    SvGETMAGIC(sv);
    if (!SvROK(sv)) {
        return std::string("value blessed into ") + class_of(k) + " was not a reference";
    }
    MAGIC *mg = mg_findext(SvRV(sv), PERL_MAGIC_ext, vtbl_of(k));
    if (!mg || !mg->mg_ptr) {
        return std::string("value blessed into ") + class_of(k) +
               " did not contain its declared magic pointer";
    }
    out = reinterpret_cast<ha_handle *>(mg->mg_ptr);
    return std::nullopt;
}

bool fallback_warned = false;

enum class method {
    add_node,
    remove_node,
    list_nodes,
    contains_node,
    add_resource,
    add_usage_to_node,
    remove_resource,
    imbalance,
    balancing,
    balancing_topsis,
    start,
    start_compatible, /* start scores of compatible mode, whatever the handle's mode */
    mode,
};

struct method_spec {
    const char *name;
    std::vector<const char *> params;
};

method_spec spec_of(hc::kind k, method m) {
    const bool st = k == hc::kind::static_usage;
    switch (m) {
    case method::add_node:
        return st ? method_spec{"add_node", {"this", "nodename", "maxcpu", "maxmem"}}
                  : method_spec{"add_node", {"this", "nodename", "stats"}};
    case method::remove_node: return {"remove_node", {"this", "nodename"}};
    case method::list_nodes: return {"list_nodes", {"this"}};
    case method::contains_node: return {"contains_node", {"this", "nodename"}};
    case method::add_resource:
        return st ? method_spec{"add_service", {"this", "sid", "service"}}
                  : method_spec{"add_resource", {"this", "sid", "resource"}};
    case method::add_usage_to_node:
        return {"add_service_usage_to_node", {"this", "nodename", "sid", "service_stats"}};
    case method::remove_resource:
        return st ? method_spec{"remove_service_usage", {"this", "sid"}}
                  : method_spec{"remove_resource", {"this", "sid"}};
    case method::imbalance: return {"calculate_node_imbalance", {"this"}};
    case method::balancing:
        return {"score_best_balancing_migration_candidates", {"this", "candidates", "limit"}};
    case method::balancing_topsis:
        return {"score_best_balancing_migration_candidates_topsis",
                {"this", "candidates", "limit"}};
    case method::start:
    case method::start_compatible:
        return st ? method_spec{"score_nodes_to_start_service", {"this", "service_stats"}}
                  : method_spec{"score_nodes_to_start_resource", {"this", "resource_stats"}};
    case method::mode: return {"mode", {"this"}};
    }
    return {"?", {"this"}};
}

SV *new_name(pTHX_ const std::string &s) {
    return newSVpvn_utf8(s.data(), s.size(), 1);
}

SV *migrations_to_perl(pTHX_ const std::vector<hc::scored_migration> &ms) {
    AV *list = newAV();
    for (const hc::scored_migration &m : ms) {
        HV *mig = newHV();
        hv_stores(mig, "sid", new_name(aTHX_ m.mig.sid));
        hv_stores(mig, "source-node", new_name(aTHX_ m.mig.source_node));
        hv_stores(mig, "target-node", new_name(aTHX_ m.mig.target_node));
        HV *entry = newHV();
        hv_stores(entry, "migration", newRV_noinc((SV *)mig));
        hv_stores(entry, "imbalance", newSVnv(m.imbalance));
        av_push(list, newRV_noinc((SV *)entry));
    }
    return sv_2mortal(newRV_noinc((SV *)list));
}

SV *scores_to_perl(pTHX_ const std::vector<std::pair<std::string, double>> &scores) {
    AV *list = newAV();
    for (const auto &[name, score] : scores) {
        AV *pair = newAV();
        av_push(pair, new_name(aTHX_ name));
        av_push(pair, newSVnv(score));
        av_push(list, newRV_noinc((SV *)pair));
    }
    return sv_2mortal(newRV_noinc((SV *)list));
}

/* Runs capacity-aware scoring; on an exception falls back to `compatible` and flags it. */
template <class Aware, class Compat>
auto with_fallback(const ha_handle &h, bool &fell_back, Aware &&aware, Compat &&compat)
    -> decltype(compat()) {
    if (h.capacity_aware) {
        try {
            return aware();
        } catch (const std::bad_alloc &) {
            throw;
        } catch (...) {
            fell_back = true;
        }
    }
    return compat();
}

/* One scheduler method call. Sets *result to a mortal SV (or leaves it NULL for methods that
 * return nothing) and *fell_back when capacity-aware scoring failed and compatible was used. */
error_text run_method(pTHX_ hc::kind k, method m, SV **args, I32 items, SV **result,
                      bool *fell_back) {
    const method_spec spec = spec_of(k, m);
    const auto wanted = static_cast<I32>(spec.params.size());
    if (items < wanted) {
        return std::string("missing required parameter: '") + spec.params[items] + "'\n";
    }
    if (items > wanted) {
        return std::string("too many parameters for function '") + spec.name +
               "', (expected " + std::to_string(wanted) + ")\n";
    }
    ha_handle *h = nullptr;
    if (auto e = to_handle(aTHX_ k, args[0], h)) {
        return *e + "\n";
    }
    auto fail = [](const std::string &msg) -> error_text { return msg + "\n"; };
    const bool st = k == hc::kind::static_usage;

    switch (m) {
    case method::add_node: {
        std::string name;
        if (auto e = to_string(aTHX_ args[1], name)) {
            return fail(*e);
        }
        hc::status s;
        if (st) {
            std::uint64_t maxcpu = 0, maxmem = 0;
            if (auto e = to_usize(aTHX_ args[2], maxcpu)) {
                return fail(*e);
            }
            if (auto e = to_usize(aTHX_ args[3], maxmem)) {
                return fail(*e);
            }
            s = h->sched.add_static_node(std::move(name), maxcpu, maxmem);
        } else {
            hc::node_stats stats;
            if (auto e = to_dynamic_node(aTHX_ args[2], stats)) {
                return fail(*e);
            }
            s = h->sched.add_node(std::move(name), stats);
        }
        if (!s) {
            return fail(s.error());
        }
        return std::nullopt;
    }
    case method::remove_node: {
        std::string name;
        if (auto e = to_string(aTHX_ args[1], name, "a borrowed string")) {
            return fail(*e);
        }
        h->sched.remove_node(name);
        return std::nullopt;
    }
    case method::list_nodes: {
        AV *list = newAV();
        for (const std::string &n : h->sched.list_nodes()) {
            av_push(list, new_name(aTHX_ n));
        }
        *result = sv_2mortal(newRV_noinc((SV *)list));
        return std::nullopt;
    }
    case method::contains_node: {
        std::string name;
        if (auto e = to_string(aTHX_ args[1], name, "a borrowed string")) {
            return fail(*e);
        }
        *result = sv_2mortal(newSVuv(h->sched.contains_node(name) ? 1 : 0));
        return std::nullopt;
    }
    case method::add_resource: {
        std::string sid;
        if (auto e = to_string(aTHX_ args[1], sid)) {
            return fail(*e);
        }
        pve_resource r;
        if (auto e = to_pve_resource(aTHX_ args[2], k, r)) {
            return fail(*e);
        }
        auto s = h->sched.add_resource(std::move(sid), r.stats, r.running,
                                       std::move(r.current_node), std::move(r.target_node));
        if (!s) {
            return fail(s.error());
        }
        return std::nullopt;
    }
    case method::add_usage_to_node: {
        std::string node, sid;
        hc::service_stats stats;
        if (auto e = to_string(aTHX_ args[1], node, "a borrowed string")) {
            return fail(*e);
        }
        if (auto e = to_string(aTHX_ args[2], sid, "a borrowed string")) {
            return fail(*e);
        }
        if (auto e = to_static_stats(aTHX_ args[3], stats)) {
            return fail(*e);
        }
        auto s = h->sched.add_resource_usage_to_node(node, sid, stats);
        if (!s) {
            return fail(s.error());
        }
        return std::nullopt;
    }
    case method::remove_resource: {
        std::string sid;
        if (auto e = to_string(aTHX_ args[1], sid, "a borrowed string")) {
            return fail(*e);
        }
        h->sched.remove_resource(sid);
        return std::nullopt;
    }
    case method::imbalance: {
        const double v = with_fallback(
            *h, *fell_back, [&] { return ca::node_imbalance(h->sched, h->cfg); },
            [&] { return h->sched.node_imbalance(); });
        *result = sv_2mortal(newSVnv(v));
        return std::nullopt;
    }
    case method::balancing:
    case method::balancing_topsis: {
        std::vector<hc::compact_candidate> candidates;
        std::uint64_t limit = 0;
        if (auto e = to_candidates(aTHX_ args[1], candidates)) {
            return fail(*e);
        }
        if (auto e = to_usize(aTHX_ args[2], limit)) {
            return fail(*e);
        }
        const bool topsis = m == method::balancing_topsis;
        auto ranked = with_fallback(
            *h, *fell_back,
            [&] {
                return ca::score_best_balancing_migrations(h->sched, candidates,
                                                           static_cast<std::size_t>(limit), h->cfg);
            },
            [&] {
                return topsis ? h->sched.score_best_balancing_migrations_topsis(
                                    candidates, static_cast<std::size_t>(limit))
                              : h->sched.score_best_balancing_migrations(
                                    candidates, static_cast<std::size_t>(limit));
            });
        if (!ranked) {
            return fail(ranked.error());
        }
        *result = migrations_to_perl(aTHX_ *ranked);
        return std::nullopt;
    }
    case method::start:
    case method::start_compatible: {
        hc::service_stats stats;
        auto e = st ? to_static_stats(aTHX_ args[1], stats) : to_dynamic_stats(aTHX_ args[1], stats);
        if (e) {
            return fail(*e);
        }
        auto scores = m == method::start_compatible
                          ? h->sched.score_nodes_to_start(stats)
                          : with_fallback(
                                *h, *fell_back,
                                [&] { return ca::score_nodes_to_start(h->sched, stats, h->cfg); },
                                [&] { return h->sched.score_nodes_to_start(stats); });
        if (!scores) {
            return fail(scores.error());
        }
        *result = scores_to_perl(aTHX_ *scores);
        return std::nullopt;
    }
    case method::mode: {
        const char *name = h->capacity_aware ? "capacity-aware" : "compatible";
        *result = sv_2mortal(newSVpv(name, 0));
        return std::nullopt;
    }
    }
    return std::string("unknown method\n");
}

/* The XSUB side of every scheduler method: returns the error SV to croak with, or NULL. */
SV *invoke_method(pTHX_ hc::kind k, method m, SV **args, I32 items, SV **result) {
    bool fell_back = false;
    SV *err = guarded(aTHX_ "pve-balancer: HA scheduler: ", [&]() {
        /* Copy the arguments off the Perl stack: get-magic may run Perl code that moves it. */
        std::vector<SV *> argv(args, args + items);
        return run_method(aTHX_ k, m, argv.data(), items, result, &fell_back);
    });
    if (fell_back && !fallback_warned) {
        fallback_warned = true;
        warn("pve-balancer: capacity-aware HA scheduling failed, using compatible scores "
             "(warned once)\n");
    }
    return err;
}

/* Engine options for capacity-aware mode from a hash {key => text} (balancer.cfg values), each
 * checked by the engine's own option parser (pvebal::apply_option, docs/options.md). Keys that
 * are not engine options belong to other parts of pve-balancer and are skipped; a bad value is
 * skipped (its default stays) and its message pushed to `problems`, which the Perl side warns
 * about. */
/* A byte count of the node info: a non-negative integer (a number or its text). */
bool node_bytes(pTHX_ SV *sv, std::uint64_t &out) {
    SvGETMAGIC(sv);
    if (!SvOK(sv) || SvROK(sv)) {
        return false;
    }
    const std::string text = bytes_of(aTHX_ sv);
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && ptr == end && !text.empty();
}

/* What the hook knows of each node's memory needs, from a hash {node => {zfs => BYTES,
 * 'arc-max' => BYTES, 'arc-size' => BYTES}} (every key optional; PVE::Balancer::HAScheduler
 * node_memory_info). A node whose entry is not of that form is skipped with a problem: it
 * keeps the flat memory-reserve. */
std::vector<ca::node_memory_info> to_node_memory(pTHX_ SV *nodes, AV *problems) {
    std::vector<ca::node_memory_info> out;
    auto problem = [&](const std::string &msg) {
        if (problems) {
            av_push(problems, newSVpvn_utf8(msg.data(), msg.size(), 1));
        }
    };
    SvGETMAGIC(nodes);
    if (!SvOK(nodes)) {
        return out;
    }
    if (!SvROK(nodes) || SvTYPE(SvRV(nodes)) != SVt_PVHV) {
        problem("node memory info: expected a HASH reference");
        return out;
    }
    HV *hv = (HV *)SvRV(nodes);
    hv_iterinit(hv);
    while (HE *he = hv_iternext(hv)) {
        ca::node_memory_info info;
        info.name = bytes_of(aTHX_ hv_iterkeysv(he));
        SV *v = HeVAL(he);
        if (!SvROK(v) || SvTYPE(SvRV(v)) != SVt_PVHV) {
            problem("node memory info of " + info.name + ": expected a HASH reference");
            continue;
        }
        HV *entry = (HV *)SvRV(v);
        bool ok = true;
        for (const char *key : {"zfs", "arc-max", "arc-size"}) {
            SV **field = hv_fetch(entry, key, static_cast<I32>(std::strlen(key)), 0);
            if (!field || !SvOK(*field)) {
                continue;
            }
            std::uint64_t bytes = 0;
            if (!node_bytes(aTHX_ *field, bytes)) {
                problem("node memory info of " + info.name + ": " + key +
                        ": expected a non-negative integer (bytes)");
                ok = false;
                break;
            }
            if (std::strcmp(key, "zfs") == 0) {
                info.zfs_pool_bytes = bytes;
            } else if (std::strcmp(key, "arc-max") == 0) {
                if (bytes > 0) { /* zfs_arc_max 0: the module's default */
                    info.arc_max = bytes;
                }
            } else {
                info.arc_size = bytes;
            }
        }
        if (ok) {
            out.push_back(std::move(info));
        }
    }
    std::sort(out.begin(), out.end(),
              [](const auto &a, const auto &b) { return a.name < b.name; });
    return out;
}

error_text to_settings(pTHX_ SV *options, AV *problems, ca::settings &out, pvebal::options &o) {
    SvGETMAGIC(options);
    if (SvOK(options)) {
        if (!SvROK(options) || SvTYPE(SvRV(options)) != SVt_PVHV) {
            return std::string("pve-balancer: HA scheduler options: expected a HASH reference\n");
        }
        HV *hv = (HV *)SvRV(options);
        std::vector<std::pair<std::string, std::string>> pairs;
        hv_iterinit(hv);
        while (HE *he = hv_iternext(hv)) {
            std::string key = bytes_of(aTHX_ hv_iterkeysv(he));
            std::string value;
            if (auto e = plain_string(aTHX_ HeVAL(he), key, value)) {
                return "pve-balancer: " + e->to_string() + "\n";
            }
            pairs.emplace_back(std::move(key), std::move(value));
        }
        std::sort(pairs.begin(), pairs.end()); /* deterministic order of the messages */
        const std::vector<std::string> &known = pvebal::option_keys();
        for (const auto &[key, value] : pairs) {
            if (!std::binary_search(known.begin(), known.end(), key)) {
                continue;
            }
            if (auto ok = pvebal::apply_option(o, key, value); !ok) {
                if (problems) {
                    const std::string msg = key + ": " + ok.error().message;
                    av_push(problems, newSVpvn_utf8(msg.data(), msg.size(), 1));
                }
            }
        }
    }
    out = ca::settings_of(o);
    return std::nullopt;
}

SV *new_handle(pTHX_ SV *klass, hc::kind k, bool capacity_aware, bool normalize, SV *options,
               SV *problems, SV *nodes, SV **result) {
    ha_handle *h = nullptr;
    SV *err = guarded(aTHX_ "pve-balancer: HA scheduler: ", [&]() -> error_text {
        AV *problem_list = nullptr;
        SvGETMAGIC(problems);
        if (SvROK(problems) && SvTYPE(SvRV(problems)) == SVt_PVAV) {
            problem_list = (AV *)SvRV(problems);
        }
        ca::settings cfg;
        pvebal::options o;
        if (auto e = to_settings(aTHX_ options, problem_list, cfg, o)) {
            return e;
        }
        /* per-node reserves, the balancer's rule (node_memory_reserve): Static counts guests
         * at their configured size, Dynamic their measured usage, which includes the ARC */
        const auto node_memory = to_node_memory(aTHX_ nodes, problem_list);
        auto with_nodes = ca::settings_of(
            o, node_memory,
            k == hc::kind::static_usage ? pvebal::load_mode::assigned : pvebal::load_mode::used);
        if (with_nodes) {
            cfg = std::move(*with_nodes);
        } else if (problem_list) {
            const std::string msg = with_nodes.error().to_string();
            av_push(problem_list, newSVpvn_utf8(msg.data(), msg.size(), 1));
        }
        h = new ha_handle(k, capacity_aware, normalize, cfg);
        return std::nullopt;
    });
    if (err) {
        return err;
    }
    HV *hv = newHV();
    SV *rv = sv_2mortal(newRV_noinc((SV *)hv));
    sv_magicext((SV *)hv, nullptr, PERL_MAGIC_ext, vtbl_of(k), reinterpret_cast<const char *>(h), 0);
    sv_bless(rv, gv_stashsv(klass, GV_ADD));
    *result = rv;
    return nullptr;
}

void destroy_handle(pTHX_ SV *self) {
    if (!SvROK(self)) {
        return;
    }
    SV *obj = SvRV(self);
    for (hc::kind k : {hc::kind::static_usage, hc::kind::dynamic_usage}) {
        if (mg_findext(obj, PERL_MAGIC_ext, vtbl_of(k))) {
            sv_unmagicext(obj, PERL_MAGIC_ext, vtbl_of(k));
        }
    }
}

} // namespace

#endif