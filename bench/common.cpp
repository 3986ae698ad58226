#include "common.h"

#include <json/json.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace bench {

std::string fmt(const char *f, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

std::string repo_root() {
    // The binaries run from the repository root (make bench does so); fall back to cwd.
    return ".";
}

std::string shared_data(const std::string &rel) {
    return "../shared/data/" + rel;
}

double median(std::vector<double> v) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// --- load model ------------------------------------------------------------------------------

Usage usage_of(const Scenario &s, const std::vector<int> &place) {
    Usage u;
    u.cpu.resize(s.nodes.size());
    u.mem.resize(s.nodes.size());
    for (size_t n = 0; n < s.nodes.size(); ++n) {
        u.cpu[n] = s.nodes[n].oh_cpu;
        u.mem[n] = s.nodes[n].oh_mem;
    }
    for (size_t g = 0; g < s.guests.size(); ++g) {
        u.cpu[place[g]] += gcpu(s.guests[g]);
        u.mem[place[g]] += gmem(s.guests[g]);
    }
    return u;
}

void normalize_overhead(Scenario &s, const std::vector<int> &place) {
    const Usage u = usage_of(s, place);
    for (size_t n = 0; n < s.nodes.size(); ++n) {
        Node &nd = s.nodes[n];
        const double guests_cpu = u.cpu[n] - nd.oh_cpu, guests_mem = u.mem[n] - nd.oh_mem;
        nd.oh_cpu = std::max(0.0, std::min(nd.maxcpu, u.cpu[n]) - guests_cpu);
        nd.oh_mem = std::max(0.0, std::min(nd.maxmem, std::round(u.mem[n])) - guests_mem);
    }
}

Metrics metrics_of(const Scenario &s, const Usage &u) {
    const size_t n = s.nodes.size();
    std::vector<double> cu(n), mu(n);
    double tc = 0, tm = 0, cc = 0, cm = 0;
    for (size_t i = 0; i < n; ++i) {
        cu[i] = u.cpu[i] / s.nodes[i].maxcpu;
        mu[i] = u.mem[i] / s.nodes[i].maxmem;
        tc += u.cpu[i];
        tm += u.mem[i];
        cc += s.nodes[i].maxcpu;
        cm += s.nodes[i].maxmem;
    }
    Metrics m;
    auto stats = [&](const std::vector<double> &x, double &sd, double &mx) {
        double mean = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= static_cast<double>(x.size());
        double var = 0;
        mx = 0;
        for (double v : x) {
            var += (v - mean) * (v - mean);
            mx = std::max(mx, v);
        }
        var /= static_cast<double>(x.size());
        sd = std::sqrt(var);
        return var;
    };
    const double theta = 0.8, p = 10;
    auto press = [&](const std::vector<double> &x) {
        double s2 = 0;
        for (double v : x) {
            const double e = std::max(0.0, v - theta);
            s2 += e * e;
        }
        return s2 / static_cast<double>(x.size());
    };
    const double vc = stats(cu, m.cpu_sd, m.cpu_max);
    const double vm = stats(mu, m.mem_sd, m.mem_max);
    m.objective = std::sqrt((vc + p * press(cu) + vm + p * press(mu)) / 2);
    // Proxmox imbalance.
    std::vector<double> load(n);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
        load[i] = (cu[i] + mu[i]) / 2;
        sum += load[i];
    }
    if (n >= 2 && sum > 0) {
        const double mean = sum / static_cast<double>(n);
        double var = 0;
        for (double l : load) {
            var += (l - mean) * (l - mean);
        }
        var /= static_cast<double>(n);
        m.imbalance = std::sqrt(var) / mean / std::sqrt(static_cast<double>(n) - 1);
    }
    // Deviation from the ideal utilisation (total use / total capacity).
    const double ic = tc / cc, im = tm / cm;
    double l1 = 0, q = 0;
    for (size_t i = 0; i < n; ++i) {
        l1 += std::fabs(cu[i] - ic) + std::fabs(mu[i] - im);
        q += (cu[i] - ic) * (cu[i] - ic) + (mu[i] - im) * (mu[i] - im);
    }
    m.l1 = l1 / (2.0 * static_cast<double>(n));
    m.proxy = std::sqrt((q / static_cast<double>(n) + p * press(cu) + p * press(mu)) / 2);
    return m;
}

// --- rules -----------------------------------------------------------------------------------

static std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::vector<Rule> tag_rules(const Scenario &s) {
    std::map<std::string, Rule> apart, together;
    std::vector<Rule> out;
    for (size_t g = 0; g < s.guests.size(); ++g) {
        std::vector<int> pins;
        for (const std::string &t0 : s.guests[g].tags) {
            const std::string t = lower(t0);
            if (t.rfind("plb_anti_affinity_", 0) == 0) {
                Rule &r = apart[t];
                r.kind = Rule::apart;
                r.id = t;
                r.guests.push_back(static_cast<int>(g));
            } else if (t.rfind("plb_affinity_", 0) == 0) {
                Rule &r = together[t];
                r.kind = Rule::together;
                r.id = t;
                r.guests.push_back(static_cast<int>(g));
            } else if (t.rfind("plb_pin_", 0) == 0 || t.rfind("pvebal-pin-", 0) == 0) {
                const std::string node = t.substr(t[0] == 'p' && t[1] == 'l' ? 8 : 11);
                for (size_t n = 0; n < s.nodes.size(); ++n) {
                    if (lower(s.nodes[n].name) == node) {
                        pins.push_back(static_cast<int>(n));
                    }
                }
            }
        }
        if (!pins.empty()) {
            out.push_back(
                {Rule::node_strict, "pin-" + s.guests[g].name, {static_cast<int>(g)}, pins});
        }
    }
    for (auto &[k, r] : apart) {
        if (r.guests.size() > 1) {
            out.push_back(r);
        }
    }
    for (auto &[k, r] : together) {
        if (r.guests.size() > 1) {
            out.push_back(r);
        }
    }
    return out;
}

std::vector<Rule> all_rules(const Scenario &s) {
    std::vector<Rule> r = s.rules;
    for (Rule &t : tag_rules(s)) {
        r.push_back(std::move(t));
    }
    return r;
}

// --- checker ---------------------------------------------------------------------------------

Violations replay(const Scenario &s, std::vector<int> &place, const std::vector<Move> &moves,
                  const Limits &lim) {
    Violations v;
    const std::vector<Rule> rules = all_rules(s);
    const size_t nn = s.nodes.size();
    // Initial counts: a rule already broken at the start is not the plan's doing.
    std::vector<std::vector<int>> apart0(rules.size(), std::vector<int>(nn, 0));
    std::vector<bool> together0(rules.size(), true);
    for (size_t r = 0; r < rules.size(); ++r) {
        for (int g : rules[r].guests) {
            ++apart0[r][place[g]];
            if (place[g] != place[rules[r].guests[0]]) {
                together0[r] = false;
            }
        }
    }
    std::vector<int> target(s.guests.size(), -1);
    size_t i = 0;
    auto note = [&](const std::string &e) {
        if (v.examples.size() < 6) {
            v.examples.push_back(e);
        }
    };
    while (i < moves.size()) {
        const int wave = moves[i].wave;
        size_t j = i;
        std::set<int> targets;
        for (; j < moves.size() && moves[j].wave == wave; ++j) {
            const Move &m = moves[j];
            if (place[m.guest] != m.from) {
                note(fmt("wave %d: vm %u is on %s, not on %s", wave, s.guests[m.guest].vmid,
                         s.nodes[place[m.guest]].name.c_str(), s.nodes[m.from].name.c_str()));
            }
            target[m.guest] = m.to;
            targets.insert(m.to);
        }
        // The state with this wave in flight.
        Usage u = usage_of(s, place);
        for (size_t k = i; k < j; ++k) {
            const Guest &g = s.guests[moves[k].guest];
            u.cpu[moves[k].to] += gcpu(g);
            u.mem[moves[k].to] += gmem(g);
        }
        int bad = 0;
        for (int n : targets) {
            const Node &nd = s.nodes[n];
            const bool cpu_over = u.cpu[n] > lim.cpu_limit * nd.maxcpu + 1e-9;
            const bool mem_over = u.mem[n] > lim.usable_mem(nd.maxmem) + 0.5;
            if (cpu_over || mem_over) {
                ++v.capacity;
                ++bad;
                if (u.mem[n] > nd.maxmem) {
                    ++v.oom;
                }
                note(fmt("wave %d: %s receives and is at %.0f%% CPU, %.0f%% memory", wave,
                         nd.name.c_str(), 100 * u.cpu[n] / nd.maxcpu, 100 * u.mem[n] / nd.maxmem));
            }
        }
        for (size_t r = 0; r < rules.size(); ++r) {
            const Rule &rule = rules[r];
            if (rule.kind == Rule::apart) {
                std::vector<int> cnt(nn, 0);
                for (int g : rule.guests) {
                    ++cnt[place[g]];
                    if (target[g] >= 0) {
                        ++cnt[target[g]];
                    }
                }
                for (size_t n = 0; n < nn; ++n) {
                    if (cnt[n] > std::max(1, apart0[r][n])) {
                        ++v.rules;
                        ++bad;
                        note(fmt("wave %d: keep-apart %s has %d members on %s", wave,
                                 rule.id.c_str(), cnt[n], s.nodes[n].name.c_str()));
                    }
                }
            } else if (rule.kind == Rule::node_strict) {
                for (int g : rule.guests) {
                    if (target[g] >= 0 && std::find(rule.nodes.begin(), rule.nodes.end(),
                                                    target[g]) == rule.nodes.end()) {
                        ++v.rules;
                        ++bad;
                        note(fmt("wave %d: vm %u goes to %s, outside its node rule %s", wave,
                                 s.guests[g].vmid, s.nodes[target[g]].name.c_str(),
                                 rule.id.c_str()));
                    }
                }
            }
        }
        // Complete the wave.
        for (size_t k = i; k < j; ++k) {
            place[moves[k].guest] = moves[k].to;
            target[moves[k].guest] = -1;
        }
        for (size_t r = 0; r < rules.size(); ++r) {
            const Rule &rule = rules[r];
            if (rule.kind == Rule::together && together0[r]) {
                for (int g : rule.guests) {
                    if (place[g] != place[rule.guests[0]]) {
                        ++v.rules;
                        ++bad;
                        note(
                            fmt("after wave %d: keep-together %s is split", wave, rule.id.c_str()));
                        break;
                    }
                }
            }
        }
        if (bad) {
            ++v.states;
        }
        i = j;
    }
    return v;
}

// --- generated clusters ----------------------------------------------------------------------

Scenario generate(const GenSpec &gs, const std::string &name) {
    std::mt19937_64 rng(gs.seed);
    std::uniform_real_distribution<double> U(0, 1);
    Scenario s;
    s.name = name;
    s.source = fmt("generated: %d nodes x %.0f threads / %.0f GiB, %s memory, %s, seed %llu",
                   gs.nodes, gs.node_threads, gs.node_mem_gib,
                   gs.tight ? "tight (~80% in use)" : "loose (~40% in use)",
                   gs.rules ? "HA rules" : "no rules", static_cast<unsigned long long>(gs.seed));
    static const double vcpus[4] = {1, 2, 4, 8};
    static const double vw[4] = {0.30, 0.30, 0.25, 0.15};
    static const double mems[5] = {2, 4, 8, 16, 32};
    static const double mw[5] = {0.20, 0.30, 0.25, 0.17, 0.08};
    std::discrete_distribution<int> dv(vw, vw + 4), dm(mw, mw + 5);
    std::uint32_t vmid = 1000;
    auto new_guest = [&] {
        Guest g;
        g.vmid = ++vmid;
        g.name = fmt("g%u", g.vmid);
        g.maxcpu = vcpus[dv(rng)];
        g.maxmem = mems[dm(rng)] * GiB;
        g.mem = std::round(g.maxmem * (0.5 + 0.45 * U(rng)));
        g.cpu = std::min(1.0, 0.05 + 0.9 * std::pow(U(rng), 1.6));
        return g;
    };
    double node_threads = gs.node_threads, node_mem = gs.node_mem_gib * GiB;
    if (gs.guests > 0) {
        double mem = 0, cpu = 0;
        for (int i = 0; i < gs.guests; ++i) {
            s.guests.push_back(new_guest());
            mem += s.guests.back().mem;
            cpu += gcpu(s.guests.back());
        }
        node_mem = std::ceil((mem / 0.6 / gs.nodes + 4 * GiB) / (16 * GiB)) * 16 * GiB;
        node_threads = std::max(8.0, std::ceil(cpu / 0.45 / gs.nodes / 8) * 8);
        s.source =
            fmt("generated: %d nodes x %.0f threads / %.0f GiB, %d guests, %s, seed %llu", gs.nodes,
                node_threads, node_mem / GiB, gs.guests, gs.rules ? "HA rules" : "no rules",
                static_cast<unsigned long long>(gs.seed));
    }
    for (int n = 0; n < gs.nodes; ++n) {
        Node nd;
        nd.name = fmt("pve%02d", n + 1);
        nd.maxcpu = node_threads;
        nd.maxmem = node_mem;
        nd.oh_cpu = 0.5;
        nd.oh_mem = 4 * GiB;
        s.nodes.push_back(nd);
    }
    // Guests until memory in use reaches the target share of the cluster.
    const double target = (gs.tight ? 0.80 : 0.40) * gs.nodes * node_mem;
    const double cpu_target = 0.45 * gs.nodes * node_threads;
    double used = gs.nodes * 4 * GiB;
    while (gs.guests == 0 && used < target) {
        s.guests.push_back(new_guest());
        used += s.guests.back().mem;
    }
    // Scale CPU use so the cluster's CPU is ~45% in use (so neither resource is trivial).
    double cpu_sum = 0;
    for (const Guest &g : s.guests) {
        cpu_sum += gcpu(g);
    }
    const double k = cpu_target / cpu_sum;
    for (Guest &g : s.guests) {
        g.cpu = std::min(1.0, g.cpu * k);
    }
    const size_t G = s.guests.size();
    const int N = gs.nodes;
    // Rules.
    std::vector<int> together_with(G, -1);
    std::vector<std::vector<int>> allowed(G);
    std::vector<int> apart_of(G, -1);
    if (gs.rules) {
        s.ha_managed = true;
        std::vector<size_t> order(G);
        for (size_t i = 0; i < G; ++i) {
            order[i] = i;
        }
        std::shuffle(order.begin(), order.end(), rng);
        size_t at = 0;
        // Keep-apart groups of 2-3 covering ~12% of guests.
        int k_apart = 0;
        while (at < G * 12 / 100) {
            const size_t sz = std::min<size_t>(2 + (U(rng) < 0.5), static_cast<size_t>(N));
            Rule r{Rule::apart, fmt("apart-%d", ++k_apart), {}, {}};
            for (size_t i = 0; i < sz && at < G; ++i) {
                r.guests.push_back(static_cast<int>(order[at++]));
                apart_of[r.guests.back()] = static_cast<int>(s.rules.size());
            }
            s.rules.push_back(r);
        }
        // Keep-together pairs covering ~6%.
        int k_tog = 0;
        const size_t end_tog = at + G * 6 / 100;
        while (at + 1 < end_tog) {
            const int a = static_cast<int>(order[at++]), b = static_cast<int>(order[at++]);
            s.rules.push_back({Rule::together,
                               fmt("together-%d", ++k_tog),
                               {std::min(a, b), std::max(a, b)},
                               {}});
            together_with[std::max(a, b)] = std::min(a, b);
        }
        // Strict node affinity for ~10%: half of the nodes, chosen at random per rule of 4 guests.
        int k_node = 0;
        const size_t end_node = at + G * 10 / 100;
        while (at < end_node) {
            std::vector<int> nodes(N);
            for (int n = 0; n < N; ++n) {
                nodes[n] = n;
            }
            std::shuffle(nodes.begin(), nodes.end(), rng);
            nodes.resize(static_cast<size_t>(std::max(1, N / 2)));
            std::sort(nodes.begin(), nodes.end());
            Rule r{Rule::node_strict, fmt("nodes-%d", ++k_node), {}, nodes};
            for (int i = 0; i < 4 && at < end_node; ++i) {
                r.guests.push_back(static_cast<int>(order[at++]));
                allowed[r.guests.back()] = nodes;
            }
            std::sort(r.guests.begin(), r.guests.end());
            s.rules.push_back(r);
        }
    }
    // Skewed placement that respects the rules and 90% memory (tight clusters start feasible).
    std::vector<double> w(N);
    for (int i = 0; i < N; ++i) {
        w[i] = std::pow(i + 1.0, -1.0);
    }
    std::discrete_distribution<int> pick(w.begin(), w.end());
    std::vector<double> mem(N, 4 * GiB);
    s.place.assign(G, 0);
    (void)node_mem;
    std::vector<std::set<int>> apart_nodes(s.rules.size());
    std::vector<int> partner_of(G, -1);
    for (size_t h = 0; h < G; ++h) {
        if (together_with[h] >= 0) {
            partner_of[static_cast<size_t>(together_with[h])] = static_cast<int>(h);
        }
    }
    for (size_t g = 0; g < G; ++g) {
        if (together_with[g] >= 0) {
            continue; // placed with its partner below
        }
        double need = s.guests[g].mem;
        const int partner = partner_of[g];
        if (partner >= 0) {
            need += s.guests[static_cast<size_t>(partner)].mem;
        }
        const double limit = gs.tight ? 0.88 : 0.85;
        const int first = pick(rng);
        int chosen = -1;
        for (int k2 = 0; k2 < N && chosen < 0; ++k2) {
            const int n = (first + k2) % N;
            if (!allowed[g].empty() &&
                std::find(allowed[g].begin(), allowed[g].end(), n) == allowed[g].end()) {
                continue;
            }
            if (apart_of[g] >= 0 && apart_nodes[apart_of[g]].count(n)) {
                continue;
            }
            if (mem[n] + need > limit * s.nodes[static_cast<size_t>(n)].maxmem) {
                continue;
            }
            chosen = n;
        }
        if (chosen < 0) {
            chosen = static_cast<int>(std::min_element(mem.begin(), mem.end()) - mem.begin());
        }
        s.place[g] = chosen;
        mem[chosen] += s.guests[g].mem;
        if (apart_of[g] >= 0) {
            apart_nodes[apart_of[g]].insert(chosen);
        }
        if (partner >= 0) {
            s.place[partner] = chosen;
            mem[chosen] += s.guests[partner].mem;
        }
    }
    normalize_overhead(s, s.place);
    return s;
}

} // namespace bench
