// bench-overtime: replays real traces at 5-minute steps with each balancer running every N
// minutes, placements carried over. Writes OUT/overtime.md, OUT/overtime.tsv (summary) and
// OUT/series-<trace>.tsv (time series for the plots), and OUT/automatic.md: the automatic
// balancers side by side (migrations per day, time-averaged imbalance), pve-balancerd's
// cycles included when their placements are given (--manager).
//
//   bench-overtime OUTDIR [--period MINUTES] [--manager DIR]
//   bench-overtime --export DIR      write each trace for the simulator (PVE::Balancer::Sim):
//                                    DIR/<trace>.trace.json, then exit
//
// pve-balancerd is Perl (PVE::Balancer::Manager); bench/manager-replay runs it in the simulator
// over the exported traces and writes the placement at every step, DIR/<trace>.<variant>.jsonl
// (lines [time, {"vmid": "node"}]). Its rows here are scored from those placements with the
// same load model and metrics as every other row.
#include "common.h"
#include "planners.h"

#include <json/json.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

using namespace bench;

namespace {

struct Trace {
    std::string name;
    std::string source;
    Scenario s; // nodes and guests; values set per step
    int steps = 0;
    std::function<void(Scenario &, int)> set_step;
};

Trace bitbrains_trace() {
    Trace t;
    t.name = "bitbrains-2day";
    auto tr = std::make_shared<BitbrainsTrace>(
        load_bitbrains(shared_data("bitbrains-rnd/rnd_2013-08-28_2days_5min.csv")));
    // Nodes and initial placement of the 500-VM snapshot (which was built from this trace).
    const Scenario snap =
        load_snapshot_file(shared_data("bitbrains-rnd/snapshots/bb-500vm-12node.json"), "bb");
    Scenario &s = t.s;
    s.name = t.name;
    for (const Node &n : snap.nodes) {
        s.nodes.push_back({n.name, n.maxcpu, n.maxmem, 0.5, 4 * GiB});
    }
    std::map<std::uint32_t, int> node_of;
    for (size_t g = 0; g < snap.guests.size(); ++g) {
        node_of[snap.guests[g].vmid] = snap.place[g];
    }
    std::vector<size_t> order(tr->vm_ids.size());
    for (size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return tr->vm_ids[a] < tr->vm_ids[b]; });
    std::vector<size_t> col;
    for (size_t i : order) {
        Guest g;
        g.vmid = static_cast<std::uint32_t>(1000 + tr->vm_ids[i]);
        g.name = fmt("bb-%03d", tr->vm_ids[i]);
        s.guests.push_back(g);
        s.place.push_back(node_of.at(g.vmid));
        col.push_back(i);
    }
    t.steps = tr->slots;
    t.set_step = [tr, col](Scenario &sc, int k) {
        for (size_t g = 0; g < sc.guests.size(); ++g) {
            const size_t v = col[g];
            Guest &gs = sc.guests[g];
            gs.maxcpu = tr->cores[v][static_cast<size_t>(k)];
            gs.cpu = std::min(1.0, tr->cpu_pct[v][static_cast<size_t>(k)] / 100.0);
            gs.maxmem = tr->mem_cap_kb[v][static_cast<size_t>(k)] * 1024.0;
            gs.mem = std::min(gs.maxmem, tr->mem_use_kb[v][static_cast<size_t>(k)] * 1024.0);
        }
    };
    t.source = fmt(
        "Bitbrains Rnd 2013-08-28..30, 500 VMs, %d five-minute slots; 12 x (64 threads / 768 GiB), "
        "overhead 0.5 cores + 4 GiB per node; initial placement of bb-500vm-12node.json",
        t.steps);
    return t;
}

Trace planetlab_trace(const std::string &day, std::uint64_t seed) {
    Trace t;
    t.name = "planetlab-" + day;
    auto d = std::make_shared<PlanetLabDay>(
        load_planetlab(shared_data("planetlab-cloudsim/planetlab_" + day + ".csv"), day));
    const PlanetLabSizing z = planetlab_sizing(d->util.size(), seed);
    Scenario &s = t.s;
    s.name = t.name;
    const int nodes = static_cast<int>((d->util.size() + 79) / 80);
    for (int n = 0; n < nodes; ++n) {
        s.nodes.push_back({fmt("pve%02d", n + 1), 40, 128 * GiB, 0.5, 4 * GiB});
    }
    for (size_t v = 0; v < d->util.size(); ++v) {
        Guest g;
        g.vmid = static_cast<std::uint32_t>(1000 + v);
        g.name = fmt("pl-%zu", v);
        g.maxcpu = z.vcpus[v];
        g.maxmem = z.maxmem[v];
        g.mem = std::round(z.maxmem[v] * z.mem_share[v]);
        g.cpu = d->util[v][0] / 100.0;
        s.guests.push_back(g);
    }
    s.place = skewed_placement(s, seed, 1.0, 0.85, true);
    t.steps = 288;
    t.set_step = [d](Scenario &sc, int k) {
        for (size_t g = 0; g < sc.guests.size(); ++g) {
            sc.guests[g].cpu = d->util[g][static_cast<size_t>(k)] / 100.0;
        }
    };
    t.source =
        fmt("PlanetLab %s, %zu VMs, 288 five-minute slots; %d x (40 threads / 128 GiB), overhead "
            "0.5 cores + 4 GiB; "
            "skewed initial placement (seed %llu); sizes and memory as stated above (seed %llu)",
            day.c_str(), d->util.size(), nodes, static_cast<unsigned long long>(seed),
            static_cast<unsigned long long>(seed));
    return t;
}

struct Policy {
    std::string name;
    std::function<PlanOut(const Scenario &, const std::vector<int> &)> plan; // empty: no balancing
    double crs_threshold = -1; // CRS hold: imbalance above this in the last `hold` samples
    int hold = 0;
};

struct Summary {
    double imb = 0, obj = 0;
    int hot_steps = 0;
    int migrations = 0, moved_back = 0, runs = 0, runs_moving = 0;
    double gib = 0;
    Violations v;
    double plan_ms = 0;
};

// The trace as the simulator reads it (PVE::Balancer::Sim::TestHardware, load_trace): nodes,
// guests with their start node, and per guest its CPU (fraction of maxcpu) and memory (fraction
// of maxmem) at every step. Bitbrains changes a VM's size over time: maxcpu and maxmem are the
// largest it had, the fractions are of those.
void export_trace(Trace &t, const std::string &dir) {
    Scenario s = t.s;
    const size_t n = s.guests.size();
    std::vector<double> maxcpu(n, 0), maxmem(n, 0);
    std::vector<std::vector<double>> cores(n), bytes(n);
    for (int k = 0; k < t.steps; ++k) {
        t.set_step(s, k);
        for (size_t g = 0; g < n; ++g) {
            maxcpu[g] = std::max(maxcpu[g], s.guests[g].maxcpu);
            maxmem[g] = std::max(maxmem[g], s.guests[g].maxmem);
            cores[g].push_back(gcpu(s.guests[g]));
            bytes[g].push_back(gmem(s.guests[g]));
        }
    }
    std::ofstream out(dir + "/" + t.name + ".trace.json");
    out << "{\"source\":" << Json::valueToQuotedString(t.source.c_str())
        << ",\"step\":300,\n\"nodes\":{";
    for (size_t i = 0; i < s.nodes.size(); ++i) {
        const Node &nd = s.nodes[i];
        out << (i ? "," : "")
            << fmt("\n\"%s\":{\"id\":%zu,\"maxcpu\":%.0f,\"maxmem\":%.0f,\"overhead-cpu\":%g,"
                   "\"overhead-mem\":%.0f}",
                   nd.name.c_str(), i + 1, nd.maxcpu, nd.maxmem, nd.oh_cpu, nd.oh_mem);
    }
    out << "},\n\"guests\":{";
    for (size_t g = 0; g < n; ++g) {
        const Guest &gs = s.guests[g];
        out << (g ? "," : "")
            << fmt("\n\"%u\":{\"name\":\"%s\",\"node\":\"%s\",\"maxcpu\":%g,\"maxmem\":%.0f}",
                   gs.vmid, gs.name.c_str(), s.nodes[static_cast<size_t>(s.place[g])].name.c_str(),
                   maxcpu[g], maxmem[g]);
    }
    out << "},\n\"series\":{";
    for (size_t g = 0; g < n; ++g) {
        out << (g ? "," : "") << fmt("\n\"%u\":{\"cpu\":[", s.guests[g].vmid);
        for (int k = 0; k < t.steps; ++k) {
            out << (k ? "," : "")
                << fmt("%.4g", maxcpu[g] > 0 ? cores[g][static_cast<size_t>(k)] / maxcpu[g] : 0.0);
        }
        out << "],\"mem\":[";
        for (int k = 0; k < t.steps; ++k) {
            out << (k ? "," : "")
                << fmt("%.4g", maxmem[g] > 0 ? bytes[g][static_cast<size_t>(k)] / maxmem[g] : 0.0);
        }
        out << "]}";
    }
    out << "}}\n";
}

// pve-balancerd's placements at every step of a trace (see the top of this file), as node
// indices per guest; empty when the file is missing or does not fit the trace.
std::vector<std::vector<int>> read_placements(const std::string &file, const Scenario &s,
                                              int steps) {
    std::ifstream in(file);
    if (!in) {
        return {};
    }
    std::map<std::string, int> node_index;
    for (size_t i = 0; i < s.nodes.size(); ++i) {
        node_index[s.nodes[i].name] = static_cast<int>(i);
    }
    std::vector<std::vector<int>> out;
    std::string line;
    Json::CharReaderBuilder b;
    while (std::getline(in, line)) {
        Json::Value v;
        std::string err;
        std::istringstream ls(line);
        if (!Json::parseFromStream(b, ls, &v, &err) || !v.isArray() || v.size() != 2) {
            std::cerr << "overtime: " << file << ": unreadable line\n";
            return {};
        }
        std::vector<int> place(s.guests.size(), -1);
        for (size_t g = 0; g < s.guests.size(); ++g) {
            const Json::Value &node = v[1][std::to_string(s.guests[g].vmid)];
            auto it = node.isString() ? node_index.find(node.asString()) : node_index.end();
            if (it == node_index.end()) {
                std::cerr << "overtime: " << file << ": guest " << s.guests[g].vmid
                          << " has no node\n";
                return {};
            }
            place[g] = it->second;
        }
        out.push_back(std::move(place));
    }
    if (static_cast<int>(out.size()) != steps) {
        std::cerr << "overtime: " << file << ": " << out.size() << " steps, the trace has " << steps
                  << "\n";
        return {};
    }
    return out;
}

} // namespace

int main(int argc, char **argv) {
    const std::string outdir = argc > 1 ? argv[1] : "bench/out";
    int period = 30;
    std::string manager_dir;
    if (argc > 2 && std::string(argv[1]) == "--export") {
        std::vector<Trace> ts;
        ts.push_back(bitbrains_trace());
        ts.push_back(planetlab_trace("20110303", 21));
        ts.push_back(planetlab_trace("20110322", 22));
        for (Trace &t : ts) {
            export_trace(t, argv[2]);
            std::cerr << "overtime: exported " << t.name << "\n";
        }
        return 0;
    }
    for (int i = 2; i + 1 < argc; ++i) {
        if (std::string(argv[i]) == "--period") {
            period = std::atoi(argv[i + 1]);
        } else if (std::string(argv[i]) == "--manager") {
            manager_dir = argv[i + 1];
        }
    }
    const int every = period / 5;
    const int budget = 10;
    std::vector<Policy> policies;
    policies.push_back({"no balancing", nullptr});
    policies.push_back({"ours", [&](const Scenario &s, const std::vector<int> &p) {
                            return plan_ours(s, p, fmt("{\"max-migrations\":%d}", budget));
                        }});
    policies.push_back({"ProxLB mem", [&](const Scenario &s, const std::vector<int> &p) {
                            ProxlbConfig c;
                            c.budget = budget;
                            return plan_proxlb(s, p, c);
                        }});
    policies.push_back({"ProxLB cpu", [&](const Scenario &s, const std::vector<int> &p) {
                            ProxlbConfig c;
                            c.cpu_method = true;
                            c.budget = budget;
                            return plan_proxlb(s, p, c);
                        }});
    for (double th : {0.3, 0.1}) {
        Policy pol;
        pol.name = fmt("CRS t=%.1f", th);
        pol.crs_threshold = th;
        pol.hold = 3;
        pol.plan = [th, budget](const Scenario &s, const std::vector<int> &p) {
            CrsConfig c;
            c.threshold = th;
            c.budget = budget;
            return plan_crs(s, p, c);
        };
        policies.push_back(pol);
    }

    std::vector<Trace> traces;
    traces.push_back(bitbrains_trace());
    traces.push_back(planetlab_trace("20110303", 21));
    traces.push_back(planetlab_trace("20110322", 22));

    std::ofstream tsv(outdir + "/overtime.tsv");
    tsv << "trace\tpolicy\timbalance\tobjective\thot_pct\tmig_per_hour\tmoved_back\tgib\tviol_"
           "cap\tviol_rules\tplan_ms_median\n";
    std::ostringstream md, summary;
    md << "| trace | balancer | mean imbalance | mean objective | time with a node > 90% | "
          "migrations / h | moved back < 1 h | "
          "GiB of memory moved | violations (cap / rules) | runs that moved | plan ms (median) "
          "|\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    std::vector<std::pair<std::string, std::pair<double, double>>> results;
    struct AutoRow {
        std::string trace, balancer, runs;
        double per_day = 0, imb = 0;
        int moved_back = 0;
    };
    std::vector<AutoRow> auto_rows;
    for (Trace &t : traces) {
        std::cerr << "overtime: " << t.name << " (" << t.s.guests.size() << " guests, " << t.steps
                  << " steps)\n";
        std::vector<std::vector<double>> series_imb(policies.size()), series_max(policies.size());
        for (size_t pi = 0; pi < policies.size(); ++pi) {
            const Policy &pol = policies[pi];
            Scenario s = t.s;
            std::vector<int> place = s.place;
            Summary sum;
            std::vector<double> plan_ms;
            std::vector<double> imb_hist;
            // Last migrations: guest -> (step, from node)
            std::map<int, std::vector<std::pair<int, int>>> history;
            for (int k = 0; k < t.steps; ++k) {
                t.set_step(s, k);
                const Metrics pre = metrics_of(s, usage_of(s, place));
                imb_hist.push_back(pre.imbalance);
                if (pol.plan && k % every == 0) {
                    bool go = true;
                    if (pol.crs_threshold >= 0) { // HA hold: above the threshold for `hold` samples
                        go = static_cast<int>(imb_hist.size()) >= pol.hold;
                        for (int h = 0; go && h < pol.hold; ++h) {
                            go = imb_hist[imb_hist.size() - 1 - static_cast<size_t>(h)] >
                                 pol.crs_threshold;
                        }
                    }
                    if (go) {
                        // Planners see what PVE would report (capped node values).
                        Scenario view = s;
                        normalize_overhead(view, place);
                        const PlanOut p = pol.plan(view, place);
                        plan_ms.push_back(p.ms);
                        ++sum.runs;
                        std::vector<int> before = place;
                        const Violations v = replay(view, place, p.moves);
                        sum.v.capacity += v.capacity;
                        sum.v.oom += v.oom;
                        sum.v.rules += v.rules;
                        sum.runs_moving += !p.moves.empty();
                        for (const Move &m : p.moves) {
                            ++sum.migrations;
                            sum.gib += (s.guests[static_cast<size_t>(m.guest)].mem) / GiB;
                            auto &hist = history[m.guest];
                            for (const auto &[when, from] : hist) {
                                if (k - when <= 12 && from == m.to) {
                                    ++sum.moved_back;
                                    break;
                                }
                            }
                            hist.push_back({k, m.from});
                        }
                    }
                }
                const Usage u = usage_of(s, place);
                const Metrics m = metrics_of(s, u);
                sum.imb += m.imbalance;
                sum.obj += m.objective;
                bool hot = false;
                double mx = 0;
                for (size_t n = 0; n < s.nodes.size(); ++n) {
                    const double c = u.cpu[n] / s.nodes[n].maxcpu,
                                 me = u.mem[n] / s.nodes[n].maxmem;
                    hot = hot || c > 0.9 || me > 0.9;
                    mx = std::max({mx, c, me});
                }
                sum.hot_steps += hot;
                series_imb[pi].push_back(m.imbalance);
                series_max[pi].push_back(mx);
            }
            const double hours = t.steps * 5.0 / 60.0;
            const double med = median(plan_ms);
            tsv << t.name << '\t' << pol.name << '\t' << sum.imb / t.steps << '\t'
                << sum.obj / t.steps << '\t' << 100.0 * sum.hot_steps / t.steps << '\t'
                << sum.migrations / hours << '\t' << sum.moved_back << '\t' << sum.gib << '\t'
                << sum.v.capacity << '\t' << sum.v.rules << '\t' << med << '\n';
            md << "| " << t.name << " | " << pol.name << " | " << fmt("%.4f", sum.imb / t.steps)
               << " | " << fmt("%.4f", sum.obj / t.steps) << " | "
               << fmt("%.1f%%", 100.0 * sum.hot_steps / t.steps) << " | "
               << fmt("%.2f", sum.migrations / hours) << " | " << sum.moved_back << " | "
               << fmt("%.0f", sum.gib) << " | " << sum.v.capacity << " / " << sum.v.rules << " | "
               << (pol.plan ? fmt("%d of %d", sum.runs_moving, sum.runs) : "—") << " | "
               << (pol.plan ? fmt("%.1f", med) : "—") << " |\n";
            results.push_back({pol.name, {sum.obj / t.steps, 100.0 * sum.hot_steps / t.steps}});
            auto_rows.push_back(
                {t.name, pol.name,
                 pol.plan ? (pol.crs_threshold >= 0 ? fmt("every %d min, if held 15 min", period)
                                                    : fmt("every %d min", period))
                          : "—",
                 sum.migrations / (hours / 24.0), sum.imb / t.steps, sum.moved_back});
            std::cerr << "  " << pol.name << ": done\n";
        }
        // pve-balancerd (PVE::Balancer::Manager in the simulator), from its placements
        for (const auto &[variant, label] : std::vector<std::pair<std::string, std::string>>{
                 {"norules", "pve-balancerd, rules off"},
                 {"rules", "pve-balancerd, default rules"}}) {
            if (manager_dir.empty()) {
                break;
            }
            const auto places = read_placements(
                manager_dir + "/" + t.name + "." + variant + ".jsonl", t.s, t.steps);
            if (places.empty()) {
                continue;
            }
            Scenario s = t.s;
            std::vector<int> prev = s.place;
            double imb = 0;
            int migrations = 0, moved_back = 0;
            std::map<int, std::vector<std::pair<int, int>>> history;
            for (int k = 0; k < t.steps; ++k) {
                t.set_step(s, k);
                const std::vector<int> &place = places[static_cast<size_t>(k)];
                for (size_t g = 0; g < place.size(); ++g) {
                    if (place[g] == prev[g]) {
                        continue;
                    }
                    ++migrations;
                    auto &hist = history[static_cast<int>(g)];
                    for (const auto &[when, from] : hist) {
                        if (k - when <= 12 && from == place[g]) {
                            ++moved_back;
                            break;
                        }
                    }
                    hist.push_back({k, prev[g]});
                }
                prev = place;
                imb += metrics_of(s, usage_of(s, place)).imbalance;
            }
            const double hours = t.steps * 5.0 / 60.0;
            auto_rows.push_back({t.name, label, fmt("every %d min", period),
                                 migrations / (hours / 24.0), imb / t.steps, moved_back});
            std::cerr << "  " << label << ": scored\n";
        }
        {
            // Computed summary for this trace.
            std::string best_obj, best_hot;
            double bo = 1e9, bh = 1e9;
            for (const auto &[name, v] : results) {
                if (v.first < bo) {
                    bo = v.first;
                    best_obj = name;
                }
                if (v.second < bh) {
                    bh = v.second;
                    best_hot = name;
                }
            }
            summary << fmt("- %s: lowest mean objective: %s (%.4f); least time with a node above "
                           "90%%: %s (%.1f%%).\n",
                           t.name.c_str(), best_obj.c_str(), bo, best_hot.c_str(), bh);
            results.clear();
        }
        std::ofstream ser(outdir + "/series-" + t.name + ".tsv");
        ser << "hour";
        for (const Policy &pol : policies) {
            ser << '\t' << pol.name << " imbalance";
        }
        for (const Policy &pol : policies) {
            ser << '\t' << pol.name << " hottest";
        }
        ser << '\n';
        for (int k = 0; k < t.steps; ++k) {
            ser << k * 5.0 / 60.0;
            for (size_t pi = 0; pi < policies.size(); ++pi) {
                ser << '\t' << series_imb[pi][static_cast<size_t>(k)];
            }
            for (size_t pi = 0; pi < policies.size(); ++pi) {
                ser << '\t' << series_max[pi][static_cast<size_t>(k)];
            }
            ser << '\n';
        }
    }
    std::ofstream out(outdir + "/overtime.md");
    out << "Traces:\n\n";
    for (const Trace &t : traces) {
        out << "- **" << t.name << "**: " << t.source << ".\n";
    }
    out << "\nEvery balancer runs every " << period << " minutes (every " << every
        << " steps) with a budget of " << budget
        << " migrations per run; moves take effect at once and the placement carries over. "
           "Settings: ours with its "
           "defaults (threshold 0.02, min-improvement 0.02 and cost-weight 0.04, both per active "
           "node); ProxLB with balanciness 10; CRS with "
           "margin 0.1 and hold 3 (the imbalance must exceed the threshold in the last 3 samples, "
           "i.e. 15 minutes; upstream "
           "counts 10-second rounds), at the upstream threshold 0.3 and at 0.1. Metrics use the "
           "trace's demand of every step "
           "(node load = overhead + guests); \"time with a node > 90%\" counts steps where any "
           "node's CPU or memory demand "
           "exceeds 90% of its capacity; \"moved back\" counts migrations that return a guest to "
           "the node it left within "
           "an hour.\n\n"
        << md.str() << "\nSummary (computed):\n\n"
        << summary.str();
    std::ofstream am(outdir + "/automatic.md");
    am << "| trace | balancer | runs | migrations / day | mean imbalance | moved back < 1 h "
          "|\n|---|---|---|---|---|---|\n";
    for (const AutoRow &r : auto_rows) {
        am << "| " << r.trace << " | " << r.balancer << " | " << r.runs << " | "
           << fmt("%.1f", r.per_day) << " | " << fmt("%.4f", r.imb) << " | " << r.moved_back
           << " |\n";
    }
    std::cerr << "overtime: done\n";
    return 0;
}
