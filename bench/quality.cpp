// bench-quality: plan quality of ours against the baselines on one snapshot each, with the same
// migration budget. Writes a markdown fragment (stdout of the report: OUT/quality.md) and a TSV.
//
//   bench-quality OUTDIR [--quick]
#include "common.h"
#include "planners.h"

#include "pvebal/io.h"
#include "pvebal/report.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

using namespace bench;

namespace {

struct Case {
    Scenario s;
    bool milp = false;
    double milp_time = 30;
};

struct Row {
    std::string planner;
    Metrics m;
    int moves = 0;
    double gib = 0, seconds = 0;
    Violations v;
    bool replayed = true;
    PlanOut p;
};

// "ours": the defaults, what a user gets (the plan stops once the objective is within
// `threshold`, by design against thrashing). "ours t=0": the same with threshold 0, so that it
// spends the budget like every other planner here: the search quality at the same stopping rule.
const char *kPlanners[] = {"ours", "ours t=0", "ProxLB mem",  "ProxLB cpu",
                           "CRS",  "CRS t=0",  "CRS t=0 m=0", "MILP"};
const char *kOurs[] = {"ours", "ours t=0"};
bool is_ours(const std::string &pn) {
    return pn.rfind("ours", 0) == 0;
}

Scenario planetlab_snapshot(const std::string &day, int slot, std::uint64_t seed) {
    const PlanetLabDay d =
        load_planetlab(shared_data("planetlab-cloudsim/planetlab_" + day + ".csv"), day);
    const PlanetLabSizing z = planetlab_sizing(d.util.size(), seed);
    Scenario s;
    s.name = "pl-" + day.substr(4) + "-noon";
    const int nodes = static_cast<int>((d.util.size() + 79) / 80);
    for (int n = 0; n < nodes; ++n) {
        s.nodes.push_back({fmt("pve%02d", n + 1), 40, 128 * GiB, 0.5, 4 * GiB});
    }
    for (size_t v = 0; v < d.util.size(); ++v) {
        Guest g;
        g.vmid = static_cast<std::uint32_t>(1000 + v);
        g.name = fmt("pl-%zu", v);
        g.maxcpu = z.vcpus[v];
        g.cpu = d.util[v][static_cast<size_t>(slot)] / 100.0;
        g.maxmem = z.maxmem[v];
        g.mem = std::round(z.maxmem[v] * z.mem_share[v]);
        s.guests.push_back(g);
    }
    s.place = skewed_placement(s, seed, 1.0, 0.85, true);
    normalize_overhead(s, s.place);
    s.source = fmt("PlanetLab %s slot %d (12:00), %zu VMs on %d x (40 threads / 128 GiB), skewed "
                   "placement seed %llu",
                   day.c_str(), slot, d.util.size(), nodes, static_cast<unsigned long long>(seed));
    return s;
}

std::string num(double x, int prec = 4) {
    if (std::isnan(x)) {
        return "—";
    }
    return fmt("%.*f", prec, x);
}

} // namespace

int main(int argc, char **argv) {
    const std::string outdir = argc > 1 ? argv[1] : "bench/out";
    const bool quick = argc > 2 && std::string(argv[2]) == "--quick";
    std::vector<Case> cases;
    auto add_file = [&](const std::string &file, const std::string &name, int budget, bool milp,
                        double tl) {
        Case c;
        c.s = load_snapshot_file(shared_data("bitbrains-rnd/snapshots/" + file), name);
        c.s.source = "Bitbrains snapshot ../shared/data/bitbrains-rnd/snapshots/" + file;
        c.s.budget = budget;
        c.milp = milp;
        c.milp_time = tl;
        cases.push_back(std::move(c));
    };
    add_file("bb-60vm-4node.json", "bb-60vm-4node", 10, true, 20);
    add_file("bb-120vm-6node-tags.json", "bb-120vm-6node-tags", 10, true, 30);
    add_file("bb-500vm-12node.json", "bb-500vm-12node", 20, false, 0);
    for (auto [day, seed] : {std::pair<const char *, int>{"20110303", 11}, {"20110322", 12}}) {
        Case c;
        c.s = planetlab_snapshot(day, 144, static_cast<std::uint64_t>(seed));
        c.s.budget = 20;
        cases.push_back(std::move(c));
    }
    struct G {
        int nodes;
        bool tight, rules;
        double threads, mem;
        int budget;
        bool milp;
    };
    const std::vector<G> gens = {
        {4, false, false, 32, 256, 10, true},  {4, true, true, 32, 256, 10, true},
        {8, false, true, 32, 256, 10, true},   {8, true, false, 32, 256, 10, true},
        {16, false, true, 64, 512, 20, false}, {32, true, false, 64, 512, 20, false},
        {64, false, true, 64, 512, 32, false}, {64, true, true, 64, 512, 32, false},
    };
    std::uint64_t seed = 100;
    for (const G &g : gens) {
        GenSpec spec;
        spec.nodes = g.nodes;
        spec.tight = g.tight;
        spec.rules = g.rules;
        spec.node_threads = g.threads;
        spec.node_mem_gib = g.mem;
        spec.seed = ++seed;
        Case c;
        c.s = generate(spec, fmt("gen-%dn-%s%s", g.nodes, g.tight ? "tight" : "loose",
                                 g.rules ? "-rules" : ""));
        c.s.budget = g.budget;
        c.milp = g.milp && !(quick && g.nodes > 4);
        c.milp_time = 20;
        cases.push_back(std::move(c));
    }

    std::ofstream tsv(outdir + "/quality.tsv");
    std::ofstream pivot(outdir + "/quality-pivot.tsv");
    pivot << "scenario\tbefore";
    for (const char *pn : kPlanners) {
        pivot << '\t' << pn;
    }
    pivot << '\n';
    tsv << "scenario\tplanner\timbalance\tobjective\tproxy\tl1\tcpu_sd\tcpu_max\tmem_sd\tmem_"
           "max\tmoves\tgib\tseconds"
           "\tviol_cap\tviol_oom\tviol_rules\tplan_ms\n";
    std::ostringstream detail, head_obj, head_imb, head_ratio, scen;
    std::map<std::string, Violations> viol_total;
    std::map<std::string, int> moves_total;
    std::map<std::string, double> ms_total;
    std::ostringstream losses, stops, targets;
    // Per variant of ours (kOurs): lowest of the non-MILP planners, at most 1.10x the MILP.
    std::map<std::string, int> ours_best_obj, ours_best_imb, ours_le_milp, ours_within_110;
    std::map<std::string, double> worst_ratio;
    std::map<std::string, std::string> worst_ratio_case;
    int cases_n = 0, crs_beats_imb = 0, milp_cases = 0;
    head_obj << "| scenario | nodes / guests | budget | before | ours | ours t=0 | ProxLB mem | "
                "ProxLB cpu | CRS | CRS t=0 | CRS t=0 m=0 | MILP |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    head_imb << "| scenario | before | ours | ours t=0 | ProxLB mem | ProxLB cpu | CRS | CRS t=0 | "
                "CRS t=0 m=0 | MILP |\n"
                "|---|---|---|---|---|---|---|---|---|---|\n";
    head_ratio << "| scenario | MILP status | MILP proxy | lower bound | ours | ours t=0 | "
                  "ProxLB mem | ProxLB cpu | CRS | CRS t=0 | CRS t=0 m=0 |\n"
                  "|---|---|---|---|---|---|---|---|---|---|---|\n";
    targets << "| scenario | budget | ours (migr.) | ours t=0 (migr.) | best other non-MILP "
               "(migr.) | MILP (migr.) | ours t=0 / MILP (proxy) | ours t=0 lowest non-MILP |\n"
               "|---|---|---|---|---|---|---|---|\n";
    scen << "| scenario | source | budget |\n|---|---|---|\n";
    for (Case &c : cases) {
        Scenario &s = c.s;
        std::cerr << "quality: " << s.name << " (" << s.nodes.size() << " nodes, "
                  << s.guests.size() << " guests)\n";
        scen << "| " << s.name << " | " << s.source << " | " << s.budget << " |\n";
        // Engine view for the cost model.
        auto snap = pvebal::read_snapshot(to_json(s, s.place));
        if (!snap) {
            std::cerr << snap.error().to_string() << "\n";
            return 1;
        }
        const pvebal::cluster &cl = snap->c;
        // PVEBAL_BENCH_DUMP=DIR: write each scenario's snapshot (for tuning with the CLI).
        if (const char *dump = std::getenv("PVEBAL_BENCH_DUMP"); dump != nullptr && *dump != 0) {
            std::ofstream(std::string(dump) + "/" + s.name + ".json") << to_json(s, s.place);
        }
        const Metrics before = metrics_of(s, usage_of(s, s.place));
        std::vector<Row> rows;
        for (const char *name : kPlanners) {
            const std::string pn = name;
            if (pn == "MILP" && !c.milp) {
                continue;
            }
            // PVEBAL_BENCH_ONLY="ours,MILP": only these planners (a quick look while tuning;
            // the tables then miss the others, so never for BENCHMARKS.md).
            if (const char *only = std::getenv("PVEBAL_BENCH_ONLY");
                only != nullptr && *only != 0 &&
                ("," + std::string(only) + ",").find("," + pn + ",") == std::string::npos) {
                continue;
            }
            Row r;
            r.planner = pn;
            if (pn == "ours") {
                r.p = plan_ours(s, s.place, fmt("{\"max-migrations\":%d}", s.budget));
            } else if (pn == "ours t=0") {
                r.p =
                    plan_ours(s, s.place, fmt("{\"max-migrations\":%d,\"threshold\":0}", s.budget));
            } else if (pn == "ProxLB mem" || pn == "ProxLB cpu") {
                ProxlbConfig pc;
                pc.cpu_method = pn == "ProxLB cpu";
                pc.budget = s.budget;
                r.p = plan_proxlb(s, s.place, pc);
            } else if (pn.rfind("CRS", 0) == 0) {
                CrsConfig cc;
                cc.budget = s.budget;
                cc.threshold = pn == "CRS" ? 0.3 : 0.0;
                cc.margin = pn == "CRS t=0 m=0" ? 0.0 : 0.1;
                r.p = plan_crs(s, s.place, cc);
            } else {
                MilpConfig mc;
                mc.budget = s.budget;
                mc.time_limit = c.milp_time;
                mc.workdir = outdir;
                mc.tag = "milp-" + s.name;
                r.p = plan_milp(s, s.place, mc);
                r.replayed = false;
            }
            std::vector<int> place = s.place;
            if (r.replayed) {
                r.v = replay(s, place, r.p.moves);
            } else {
                for (const Move &m : r.p.moves) {
                    place[static_cast<size_t>(m.guest)] = m.to;
                }
            }
            r.m = metrics_of(s, usage_of(s, place));
            r.moves = static_cast<int>(r.p.moves.size());
            std::map<int, double> wave_time;
            for (const Move &m : r.p.moves) {
                const pvebal::guest &g = cl.guests[static_cast<size_t>(m.guest)];
                const pvebal::migration_cost mc = pvebal::estimate_cost(
                    cl, snap->opts, static_cast<pvebal::guest_id>(m.guest), pvebal::mode_for(g),
                    pvebal::has_local_disks(cl, static_cast<pvebal::guest_id>(m.guest)));
                r.gib += mc.bytes / GiB;
                wave_time[m.wave] = std::max(wave_time[m.wave], mc.seconds);
            }
            for (auto &[w, t] : wave_time) {
                r.seconds += t;
            }
            if (is_ours(pn) && std::fabs(r.p.engine_objective_after - r.m.objective) > 0.002) {
                std::cerr << "  note: engine objective " << r.p.engine_objective_after
                          << " vs bench " << r.m.objective << "\n";
            }
            if (r.replayed) {
                Violations &t = viol_total[pn];
                t.capacity += r.v.capacity;
                t.oom += r.v.oom;
                t.rules += r.v.rules;
                t.states += r.v.states;
            }
            moves_total[pn] += r.moves;
            ms_total[pn] += r.p.ms;
            tsv << s.name << '\t' << pn << '\t' << r.m.imbalance << '\t' << r.m.objective << '\t'
                << r.m.proxy << '\t' << r.m.l1 << '\t' << r.m.cpu_sd << '\t' << r.m.cpu_max << '\t'
                << r.m.mem_sd << '\t' << r.m.mem_max << '\t' << r.moves << '\t' << r.gib << '\t'
                << r.seconds << '\t' << r.v.capacity << '\t' << r.v.oom << '\t' << r.v.rules << '\t'
                << r.p.ms << '\n';
            rows.push_back(r);
        }
        // Detail table.
        detail << "\n#### " << s.name << "\n\n"
               << s.source << "; " << s.nodes.size() << " nodes, " << s.guests.size()
               << " guests, budget " << s.budget << " migrations.\n\n";
        detail << "| planner | imbalance | objective | proxy | L1 dev | CPU sd / max | mem sd / "
                  "max | migr. | GiB | est. time | "
                  "capacity viol. (OOM) | rule viol. | plan ms "
                  "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
        detail << "| *before* | " << num(before.imbalance) << " | " << num(before.objective)
               << " | " << num(before.proxy) << " | " << num(before.l1) << " | "
               << num(before.cpu_sd, 3) << " / " << num(before.cpu_max, 3) << " | "
               << num(before.mem_sd, 3) << " / " << num(before.mem_max, 3) << " | | | | | | |\n";
        for (const Row &r : rows) {
            detail << "| " << r.planner << " | " << num(r.m.imbalance) << " | "
                   << num(r.m.objective) << " | " << num(r.m.proxy) << " | " << num(r.m.l1) << " | "
                   << num(r.m.cpu_sd, 3) << " / " << num(r.m.cpu_max, 3) << " | "
                   << num(r.m.mem_sd, 3) << " / " << num(r.m.mem_max, 3) << " | " << r.moves
                   << " | " << num(r.gib, 1) << " | " << fmt("%.0f s", r.seconds) << " | "
                   << (r.replayed ? fmt("%d (%d)", r.v.capacity, r.v.oom) : std::string("n/a"))
                   << " | " << (r.replayed ? std::to_string(r.v.rules) : std::string("n/a"))
                   << " | " << num(r.p.ms, 1) << " |\n";
        }
        for (const Row &r : rows) {
            if (!r.v.examples.empty()) {
                detail << "\n" << r.planner << ", first violations: " << r.v.examples.front();
                for (size_t k = 1; k < r.v.examples.size() && k < 3; ++k) {
                    detail << "; " << r.v.examples[k];
                }
                detail << ".\n";
            }
        }
        pivot << s.name << '\t' << before.objective;
        for (const char *pn : kPlanners) {
            const Row *r = nullptr;
            for (const Row &x : rows) {
                if (x.planner == pn) {
                    r = &x;
                }
            }
            pivot << '\t';
            if (r && r->p.ok) {
                pivot << r->m.objective;
            } else {
                pivot << "NaN";
            }
        }
        pivot << '\n';
        if (const char *only = std::getenv("PVEBAL_BENCH_ONLY"); only != nullptr && *only != 0) {
            continue; // quality.tsv only: the tables need every planner
        }
        // Headline rows.
        auto find = [&](const std::string &pn) -> const Row * {
            for (const Row &r : rows) {
                if (r.planner == pn) {
                    return &r;
                }
            }
            return nullptr;
        };
        auto cell = [&](const std::string &pn, bool imb) {
            const Row *r = find(pn);
            if (!r) {
                return std::string("—");
            }
            std::string x = num(imb ? r->m.imbalance : r->m.objective);
            if (!imb && r->replayed && (r->v.capacity + r->v.rules) > 0) {
                x += fmt(" ⚠%d", r->v.capacity + r->v.rules);
            }
            return x;
        };
        head_obj << "| " << s.name << " | " << s.nodes.size() << " / " << s.guests.size() << " | "
                 << s.budget << " | " << num(before.objective) << " | " << cell("ours", false)
                 << " | " << cell("ours t=0", false) << " | " << cell("ProxLB mem", false) << " | "
                 << cell("ProxLB cpu", false) << " | " << cell("CRS", false) << " | "
                 << cell("CRS t=0", false) << " | " << cell("CRS t=0 m=0", false) << " | ";
        const Row *milp = find("MILP");
        if (milp && milp->p.ok) {
            head_obj << num(milp->m.objective);
        } else {
            head_obj << (milp ? "failed" : "—");
        }
        head_obj << " |\n";
        head_imb << "| " << s.name << " | " << num(before.imbalance) << " | " << cell("ours", true)
                 << " | " << cell("ours t=0", true) << " | " << cell("ProxLB mem", true) << " | "
                 << cell("ProxLB cpu", true) << " | " << cell("CRS", true) << " | "
                 << cell("CRS t=0", true) << " | " << cell("CRS t=0 m=0", true) << " | "
                 << cell("MILP", true) << " |\n";
        if (milp && milp->p.ok && milp->m.proxy > 0) {
            ++milp_cases;
            const bool proven = milp->p.status.rfind("Optimal", 0) == 0;
            head_ratio << "| " << s.name << " | "
                       << (proven ? std::string("optimal")
                                  : "time limit, gap " +
                                        fmt("%.0f%%", 100 * (1 - milp->p.bound / milp->m.proxy)))
                       << " | " << num(milp->m.proxy) << " | " << num(milp->p.bound);
            for (const char *pn : {"ours", "ours t=0", "ProxLB mem", "ProxLB cpu", "CRS", "CRS t=0",
                                   "CRS t=0 m=0"}) {
                const Row *r = find(pn);
                const double ratio = r->m.proxy / milp->m.proxy;
                head_ratio << " | " << fmt("%.2f", ratio);
                if (is_ours(pn)) {
                    if (ratio > worst_ratio[pn]) {
                        worst_ratio[pn] = ratio;
                        worst_ratio_case[pn] = s.name;
                    }
                    ours_le_milp[pn] += ratio <= 1.0 + 1e-6;
                    ours_within_110[pn] += ratio <= 1.10 + 1e-9;
                }
            }
            head_ratio << " |\n";
        }
        // Summary counters (baselines only; the MILP is a reference).
        ++cases_n;
        // Each variant of ours against the baselines (not against the other variant).
        for (const char *on : kOurs) {
            const Row *ours = find(on);
            bool best_obj = true, best_imb = true;
            for (const Row &r : rows) {
                if (is_ours(r.planner) || r.planner == "MILP") {
                    continue;
                }
                best_obj = best_obj && ours->m.objective <= r.m.objective + 1e-9;
                best_imb = best_imb && ours->m.imbalance <= r.m.imbalance + 1e-9;
            }
            for (const Row &r : rows) {
                if (is_ours(r.planner)) {
                    continue;
                }
                if (r.m.objective < ours->m.objective - 1e-9) {
                    losses << fmt("- %s: %s reaches objective %.4f, %s %.4f (%d vs %d "
                                  "migrations).\n",
                                  s.name.c_str(), r.planner.c_str(), r.m.objective, on,
                                  ours->m.objective, r.moves, ours->moves);
                }
            }
            ours_best_obj[on] += best_obj;
            ours_best_imb[on] += best_imb;
        }
        auto why_of = [&](const Row *r) {
            std::string why = r->p.status;
            if (why.empty()) {
                why = r->moves >= s.budget
                          ? "budget spent"
                          : "no further move gains min-improvement net of its cost";
            }
            return why;
        };
        const Row *ours = find("ours");
        const Row *ours0 = find("ours t=0");
        stops << "| " << s.name << " | " << ours->moves << " of " << s.budget << " | "
              << why_of(ours) << " | " << ours0->moves << " | " << why_of(ours0) << " |\n";
        // The targets row: ours t=0 against the best other non-MILP planner and the MILP.
        const Row *peer = nullptr;
        for (const Row &r : rows) {
            if (!is_ours(r.planner) && r.planner != "MILP" &&
                (!peer || r.m.objective < peer->m.objective - 1e-12)) {
                peer = &r;
            }
        }
        targets << "| " << s.name << " | " << s.budget << " | " << num(ours->m.objective) << " ("
                << ours->moves << ") | " << num(ours0->m.objective) << " (" << ours0->moves
                << ") | "
                << (peer ? peer->planner + " " + num(peer->m.objective) + " (" +
                               std::to_string(peer->moves) + ")"
                         : std::string("—"))
                << " | ";
        if (milp && milp->p.ok && milp->m.proxy > 0) {
            targets << num(milp->m.objective) << " (" << milp->moves << ") | "
                    << fmt("%.2f", ours0->m.proxy / milp->m.proxy);
        } else {
            targets << "— | —";
        }
        targets << " | " << (!peer || ours0->m.objective <= peer->m.objective + 1e-9 ? "yes" : "no")
                << " |\n";
        const Row *crs0 = find("CRS t=0 m=0");
        crs_beats_imb += crs0->m.imbalance < ours0->m.imbalance - 1e-9;
    }
    std::ofstream md(outdir + "/quality.md");
    md << "### Scenarios\n\n" << scen.str() << "\n";
    md << "### Our objective after the plan (lower is better)\n\n"
          "Our objective (docs/algorithms.md) of the final placement. ⚠N: the plan passed through "
          "N "
          "hard-constraint violations when replayed (see below). MILP: objective of the MILP's "
          "placement "
          "(its status is in the ratio table).\n\n"
       << head_obj.str() << "\n";
    md << "### Proxmox CRS imbalance after the plan (lower is better)\n\n"
       << head_imb.str() << "\n";
    if (milp_cases) {
        md << "### Ratio to the MILP optimum\n\nProxy objective sqrt(J') of each planner's final "
              "placement divided by that of the "
              "MILP's best placement (below 1.00: the planner beat the MILP, which can happen when "
              "CBC stopped at its time limit "
              "or through the tangent approximation). The lower bound is CBC's proven bound on "
              "sqrt(J'); the gap is "
              "1 - bound / MILP proxy.\n\n"
           << head_ratio.str() << "\n";
    }
    md << "### Hard-constraint violations in intermediate states, all scenarios\n\n"
          "| planner | migrations | capacity | of which OOM | rules | states with a violation | "
          "total plan time (ms) |\n"
          "|---|---|---|---|---|---|---|\n";
    for (const char *pn : kPlanners) {
        if (std::string(pn) == "MILP") {
            continue;
        }
        const Violations &t = viol_total[pn];
        md << "| " << pn << " | " << moves_total[pn] << " | " << t.capacity << " | " << t.oom
           << " | " << t.rules << " | " << t.states << " | " << num(ms_total[pn], 1) << " |\n";
    }
    md << "\n### Summary (computed)\n\n";
    md << "The search-quality targets (issue 17: lowest of the non-MILP planners, within 1.10x "
          "of the MILP) are judged on **ours t=0**: ours with `threshold` 0, which like every "
          "other planner here (and the MILP) spends the whole budget. **ours** (the defaults, "
          "what a user gets) stops once the objective is within `threshold` (0.02), by design "
          "against thrashing, so on the well-balanced scenarios it stops earlier and higher. "
          "Every planner has the same migration budget; the migrations each used are in the "
          "targets table below.\n\n";
    for (const char *on : kOurs) {
        md << fmt("- %s has the lowest objective of all non-MILP planners in %d of %d "
                  "scenarios, and the lowest Proxmox imbalance in %d of %d.\n",
                  on, ours_best_obj[on], cases_n, ours_best_imb[on], cases_n);
        if (milp_cases) {
            md << fmt("- On the %d scenarios with a MILP reference, %s is at most %.2fx the "
                      "MILP's proxy objective (worst: %s), within 1.10x in %d of them; it "
                      "matches or beats the MILP's placement in %d.\n",
                      milp_cases, on, worst_ratio[on], worst_ratio_case[on].c_str(),
                      ours_within_110[on], ours_le_milp[on]);
        }
    }
    md << fmt(
        "- CRS brute force without threshold and margin (t=0 m=0) reaches a lower Proxmox "
        "imbalance than ours t=0 in %d of %d "
        "scenarios (it optimises exactly that number; ours optimises per-resource balance).\n",
        crs_beats_imb, cases_n);
    md << "\nTargets per scenario (objective, migrations used in brackets; the ratio is of "
          "the MILP's proxy objective, as in the ratio table):\n\n"
       << targets.str() << "\n";
    md << "- Violations in intermediate states (capacity + rules):";
    for (const char *pn : kPlanners) {
        if (std::string(pn) != "MILP") {
            md << fmt(" %s %d;", pn, viol_total[pn].capacity + viol_total[pn].rules);
        }
    }
    md << "\n";
    md << "\nWhere another planner (or the MILP) reaches a lower objective than ours or ours "
          "t=0:\n\n"
       << (losses.str().empty() ? std::string("- nowhere.\n") : losses.str());
    md << "\nWhy ours stopped (the engine's first note, else derived from the result; a stop "
          "within "
          "`threshold` is by design):\n\n"
          "| scenario | ours: migrations used | ours: reason | ours t=0: migrations used | "
          "ours t=0: reason |\n|---|---|---|---|---|\n"
       << stops.str();
    md << "\n### Method notes\n\n- MILP: " << milp_description
       << "\n- PlanetLab snapshots: " << planetlab_sizing_text
       << " Nodes: one per 80 VMs, 40 threads and 128 GiB each, 0.5 cores and 4 GiB overhead; "
          "skewed first-fit placement "
          "on memory in use (node i drawn with weight 1/i, 85% fill).\n- Generated clusters: "
          "guests of 1/2/4/8 vCPUs "
          "(30/30/25/15%) and 2/4/8/16/32 GiB (20/30/25/17/8%), memory in use 50-95% of maxmem, "
          "CPU use scaled so the cluster "
          "is ~45% busy; guests are added until 40% (loose) or 80% (tight) of the memory is in "
          "use; skewed placement as "
          "above within 85% (88% tight) memory. With rules: keep-apart groups of 2-3 (12% of "
          "guests), keep-together "
          "pairs (6%), strict node affinity to half of the nodes (10%), all written as PVE 9 HA "
          "rules, every guest "
          "HA-managed.\n";
    md << "\n### Per scenario\n" << detail.str();
    std::cerr << "quality: done\n";
    return 0;
}
