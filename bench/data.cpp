// Inputs of the benchmarks: snapshot files read into a Scenario, and the public workload traces
// (Bitbrains, PlanetLab) with the sizing of their VMs.
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

// --- snapshots -------------------------------------------------------------------------------

static std::string sid_of(const Guest &g) {
    return (g.lxc ? "ct:" : "vm:") + std::to_string(g.vmid);
}

std::string to_json(const Scenario &s, const std::vector<int> &place,
                    const std::string &options_json) {
    const Usage u = usage_of(s, place);
    std::string out;
    out.reserve(256 * (s.guests.size() + s.nodes.size()) + 1024);
    out += "{\"resources\":[\n";
    for (size_t n = 0; n < s.nodes.size(); ++n) {
        const Node &nd = s.nodes[n];
        const double cpu = std::min(1.0, u.cpu[n] / nd.maxcpu);
        const double mem = std::min(nd.maxmem, std::round(u.mem[n]));
        out += fmt("{\"type\":\"node\",\"id\":\"node/"
                   "%s\",\"node\":\"%s\",\"status\":\"online\",\"maxcpu\":%.0f,"
                   "\"cpu\":%.6f,\"maxmem\":%.0f,\"mem\":%.0f,\"maxdisk\":1099511627776,\"disk\":"
                   "10737418240},\n",
                   nd.name.c_str(), nd.name.c_str(), nd.maxcpu, cpu, nd.maxmem, mem);
    }
    for (size_t g = 0; g < s.guests.size(); ++g) {
        const Guest &gs = s.guests[g];
        std::string tags;
        for (const std::string &t : gs.tags) {
            tags += (tags.empty() ? "" : ";") + t;
        }
        out += fmt("{\"type\":\"%s\",\"id\":\"%s/"
                   "%u\",\"vmid\":%u,\"name\":\"%s\",\"node\":\"%s\",\"status\":\"running\","
                   "\"maxcpu\":%g,\"cpu\":%.6f,\"maxmem\":%.0f,\"mem\":%.0f,\"maxdisk\":%.0f,"
                   "\"disk\":0%s%s%s}%s\n",
                   gs.lxc ? "lxc" : "qemu", gs.lxc ? "lxc" : "qemu", gs.vmid, gs.vmid,
                   gs.name.c_str(), s.nodes[place[g]].name.c_str(), gs.maxcpu,
                   std::min(gs.cpu, 1.0), std::round(gs.maxmem), std::round(gs.mem), gs.maxdisk,
                   tags.empty() ? "" : ",\"tags\":\"", tags.c_str(), tags.empty() ? "" : "\"",
                   g + 1 < s.guests.size() ? "," : "");
    }
    out += "]";
    if (s.ha_managed || !s.rules.empty()) {
        out += ",\"ha\":{\"resources\":[";
        for (size_t g = 0; g < s.guests.size(); ++g) {
            out += fmt("%s{\"sid\":\"%s\",\"state\":\"started\"}", g ? "," : "",
                       sid_of(s.guests[g]).c_str());
        }
        out += "],\"rules\":[";
        bool first = true;
        for (const Rule &r : s.rules) {
            std::string res;
            for (int g : r.guests) {
                res += (res.empty() ? "" : ",") + sid_of(s.guests[g]);
            }
            out += first ? "" : ",";
            first = false;
            if (r.kind == Rule::node_strict) {
                std::string nodes;
                for (int n : r.nodes) {
                    nodes += (nodes.empty() ? "" : ",") + s.nodes[n].name;
                }
                out += fmt("{\"rule\":\"%s\",\"type\":\"node-affinity\",\"strict\":1,\"nodes\":\"%"
                           "s\",\"resources\":\"%s\"}",
                           r.id.c_str(), nodes.c_str(), res.c_str());
            } else {
                out +=
                    fmt("{\"rule\":\"%s\",\"type\":\"resource-affinity\",\"affinity\":\"%s\","
                        "\"resources\":\"%s\"}",
                        r.id.c_str(), r.kind == Rule::apart ? "negative" : "positive", res.c_str());
            }
        }
        out += "]}";
    }
    if (!options_json.empty()) {
        out += ",\"options\":" + options_json;
    }
    out += "}\n";
    return out;
}

static std::vector<std::string> split_tags(const std::string &t) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : t) {
        if (ch == ';' || ch == ',' || ch == ' ') {
            if (!cur.empty()) {
                out.push_back(cur);
            }
            cur.clear();
        } else {
            cur += ch;
        }
    }
    if (!cur.empty()) {
        out.push_back(cur);
    }
    return out;
}

Scenario load_snapshot_file(const std::string &path, const std::string &name) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    Json::Value root;
    Json::CharReaderBuilder b;
    std::string err;
    if (!Json::parseFromStream(b, in, &root, &err)) {
        throw std::runtime_error(path + ": " + err);
    }
    const Json::Value &data = root.isArray()          ? root
                              : root.isMember("data") ? root["data"]
                                                      : root["resources"];
    Scenario s;
    s.name = name;
    std::vector<std::pair<double, double>> reported; // node cpu fraction, mem
    std::vector<std::string> gnode;
    for (const Json::Value &e : data) {
        const std::string type = e["type"].asString();
        if (type == "node") {
            Node n;
            n.name = e["node"].asString();
            n.maxcpu = e["maxcpu"].asDouble();
            n.maxmem = e["maxmem"].asDouble();
            s.nodes.push_back(n);
            reported.push_back({e["cpu"].asDouble(), e["mem"].asDouble()});
        } else if (type == "qemu" || type == "lxc") {
            Guest g;
            g.vmid = e["vmid"].asUInt();
            g.name = e["name"].asString();
            g.lxc = type == "lxc";
            g.maxcpu = e["maxcpu"].asDouble();
            g.cpu = e["cpu"].asDouble();
            g.maxmem = e["maxmem"].asDouble();
            g.mem = e["mem"].asDouble();
            g.maxdisk = e.get("maxdisk", 0).asDouble();
            if (e.isMember("tags")) {
                g.tags = split_tags(e["tags"].asString());
            }
            s.guests.push_back(g);
            gnode.push_back(e["node"].asString());
        }
    }
    // Sort as the engine does (nodes by name, guests by vmid) so indices agree.
    std::vector<size_t> ni(s.nodes.size());
    for (size_t i = 0; i < ni.size(); ++i) {
        ni[i] = i;
    }
    std::sort(ni.begin(), ni.end(),
              [&](size_t a, size_t c) { return s.nodes[a].name < s.nodes[c].name; });
    std::vector<Node> nodes;
    std::vector<std::pair<double, double>> rep;
    for (size_t i : ni) {
        nodes.push_back(s.nodes[i]);
        rep.push_back(reported[i]);
    }
    s.nodes = nodes;
    std::vector<size_t> gi(s.guests.size());
    for (size_t i = 0; i < gi.size(); ++i) {
        gi[i] = i;
    }
    std::sort(gi.begin(), gi.end(),
              [&](size_t a, size_t c) { return s.guests[a].vmid < s.guests[c].vmid; });
    std::vector<Guest> guests;
    for (size_t i : gi) {
        guests.push_back(s.guests[i]);
        for (size_t n = 0; n < s.nodes.size(); ++n) {
            if (s.nodes[n].name == gnode[i]) {
                s.place.push_back(static_cast<int>(n));
            }
        }
    }
    s.guests = guests;
    // Node overhead as the engine derives it: reported minus what the guests account for.
    Scenario tmp = s;
    Usage u = usage_of(tmp, s.place);
    for (size_t n = 0; n < s.nodes.size(); ++n) {
        s.nodes[n].oh_cpu = std::max(0.0, rep[n].first * s.nodes[n].maxcpu - u.cpu[n]);
        s.nodes[n].oh_mem = std::max(0.0, rep[n].second - u.mem[n]);
    }
    s.source = path;
    normalize_overhead(s, s.place);
    return s;
}

// --- data ------------------------------------------------------------------------------------

static std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

BitbrainsTrace load_bitbrains(const std::string &csv) {
    const std::string text = read_file(csv);
    BitbrainsTrace t;
    std::map<int, size_t> idx;
    size_t pos = text.find('\n') + 1; // header
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) {
            end = text.size();
        }
        if (end > pos) {
            const char *p = text.c_str() + pos;
            char *q;
            const int vm = static_cast<int>(std::strtol(p, &q, 10));
            const int slot = static_cast<int>(std::strtol(q + 1, &q, 10));
            const double cores = std::strtod(q + 1, &q);
            std::strtod(q + 1, &q); // MHz
            const double pct = std::strtod(q + 1, &q);
            const double cap = std::strtod(q + 1, &q);
            const double use = std::strtod(q + 1, &q);
            auto it = idx.find(vm);
            if (it == idx.end()) {
                it = idx.emplace(vm, t.vm_ids.size()).first;
                t.vm_ids.push_back(vm);
                t.cores.emplace_back();
                t.cpu_pct.emplace_back();
                t.mem_cap_kb.emplace_back();
                t.mem_use_kb.emplace_back();
            }
            const size_t v = it->second;
            auto put = [&](std::vector<float> &col, double x) {
                if (col.size() <= static_cast<size_t>(slot)) {
                    col.resize(static_cast<size_t>(slot) + 1);
                }
                col[static_cast<size_t>(slot)] = static_cast<float>(x);
            };
            put(t.cores[v], cores);
            put(t.cpu_pct[v], pct);
            put(t.mem_cap_kb[v], cap);
            put(t.mem_use_kb[v], use);
            t.slots = std::max(t.slots, slot + 1);
        }
        pos = end + 1;
    }
    return t;
}

PlanetLabDay load_planetlab(const std::string &csv, const std::string &day) {
    const std::string text = read_file(csv);
    PlanetLabDay d;
    d.day = day;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
        if (line.empty()) {
            continue;
        }
        std::vector<std::string> f;
        std::string cur;
        for (char ch : line) {
            if (ch == ',') {
                f.push_back(cur);
                cur.clear();
            } else if (ch != '\r') {
                cur += ch;
            }
        }
        f.push_back(cur);
        if (f.size() < 290) {
            continue;
        }
        std::vector<std::uint8_t> u(288);
        for (size_t k = 0; k < 288; ++k) {
            u[k] =
                static_cast<std::uint8_t>(std::min(100, std::atoi(f[f.size() - 288 + k].c_str())));
        }
        d.names.push_back(f[1]);
        d.util.push_back(u);
    }
    return d;
}

const char *planetlab_sizing_text =
    "PlanetLab traces carry CPU only. VM sizes follow CloudSim's four VM types, assigned in four "
    "equal blocks by VM index (2500/2000/1000/500 MIPS, 870/1740/1740/613 MB) and mapped to "
    "4/3/2/1 vCPUs (MIPS/625, rounded) with maxmem 870/1740/1740/613 MiB. Memory in use is "
    "synthetic: a per-VM share of maxmem drawn once, uniform in [0.40, 0.90] (std::mt19937_64, "
    "seed "
    "stated per run), constant over the day.";

PlanetLabSizing planetlab_sizing(size_t vms, std::uint64_t seed) {
    static const double vcpu[4] = {4, 3, 2, 1};
    static const double mib[4] = {870, 1740, 1740, 613};
    PlanetLabSizing s;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> share(0.40, 0.90);
    const size_t block = (vms + 3) / 4;
    for (size_t i = 0; i < vms; ++i) {
        const size_t t = std::min<size_t>(3, i / block);
        s.vcpus.push_back(vcpu[t]);
        s.maxmem.push_back(mib[t] * 1024 * 1024);
        s.mem_share.push_back(share(rng));
    }
    return s;
}

std::vector<int> skewed_placement(const Scenario &s, std::uint64_t seed, double skew, double fill,
                                  bool by_used_memory) {
    std::mt19937_64 rng(seed);
    const size_t nn = s.nodes.size();
    std::vector<double> w(nn);
    for (size_t i = 0; i < nn; ++i) {
        w[i] = std::pow(static_cast<double>(i + 1), -skew);
    }
    std::discrete_distribution<size_t> pick(w.begin(), w.end());
    std::vector<double> mem(nn, 0), cpu(nn, 0);
    for (size_t n = 0; n < nn; ++n) {
        mem[n] = s.nodes[n].oh_mem;
        cpu[n] = s.nodes[n].oh_cpu;
    }
    std::vector<int> place(s.guests.size(), 0);
    std::vector<size_t> order(s.guests.size());
    for (size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t g : order) {
        const double need = by_used_memory ? s.guests[g].mem : s.guests[g].maxmem;
        const size_t first = pick(rng);
        size_t chosen = first;
        for (size_t k = 0; k < nn; ++k) {
            const size_t n = (first + k) % nn;
            if (mem[n] + need <= fill * s.nodes[n].maxmem) {
                chosen = n;
                break;
            }
            if (k + 1 == nn) {
                // Fits nowhere within `fill`: least-filled node.
                chosen =
                    static_cast<size_t>(std::min_element(mem.begin(), mem.end()) - mem.begin());
            }
        }
        place[g] = static_cast<int>(chosen);
        mem[chosen] += need;
    }
    return place;
}

} // namespace bench
