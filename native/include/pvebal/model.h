// File: pvebal/model.h
//
// The cluster model: plain value types with public fields, no behaviour beyond lookups.
// Nodes are sorted by name and guests by vmid, so a node_id or guest_id (an index into those
// vectors) is the same whatever order the input listed them in. Names are kept for output.
//
// Units follow the Proxmox API: memory in bytes, CPU as a fraction of `maxcpu` (node: host
// threads, guest: vCPUs).
//
//   const pvebal::cluster& c = ...;
//   for (const pvebal::guest& g : c.guests)
//       std::cout << g.vmid << " on " << c.nodes[g.node].name << '\n';
#ifndef PVEBAL_MODEL_H_
#define PVEBAL_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pvebal {

using node_id = std::uint32_t;
using guest_id = std::uint32_t;
inline constexpr node_id no_node = UINT32_MAX;

struct storage_info {
    std::string name;
    bool shared = false;
    bool available = true; // `status` of the storage entry is "available"
    std::uint64_t total = 0;
    std::uint64_t used = 0;
    std::string plugin; // plugintype, e.g. "zfspool", "rbd"
    std::string content;
};

struct node {
    std::string name;
    bool online = false;      // status == "online"
    bool maintenance = false; // HA node status "maintenance" or listed in options
    double maxcpu = 0;        // logical CPUs
    double cpu = 0;           // fraction of maxcpu in use
    std::uint64_t maxmem = 0;
    std::uint64_t mem = 0;
    std::string ha_state;               // "hastate" of the node entry or HA manager node_status
    std::vector<storage_info> storages; // sorted by name

    // From nodes.<name> (optional part of the extended snapshot).
    std::string cpu_model;              // status.cpuinfo.model; empty when unknown
    std::vector<std::string> cpu_flags; // normalised (cpu_flag_key), sorted, unique
    bool cpu_flags_known = false;       // cpu-flags or status.cpuinfo.flags was given
    // What the host keeps for itself besides the system (nodes.<name>; node-memory-reserve).
    std::uint64_t zfs_pool_bytes = 0;            // sum of its ZFS pool sizes; 0: none or unknown
    std::optional<std::uint64_t> arc_max;        // configured zfs_arc_max, bytes
    std::optional<std::uint64_t> arc_size;       // current ARC size (already counted in `mem`)
    std::optional<std::uint64_t> memory_reserve; // node-memory-reserve for this node
    // Pressure stall information (nodes.<name>.pressure): the highest of its PSI averages as a
    // fraction of time (0..1); 0 when unknown.
    double pressure = 0;

    const storage_info *find_storage(const std::string &storage) const;
};

enum class guest_type : std::uint8_t { qemu, lxc };

// A volume a guest references in its config (only known with `guests.<vmid>.config`).
struct guest_disk {
    std::string key;     // config key: scsi0, rootfs, mp0, efidisk0, ...
    std::string storage; // storage id, e.g. "local-lvm"
    std::string volid;
    std::uint64_t size = 0;
    bool cdrom = false;
};

// A device that comes from a cluster resource mapping (/etc/pve/mapping/{pci,usb,dir}.cfg):
// `hostpci0: mapping=gpu`, `usb0: mapping=key`, `virtiofs0: dirid`.
enum class mapping_kind : std::uint8_t { pci, usb, dir };
const char *mapping_kind_name(mapping_kind k); // "pci", "usb", "dir"

struct mapped_device {
    std::string key; // config key: hostpci0, usb1, virtiofs0
    mapping_kind kind = mapping_kind::pci;
    std::string mapping; // mapping id
    friend bool operator==(const mapped_device &, const mapped_device &) = default;
};

// One enabled replication job of a guest (replication.cfg, type local).
struct replication_job {
    std::string id; // "100-0"
    node_id target = no_node;
};

// What the migrate precondition GET reported for one target node.
struct blocked_target {
    std::string node;
    std::string reason;
};

struct guest {
    std::uint32_t vmid = 0;
    guest_type type = guest_type::qemu;
    std::string name;
    node_id node = no_node;
    std::string status;   // running, stopped, paused, ...
    bool running = false; // occupies resources: running or paused
    double maxcpu = 0;    // vCPUs
    double cpu = 0;       // fraction of maxcpu
    std::uint64_t maxmem = 0;
    std::uint64_t mem = 0;
    std::uint64_t memhost = 0; // host-side memory (PVE 9 qemu); 0 when unknown
    std::uint64_t maxdisk = 0;
    std::uint64_t disk = 0;
    bool is_template = false;
    std::string lock;
    std::vector<std::string> tags; // as written, in input order
    std::string pool;
    std::string ha_state; // hastate from /cluster/resources, or HA manager service state

    // From guests.<vmid> (optional parts of the extended snapshot).
    bool has_config = false;
    std::vector<guest_disk> disks;             // volumes on storages
    std::vector<std::string> local_resources;  // devices that pin the guest: hostpci0, usb0, ...
    std::vector<mapped_device> mapped_devices; // devices from resource mappings, sorted by key
    std::vector<replication_job> replication;  // enabled replication jobs, sorted by id
    std::optional<double> cpu_avg;             // RRD average, fraction of maxcpu
    std::optional<std::uint64_t> mem_avg;      // RRD average, bytes
    std::optional<double> disk_io_avg;         // RRD average diskread + diskwrite, bytes/s
    bool has_precondition = false;
    std::vector<blocked_target> blocked_targets; // not_allowed_nodes, sorted by node
    std::vector<std::string> local_disk_volids;  // local_disks of the precondition (no CD-ROMs)
    std::vector<std::string> local_cdrom_volids; // CD-ROM images among them
    // The VM's `cpu` option (qemu-server CPUConfig): cputype ("host", "x86-64-v2-AES",
    // "custom-NAME"; empty when unset) and the flags it turns on (`flags=+aes;...`, normalised).
    std::string cpu_type;
    std::vector<std::string> cpu_flags_on;

    bool has_tag(const std::string &tag) const; // case-insensitive
    std::string sid() const {
        return (type == guest_type::qemu ? "vm:" : "ct:") + std::to_string(vmid);
    }
};

// The request state of an HA resource (resources.cfg `state`; `enabled` reads as started).
enum class ha_request_state : std::uint8_t { started, stopped, disabled, ignored };
const char *ha_request_state_name(ha_request_state s);

struct ha_resource {
    std::string sid;    // vm:100 / ct:100
    guest_id guest = 0; // index into cluster::guests
    ha_request_state state = ha_request_state::started;
    std::string group; // legacy HA group
    bool failback = true;
    int max_restart = 1;
    int max_relocate = 1;
};

struct node_affinity_rule {
    std::string id;
    std::vector<guest_id> guests;               // sorted
    std::vector<std::pair<node_id, int>> nodes; // (node, priority), sorted by node
    bool strict = false;
};

struct resource_affinity_rule {
    std::string id;
    std::vector<guest_id> guests; // sorted
    bool positive = true;
};

// manager_status `disarm`: the HA stack is disarmed (or disarming) cluster-wide; the CRM
// processes no commands for its resources meanwhile (pve-ha-manager Manager.pm handle_disarm).
enum class disarm_mode : std::uint8_t { freeze, ignore };
struct ha_disarm {
    disarm_mode mode = disarm_mode::freeze;
    std::string state; // "disarming" or "disarmed" as the manager status says
};

struct ha_config {
    std::vector<ha_resource> resources; // sorted by guest id
    std::vector<node_affinity_rule> node_affinity;
    std::vector<resource_affinity_rule> resource_affinity;
    std::string master_node;
    // Rules or references that were dropped, as pve-ha-manager would ("Drop rule ...").
    std::vector<std::string> dropped;

    std::optional<ha_disarm> disarm;

    const ha_resource *find(guest_id g) const;
    // HA-managed: listed in resources.cfg, not `ignored`, and HA not disarmed in mode `ignore`;
    // its migrations go through the CRM (pve-ha-manager Config.pm vm_is_ha_managed).
    bool managed(guest_id g) const;
    // Recovered by HA when its node fails: managed and not `disabled`.
    bool recovered(guest_id g) const;
};

// A cluster resource mapping: the nodes that have an entry for it.
struct resource_mapping {
    std::vector<node_id> nodes;  // sorted
    bool live_migration = false; // `live-migration-capable` (PCI mappings)
};

struct mapping_table {
    bool known = false; // the snapshot carried a "mappings" object
    std::map<std::string, resource_mapping> pci, usb, dir;
    const resource_mapping *find(mapping_kind k, const std::string &id) const;
};

// A custom CPU model (/etc/pve/virtual-guest/cpu-models.conf, GET
// /cluster/qemu/custom-cpu-models): the flags it turns on, normalised.
struct cpu_model_def {
    std::vector<std::string> flags_on;
    std::string reported_model;
};

struct cluster {
    std::vector<node> nodes;   // sorted by name
    std::vector<guest> guests; // sorted by vmid
    ha_config ha;
    mapping_table mappings;
    std::map<std::string, cpu_model_def> cpu_models; // custom models by name (no "custom-")

    std::optional<node_id> find_node(const std::string &name) const;
    std::optional<guest_id> find_guest(std::uint32_t vmid) const;
};

// A CPU flag as compared across sources: lower case, '.', '-' and '_' read alike (QEMU writes
// "sse4.1", /proc/cpuinfo "sse4_1").
std::string cpu_flag_key(const std::string &flag);
// The flags a `flags=` list turns on ("+aes;-pcid;+avx2" -> aes, avx2), normalised and sorted.
std::vector<std::string> cpu_flags_turned_on(const std::string &list);

// Splits a PVE tag string ("a;b", also accepting ',' and spaces as the API does).
std::vector<std::string> split_tags(const std::string &tags);

} // namespace pvebal

#endif
