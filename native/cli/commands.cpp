#include "commands.h"

#include "io/render_common.h"
#include "pvebal/api.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

namespace pvebal::cli {

int usage_error(const std::string &message) {
    std::cerr << "pve-balancer: " << detail::esc(message) << "\n";
    return exit_input;
}

namespace {

// Reads at most one byte more than the input limit: a huge file or an endless stdin is refused
// without first taking its size in memory (read_snapshot names the limit).
std::string read_capped(std::istream &in, std::size_t expected = 0) {
    std::string out;
    out.reserve(std::min(expected, max_snapshot_bytes) + 1); // a file's size: no regrowing
    char buf[65536];
    while (out.size() <= max_snapshot_bytes && in.read(buf, sizeof buf).gcount() > 0) {
        if (out.size() > max_snapshot_bytes / 2 && out.capacity() <= max_snapshot_bytes) {
            out.reserve(max_snapshot_bytes + 1); // not twice the limit by doubling
        }
        const auto n = static_cast<size_t>(in.gcount());
        out.append(buf, std::min(n, max_snapshot_bytes + 1 - out.size()));
    }
    return out;
}

std::optional<std::string> read_file(const std::string &path, const char *what) {
    if (path == "-") {
        return read_capped(std::cin);
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::cerr << "pve-balancer: cannot read " << what << " '" << detail::esc(path) << "'\n";
        return std::nullopt;
    }
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    return read_capped(in, ec ? 0 : static_cast<std::size_t>(size));
}

// The CLI runs one command and exits: its heap only grows. A large snapshot (64 nodes, 10,000
// guests) touches about 40 MiB, and faulting that in 4 KiB pages was a sixth of `plan`'s CPU
// time. So the heap grows in one step, is never trimmed, also holds the large buffers (not
// separate mmaps), and is backed by transparent huge pages where the kernel offers them
// (madvise mode, the default). Only the range this call adds to the heap is advised: under a
// sanitizer's allocator the break does not move and nothing is advised.
void tune_heap_for_one_command() {
    constexpr std::size_t heap_step = 64u << 20;
    constexpr std::uintptr_t huge_page = 2u << 20;
    mallopt(M_MMAP_THRESHOLD, 32 << 20); // glibc's largest
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, heap_step);
    const auto before = reinterpret_cast<std::uintptr_t>(sbrk(0));
    // Beyond the initial heap: grows it by heap_step (volatile: the pair must not be elided).
    void *volatile probe = std::malloc(1 << 20);
    const auto after = reinterpret_cast<std::uintptr_t>(sbrk(0));
    const std::uintptr_t lo = (before + huge_page - 1) & ~(huge_page - 1);
    const std::uintptr_t hi = after & ~(huge_page - 1);
    if (hi > lo) {
        madvise(reinterpret_cast<void *>(lo), hi - lo, MADV_HUGEPAGE); // a hint: errors ignored
    }
    std::free(probe);
}

// Every command runs through pvebal::execute(), the same path the XS module takes.
int run(const invocation &inv) {
    // The process ends after this one command: the heap only grows, and the snapshot's JSON
    // tree is not freed (about a tenth of the CPU time of a large plan; pvebal/api.h).
    tune_heap_for_one_command();
    keep_input_trees_until_exit();
    request r;
    r.command = inv.command;
    r.format = inv.format;
    auto snap = read_file(inv.snapshot_path, "snapshot");
    if (!snap) {
        return exit_input;
    }
    r.snapshot = std::move(*snap);
    if (!inv.config_path.empty()) {
        auto cfg = read_file(inv.config_path, "config");
        if (!cfg) {
            return exit_input;
        }
        r.option_layers.emplace_back("config", std::move(*cfg));
    }
    for (const auto &[k, v] : inv.option_flags) {
        r.args[k] = v;
    }
    for (const auto &[k, v] : inv.flags) {
        r.args[k] = v;
    }
    result<std::string> out = execute(r);
    if (!out) {
        // Messages quote the input: escaped, so they stay one line and cannot drive the terminal.
        std::cerr << "pve-balancer: " << detail::esc(out.error().to_string()) << "\n";
        return exit_input;
    }
    std::cout << *out;
    return exit_ok;
}

} // namespace

const std::vector<command> &commands() {
    static const std::vector<command> table = {
        {"score",
         "show node utilisation, balance metrics and warnings",
         "pve-balancer score --snapshot FILE [--output-format text|json]",
         "Prints per-node CPU and memory utilisation with bars, the Proxmox CRS imbalance,\n"
         "per-resource mean/stddev/min/max/spread, pve-balancer's objective, and warnings:\n"
         "overloaded nodes, guests that can never move (and why), dropped HA rules.",
         {},
         "pvesh get /cluster/resources --output-format json | pve-balancer score --snapshot -",
         run},
        {"plan",
         "compute a balance plan: ordered, safe migrations that even out CPU and memory",
         "pve-balancer plan --snapshot FILE [--max-migrations N] [--threshold X] [--output-format "
         "text|json]",
         "Searches moves, swaps and two-move chains that lower the objective "
         "(docs/algorithms.md),\n"
         "each worth its migration cost, up to --max-migrations, then orders them in waves so "
         "that\n"
         "no intermediate state overloads a node or breaks a rule (a migrating guest loads both\n"
         "nodes). If the cluster is already within --threshold, nothing is planned and a note says "
         "so.",
         {},
         "pve-balancer plan --snapshot cluster.json --max-migrations 5 --output-format json",
         run},
        {"evacuate",
         "drain nodes for maintenance: place every guest elsewhere, or say why not",
         "pve-balancer evacuate --node NODE[,NODE...] --snapshot FILE [--output-format text|json]",
         "Moves every guest (running and stopped) off the given nodes, largest first, each to the "
         "node\n"
         "that keeps the rest of the cluster balanced; when a guest fits nowhere it may move one\n"
         "guest off a target to make room. Guests that cannot leave are listed under 'unplaced'\n"
         "with the reason for each node. --max-migrations does not limit an evacuation.",
         {{"node", "NODE[,NODE...]", "the nodes to drain"}},
         "pve-balancer evacuate --node pve2 --snapshot cluster.json",
         run},
        {"failover",
         "where HA guests restart when nodes fail (capacity- and rule-aware)",
         "pve-balancer failover --failed-node NODE[,NODE...] --snapshot FILE [--all-guests]",
         "Places every HA-managed guest of the failed nodes (every running guest with "
         "--all-guests)\n"
         "on the survivors: restart-priority order (tag pvebal-priority-N), largest first, never\n"
         "beyond memory-limit/cpu-limit, rules as pve-ha-manager applies them. When the fast pass\n"
         "leaves a guest out, an exhaustive search looks for an assignment that restarts "
         "everyone.\n"
         "Guests that cannot restart are listed with the reason per node; lower priorities are\n"
         "the first to be left out. Waves are restart priorities, highest first.",
         {{"failed-node", "NODE[,NODE...]", "the nodes that fail"},
          {"all-guests", "", "also restart running guests that are not HA-managed"}},
         "pve-balancer failover --failed-node pve2 --snapshot cluster.json",
         run},
        {"capacity",
         "how many node failures the HA guests survive (admission control, N+k)",
         "pve-balancer capacity --snapshot FILE [--target-failures K] [--all-guests] "
         "[--max-scenarios N]",
         "Finds the largest k such that for every set of k failed nodes all HA guests still "
         "restart\n"
         "(every combination is checked while there are at most --max-scenarios of them; beyond,\n"
         "a lower and an upper bound are given). Shows the worst scenario and its shortfall, the\n"
         "headroom per node, and what reserve is missing for --target-failures K (default 1).",
         {{"target-failures", "K", "the failures the cluster should absorb (default 1)"},
          {"all-guests", "", "count every running guest, not only HA-managed ones"},
          {"max-scenarios", "N", "largest number of failure scenarios to check (default 20000)"}},
         "pve-balancer capacity --snapshot cluster.json --target-failures 2",
         run},
        {"place",
         "rank nodes for a guest about to start, or for a new guest (best node)",
         "pve-balancer place --snapshot FILE (--vmid ID | --cpu CORES --mem BYTES [--tags T]) "
         "[--apart-from ID,...]",
         "Ranks the nodes where the guest fits by the objective after placing it (score 100 is\n"
         "best) and lists the others with the reason. A stopped guest counts with its configured\n"
         "vCPUs and memory; a new guest with --cpu (cores) and --mem (bytes or 8G). --tags "
         "applies\n"
         "pin and anti-affinity tags (pvebal-pin-NODE, plb_anti_affinity_G) to a new guest.",
         {{"vmid", "ID", "an existing guest"},
          {"cpu", "CORES", "a new guest's CPU demand in cores"},
          {"mem", "BYTES", "a new guest's memory (bytes or with K/M/G/T suffix)"},
          {"tags", "TAGS", "tags of the new guest (';'-separated)"},
          {"apart-from", "ID[,ID...]", "keep it off nodes that run these guests"}},
         "pve-balancer place --snapshot cluster.json --cpu 4 --mem 8G --output-format json",
         run},
    };
    return table;
}

const command *find_command(const std::string &name) {
    for (const command &c : commands()) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

} // namespace pvebal::cli
