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
    std::vector<guest_disk> disks;            // volumes on storages
    std::vector<std::string> local_resources; // devices that pin the guest: hostpci0, usb0, ...
    std::optional<double> cpu_avg;            // RRD average, fraction of maxcpu
    std::optional<std::uint64_t> mem_avg;     // RRD average, bytes
    bool has_precondition = false;
    std::vector<blocked_target> blocked_targets; // not_allowed_nodes, sorted by node
    std::vector<std::string> local_disk_volids;  // local_disks of the precondition

    bool has_tag(const std::string &tag) const; // case-insensitive
    std::string sid() const {
        return (type == guest_type::qemu ? "vm:" : "ct:") + std::to_string(vmid);
    }
};

struct ha_resource {
    std::string sid;    // vm:100 / ct:100
    guest_id guest = 0; // index into cluster::guests
    std::string state;  // configured request state: started, stopped, disabled, ignored
    std::string group;  // legacy HA group
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

struct ha_config {
    std::vector<ha_resource> resources; // sorted by guest id
    std::vector<node_affinity_rule> node_affinity;
    std::vector<resource_affinity_rule> resource_affinity;
    std::string master_node;
    // Rules or references that were dropped, as pve-ha-manager would ("Drop rule ...").
    std::vector<std::string> dropped;

    const ha_resource *find(guest_id g) const;
};

struct cluster {
    std::vector<node> nodes;   // sorted by name
    std::vector<guest> guests; // sorted by vmid
    ha_config ha;

    std::optional<node_id> find_node(const std::string &name) const;
    std::optional<guest_id> find_guest(std::uint32_t vmid) const;
};

// Splits a PVE tag string ("a;b", also accepting ',' and spaces as the API does).
std::vector<std::string> split_tags(const std::string &tags);

} // namespace pvebal

#endif
