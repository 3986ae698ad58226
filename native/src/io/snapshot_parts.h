// Internal to the snapshot reader: the parts of docs/snapshot.md, one file each.
//   snapshot_reader.cpp  the shape (array, {data}, extended), nodes, guests, storages
//   guest_config.cpp     guests.<vmid>: config semantics, migrate precondition, RRD, replication;
//                        the top-level "mappings"
//   ha_reader.cpp        ha: resources, groups, rules, manager status; the rules are then
//                        checked and compiled by constraints/ha_rules
#ifndef PVEBAL_IO_SNAPSHOT_PARTS_H_
#define PVEBAL_IO_SNAPSHOT_PARTS_H_

#include "io/json_access.h"
#include "pvebal/model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace pvebal::detail {

// Bounds for "absurd" values: far beyond any real host, small enough to keep arithmetic exact.
inline constexpr double max_cpus = 16384;
inline constexpr std::uint64_t max_bytes = 1ull << 56; // 64 PiB
inline constexpr double max_fraction = 1.5;            // PVE caps at 1; allow sampling jitter above

void check_object(const Json::Value &v, const std::string &path, const char *what);
void check_array(const Json::Value &v, const std::string &path, const char *what);
std::vector<std::string> name_list(const Json::Value &v, const std::string &path);
// obj[a], else obj[b] (API answers use both spellings), else nullptr.
const Json::Value *member(const Json::Value &obj, const char *a, const char *b);

// guests.<vmid>
void read_config(guest &g, const Json::Value &cfg, const std::string &path);
void read_precondition(guest &g, const Json::Value &in, const std::string &path);
void read_rrd(guest &g, const Json::Value &rrd, const std::string &path);
void read_replication(const cluster &c, guest &g, const Json::Value &v, const std::string &path);
// "mappings": {"pci": {id: {nodes, live-migration-capable}}, "usb": {...}, "dir": {...}}
void read_mappings(cluster &c, const Json::Value &v, const std::string &path);

// "cpu-models": the GET /cluster/qemu/custom-cpu-models array.
void read_cpu_models(cluster &c, const Json::Value &v, const std::string &path);
// nodes.<name>: status (GET /nodes/{node}/status), cpu-flags.
void read_node_details(node &n, const Json::Value &d, const std::string &path);

// "ha": resources, groups, rules, manager-status; then the compiled rule set.
void read_ha(cluster &c, const Json::Value &ha, const std::string &path);

} // namespace pvebal::detail

#endif
