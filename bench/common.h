// bench/common.h: the benchmark's own cluster model, data loaders, generators, metrics and the
// independent constraint checker. Nothing here calls the engine's constraint code: the checker
// re-implements the documented limits (docs/options.md, docs/constraints.md) from scratch so
// that it can judge every planner, ours included.
#ifndef PVEBAL_BENCH_COMMON_H_
#define PVEBAL_BENCH_COMMON_H_

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace bench {

inline constexpr double GiB = 1024.0 * 1024.0 * 1024.0;

struct Node {
    std::string name;
    double maxcpu = 0; // threads
    double maxmem = 0; // bytes
    double oh_cpu = 0; // host overhead, cores
    double oh_mem = 0; // host overhead, bytes
};

struct Guest {
    std::uint32_t vmid = 0;
    std::string name;
    bool lxc = false;
    double maxcpu = 0; // vCPUs
    double cpu = 0;    // fraction of maxcpu (0..1)
    double maxmem = 0; // bytes
    double mem = 0;    // bytes
    double maxdisk = 32 * GiB;
    std::vector<std::string> tags;
};

// Rules, written into the snapshot as PVE 9 HA rules (or as ProxLB tags when `tag` is set).
struct Rule {
    enum Kind { apart, together, node_strict } kind = apart;
    std::string id;
    std::vector<int> guests; // guest indices
    std::vector<int> nodes;  // node_strict: allowed nodes
};

struct Scenario {
    std::string name;
    std::string source;        // one line: where it comes from
    std::vector<Node> nodes;   // sorted by name
    std::vector<Guest> guests; // sorted by vmid
    std::vector<int> place;    // current node of each guest
    std::vector<Rule> rules;   // HA rules (plus tag groups parsed from tags)
    bool ha_managed = false;   // write ha.resources for every guest
    int budget = 10;
    bool homogeneous = true;
};

// --- load model (docs/algorithms.md "Load model"), re-implemented --------------------------
struct Usage {
    std::vector<double> cpu, mem; // per node: cores, bytes
};
inline double gcpu(const Guest &g) {
    return std::min(g.cpu, 1.0) * g.maxcpu;
}
inline double gmem(const Guest &g) {
    return g.mem;
}
Usage usage_of(const Scenario &s, const std::vector<int> &place);
// Sets each node's overhead to what the engine derives from the snapshot at `place` (PVE caps
// node cpu at 100% and mem at maxmem, so an overloaded node's overhead reads as less), so that
// the benchmark's load model and the engine's agree exactly on that snapshot.
void normalize_overhead(Scenario &s, const std::vector<int> &place);

// --- metrics ---------------------------------------------------------------------------------
struct Metrics {
    double imbalance = 0; // Proxmox CRS: CV of (cpu%+mem%)/2 over sqrt(n-1)
    double objective = 0; // ours (docs/algorithms.md), defaults theta 0.8, p 10, w 1/1
    double proxy = 0;     // sqrt of the MILP proxy: squared deviation from ideal + pressure
    double l1 = 0;        // mean |u - ideal| over nodes and both resources
    double cpu_sd = 0, cpu_max = 0, mem_sd = 0, mem_max = 0;
};
Metrics metrics_of(const Scenario &s, const Usage &u);

// --- the independent checker -----------------------------------------------------------------
struct Move {
    int guest = 0;
    int from = 0;
    int to = 0;
    int wave = 0; // moves of one wave are in flight together
};

struct Limits {
    double cpu_limit = 0.90;
    double mem_limit = 0.90;
    double mem_reserve = 1 * GiB;
    double usable_mem(double maxmem) const {
        return std::max(0.0, std::min(mem_limit * maxmem, maxmem - mem_reserve));
    }
};

struct Violations {
    int capacity = 0; // a migration target above cpu-limit or usable memory while it receives
    int oom = 0;      // of which: a target above 100% of its memory
    int rules = 0;    // keep-apart / keep-together / pin / strict node affinity broken
    int states = 0;   // intermediate states with at least one violation
    std::vector<std::string> examples;
};

// Replays `moves` wave by wave from `place` (updated to the final placement): at the start of a
// wave every moving guest loads both its source and its target; then the wave completes.
Violations replay(const Scenario &s, std::vector<int> &place, const std::vector<Move> &moves,
                  const Limits &lim = {});

// Tag groups (plb_anti_affinity_*, plb_affinity_*, plb_pin_*) turned into rules.
std::vector<Rule> tag_rules(const Scenario &s);
std::vector<Rule> all_rules(const Scenario &s); // HA rules + tag rules

// --- snapshots -------------------------------------------------------------------------------
// The extended snapshot (docs/snapshot.md) of the scenario at `place`. Node cpu/mem are what PVE
// would report: overhead plus guests, cpu capped at 100%, mem capped at maxmem.
std::string to_json(const Scenario &s, const std::vector<int> &place,
                    const std::string &options_json = "");
Scenario load_snapshot_file(const std::string &path, const std::string &name);

// --- data ------------------------------------------------------------------------------------
struct BitbrainsTrace {
    int slots = 0;
    std::vector<int> vm_ids; // 1..500
    // [vm][slot]
    std::vector<std::vector<float>> cores, cpu_pct, mem_cap_kb, mem_use_kb;
};
BitbrainsTrace load_bitbrains(const std::string &csv);

struct PlanetLabDay {
    std::string day;
    std::vector<std::string> names;
    std::vector<std::vector<std::uint8_t>> util; // [vm][288]
};
PlanetLabDay load_planetlab(const std::string &csv, const std::string &day);

// PlanetLab has CPU only. Seeded VM sizes (CloudSim's four types mapped to PVE) and memory.
struct PlanetLabSizing {
    std::vector<double> vcpus, maxmem, mem_share;
};
PlanetLabSizing planetlab_sizing(size_t vms, std::uint64_t seed);
extern const char *planetlab_sizing_text;

// Skewed first-fit placement: node i weight (i+1)^-skew, first fit on memory `key`.
std::vector<int> skewed_placement(const Scenario &s, std::uint64_t seed, double skew, double fill,
                                  bool by_used_memory);

// Generated clusters.
struct GenSpec {
    int nodes = 8;
    int guests_per_node = 25;
    bool tight = false; // memory-tight: ~80% average memory use
    bool rules = false; // HA rules: anti-affinity, keep-together, strict node affinity
    std::uint64_t seed = 1;
    double node_threads = 64;
    double node_mem_gib = 512;
    int guests = 0; // > 0: exactly this many guests, nodes sized for ~60% memory and ~45% CPU use
};
Scenario generate(const GenSpec &g, const std::string &name);

// --- helpers ---------------------------------------------------------------------------------
std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
double now_ms();
std::string repo_root();                         // the directory holding Makefile and bench/
std::string shared_data(const std::string &rel); // ../shared/data/<rel>, relative to the repo root
double median(std::vector<double> v);

} // namespace bench

#endif
