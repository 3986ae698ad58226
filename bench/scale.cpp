// bench-scale: the four inputs issue 11 found unbounded, each timed against the engine's
// deadline (option `deadline`, default 10 s). Every command must return within its bound (the
// deadline plus what follows the search: ordering, metrics) and say when it stopped early.
//   - evacuate one node of 100,000 guests on 64 nodes (make-room search);
//   - failover on 2,000 nodes with a packing trap (exhaustive recovery search);
//   - plan with max-migrations 1,000 on 512 nodes (balance search);
//   - capacity, target 3, on 32 nodes with 1,000 restart-priority classes.
//
//   bench-scale OUTDIR [--quick]     writes OUTDIR/scale.md
#include "common.h"

#include "pvebal/io.h"
#include "pvebal/report.h"

#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

using namespace bench;

namespace {

struct Case {
    std::string name;
    std::string input;
    double bound_s;
    double seconds = 0;
    std::string outcome;
    bool early = false;
};

bool noted(const pvebal::plan &p) {
    for (const std::string &n : p.notes) {
        if (n.starts_with("stopped early")) {
            return true;
        }
    }
    return false;
}

pvebal::snapshot parse(const std::string &text) {
    auto snap = pvebal::read_snapshot(text);
    if (!snap) {
        std::cerr << snap.error().to_string() << "\n";
        std::exit(1);
    }
    if (auto r = pvebal::bind_options(snap->c, snap->opts); !r) {
        std::cerr << r.error().to_string() << "\n";
        std::exit(1);
    }
    return *snap;
}

Node node(const std::string &name, double threads, double mem_gib) {
    Node n;
    n.name = name;
    n.maxcpu = threads;
    n.maxmem = mem_gib * GiB;
    n.oh_cpu = 0.5;
    n.oh_mem = 2 * GiB;
    return n;
}

Guest guest(std::uint32_t vmid, double vcpus, double cpu, double mem_gib) {
    Guest g;
    g.vmid = vmid;
    g.name = fmt("g%u", vmid);
    g.maxcpu = vcpus;
    g.cpu = cpu;
    g.maxmem = mem_gib * GiB;
    g.mem = mem_gib * GiB;
    return g;
}

// 2,000 nodes; node 0 fails with 23 HA guests of 2 GiB; two survivors have 23 GiB free each
// (11 guests each: one is left out, which only an exhaustive search proves), all others none.
std::string failover_trap(int nodes) {
    Scenario s;
    for (int i = 0; i < nodes; ++i) {
        const double free_gib = (i == 1 || i == 2) ? 23.0 : (i == 0 ? 60.0 : 0.0);
        Node n = node(fmt("n%04d", i), 16, 64);
        n.oh_mem = (64 * 0.9 - free_gib) * GiB; // usable: 90% of 64 GiB
        s.nodes.push_back(n);
    }
    for (int v = 0; v < 23; ++v) {
        s.guests.push_back(guest(static_cast<std::uint32_t>(100 + v), 1, 0.05, 2));
        s.place.push_back(0);
    }
    s.ha_managed = true;
    return to_json(s, s.place);
}

// 64 nodes of 1,000 GiB (900 usable) with 1,560 guests of 0.5 GiB each and 119.8 GiB free.
// The drained node 0 holds 160 guests of 120 GiB (plus small ones): none fits as the cluster
// stands, each fits once one small guest leaves its target (make-room search), and only one per
// node can: the rest search every candidate and find nothing.
std::string evacuate_tight(int nodes, int per_node, int big) {
    Scenario s;
    for (int i = 0; i < nodes; ++i) {
        Node n = node(fmt("pve%02d", i), 64, 1000);
        n.oh_mem = (900 - 119.8 - per_node * 0.5) * GiB;
        n.oh_cpu = 1;
        s.nodes.push_back(n);
    }
    std::uint32_t vmid = 100;
    for (int i = 0; i < nodes; ++i) {
        const int small = i == 0 ? per_node - big : per_node;
        for (int k = 0; k < small; ++k) {
            s.guests.push_back(guest(vmid++, 1, 0.01, 0.5));
            s.place.push_back(i);
        }
        for (int k = 0; i == 0 && k < big; ++k) {
            s.guests.push_back(guest(vmid++, 4, 0.05, 120));
            s.place.push_back(0);
        }
    }
    return to_json(s, s.place);
}

// 32 nodes, 1,000 HA guests each with its own restart priority, memory tight enough that some
// failure sets leave guests out (then capacity searches class by class).
std::string priority_classes(int nodes, int classes) {
    Scenario s;
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> U(0, 1);
    for (int i = 0; i < nodes; ++i) {
        s.nodes.push_back(node(fmt("n%02d", i), 64, 256));
    }
    for (int v = 0; v < classes; ++v) {
        Guest g =
            guest(static_cast<std::uint32_t>(1000 + v), 2, 0.2 + 0.3 * U(rng), 4 + 8 * U(rng));
        g.tags.push_back(fmt("pvebal-priority-%d", v));
        s.guests.push_back(g);
        s.place.push_back(v % nodes);
    }
    s.ha_managed = true;
    return to_json(s, s.place);
}

std::string outdir_g; // inputs are kept there (scale-N.json) to reproduce a case with the CLI

void time_case(Case &c, const std::function<std::string(const pvebal::snapshot &)> &run) {
    static int n = 0;
    std::cerr << "scale: " << c.name << "\n";
    std::ofstream(outdir_g + fmt("/scale-%d.json", ++n)) << c.input;
    const pvebal::snapshot snap = parse(c.input);
    const double t0 = now_ms();
    c.outcome = run(snap);
    c.seconds = (now_ms() - t0) / 1000.0;
    c.early = c.outcome.find("stopped early") != std::string::npos;
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::cerr << "usage: bench-scale OUTDIR [--quick]\n";
        return 2;
    }
    const std::string outdir = argv[1];
    outdir_g = outdir;
    const bool quick = argc > 2 && std::string(argv[2]) == "--quick";
    const double bound = 12.0; // default deadline 10 s + ordering, metrics (2 s)
    std::vector<Case> cases;

    {
        const int per_node = quick ? 300 : 1560;
        cases.push_back(
            {fmt("evacuate 1 node: %d guests, 64 nodes, make-room search", 64 * per_node),
             evacuate_tight(64, per_node, 160),
             bound,
             0,
             {},
             false});
        time_case(cases.back(), [](const pvebal::snapshot &snap) {
            const pvebal::plan p = pvebal::plan_evacuate(snap.c, snap.opts, {0});
            return fmt("%zu moved, %zu unplaced%s", p.migrations.size(), p.unplaced.size(),
                       noted(p) ? "; stopped early" : "");
        });
    }
    {
        const int n = quick ? 500 : 2000;
        cases.push_back({fmt("failover trap: %d nodes", n), failover_trap(n), bound, 0, {}, false});
        time_case(cases.back(), [](const pvebal::snapshot &snap) {
            const pvebal::plan p = pvebal::plan_failover(snap.c, snap.opts, {0}, false);
            return fmt("%zu restarted, %zu unplaced%s", p.migrations.size(), p.unplaced.size(),
                       noted(p) ? "; stopped early" : "");
        });
    }
    {
        GenSpec g;
        g.nodes = 512;
        g.guests = 512 * 20;
        g.seed = 12;
        Scenario s = generate(g, "scale-plan");
        s.place = skewed_placement(s, 12, 1.0, 0.6, true); // imbalanced: much to do
        cases.push_back({"plan --max-migrations 1000: 512 nodes, 10,240 guests",
                         to_json(s, s.place, "{\"max-migrations\":1000}"),
                         bound,
                         0,
                         {},
                         false});
        time_case(cases.back(), [](const pvebal::snapshot &snap) {
            const pvebal::plan p = pvebal::plan_balance(snap.c, snap.opts);
            return fmt("%zu migrations, objective %.4f -> %.4f%s", p.migrations.size(),
                       p.before.objective, p.after.objective, noted(p) ? "; stopped early" : "");
        });
    }
    {
        const int classes = quick ? 200 : 1000;
        cases.push_back({fmt("capacity target 3: 32 nodes, %d priority classes", classes),
                         priority_classes(32, classes),
                         bound,
                         0,
                         {},
                         false});
        time_case(cases.back(), [](const pvebal::snapshot &snap) {
            const pvebal::capacity_report r =
                pvebal::plan_capacity(snap.c, snap.opts, 3, false, 100000);
            return fmt("tolerates %d%s, %ld scenarios; %s", r.tolerated,
                       r.exact ? "" : " (lower bound)", r.scenarios_checked, r.method.c_str());
        });
    }

    std::ostringstream md;
    md << "| input | time | bound | within | result |\n|---|---|---|---|---|\n";
    bool all_ok = true;
    for (const Case &c : cases) {
        const bool ok = c.seconds <= c.bound_s;
        all_ok = all_ok && ok;
        md << fmt("| %s | %.2f s | %.0f s | %s | %s |\n", c.name.c_str(), c.seconds, c.bound_s,
                  ok ? "yes" : "**no**", c.outcome.c_str());
        std::cerr << fmt("scale: %s: %.2f s (bound %.0f s) %s\n", c.name.c_str(), c.seconds,
                         c.bound_s, c.outcome.c_str());
    }
    std::ofstream(outdir + "/scale.md") << md.str();
    return all_ok ? 0 : 1;
}
