#include "pvebal/model.h"

#include <algorithm>
#include <cctype>

namespace pvebal {

namespace {

bool iequals(const std::string &a, const std::string &b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

} // namespace

const storage_info *node::find_storage(const std::string &storage) const {
    auto it =
        std::lower_bound(storages.begin(), storages.end(), storage,
                         [](const storage_info &s, const std::string &n) { return s.name < n; });
    return it != storages.end() && it->name == storage ? &*it : nullptr;
}

bool guest::has_tag(const std::string &tag) const {
    return std::any_of(tags.begin(), tags.end(),
                       [&](const std::string &t) { return iequals(t, tag); });
}

const ha_resource *ha_config::find(guest_id g) const {
    auto it = std::lower_bound(resources.begin(), resources.end(), g,
                               [](const ha_resource &r, guest_id id) { return r.guest < id; });
    return it != resources.end() && it->guest == g ? &*it : nullptr;
}

bool ha_config::managed(guest_id g) const {
    const ha_resource *r = find(g);
    // Disarmed in mode 'ignore', HA leaves its resources to be managed directly (Config.pm
    // service_check_ha_state): they migrate like any other guest.
    if (disarm && disarm->mode == disarm_mode::ignore) {
        return false;
    }
    return r != nullptr && r->state != ha_request_state::ignored;
}

bool ha_config::recovered(guest_id g) const {
    const ha_resource *r = find(g);
    return r != nullptr && r->state != ha_request_state::ignored &&
           r->state != ha_request_state::disabled;
}

const char *ha_request_state_name(ha_request_state s) {
    switch (s) {
    case ha_request_state::started:
        return "started";
    case ha_request_state::stopped:
        return "stopped";
    case ha_request_state::disabled:
        return "disabled";
    case ha_request_state::ignored:
        return "ignored";
    }
    return "started";
}

const char *mapping_kind_name(mapping_kind k) {
    switch (k) {
    case mapping_kind::pci:
        return "pci";
    case mapping_kind::usb:
        return "usb";
    case mapping_kind::dir:
        return "dir";
    }
    return "pci";
}

const resource_mapping *mapping_table::find(mapping_kind k, const std::string &id) const {
    const auto &m = k == mapping_kind::pci ? pci : k == mapping_kind::usb ? usb : dir;
    auto it = m.find(id);
    return it == m.end() ? nullptr : &it->second;
}

std::optional<node_id> cluster::find_node(const std::string &name) const {
    auto it = std::lower_bound(nodes.begin(), nodes.end(), name,
                               [](const node &n, const std::string &s) { return n.name < s; });
    if (it == nodes.end() || it->name != name) {
        return std::nullopt;
    }
    return static_cast<node_id>(it - nodes.begin());
}

std::optional<guest_id> cluster::find_guest(std::uint32_t vmid) const {
    auto it = std::lower_bound(guests.begin(), guests.end(), vmid,
                               [](const guest &g, std::uint32_t v) { return g.vmid < v; });
    if (it == guests.end() || it->vmid != vmid) {
        return std::nullopt;
    }
    return static_cast<guest_id>(it - guests.begin());
}

std::vector<std::string> split_tags(const std::string &tags) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : tags) {
        if (ch == ';' || ch == ',' || std::isspace(static_cast<unsigned char>(ch))) {
            if (!cur.empty()) {
                out.push_back(std::move(cur));
            }
            cur.clear();
        } else {
            cur.push_back(ch);
        }
    }
    if (!cur.empty()) {
        out.push_back(std::move(cur));
    }
    return out;
}

std::string cpu_flag_key(const std::string &flag) {
    std::string out;
    for (char ch : flag) {
        out.push_back(ch == '.' || ch == '-'
                          ? '_'
                          : static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
    return out;
}

std::vector<std::string> cpu_flags_turned_on(const std::string &list) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t end = std::min(list.find(';', start), list.size());
        const std::string item = list.substr(start, end - start);
        if (item.size() > 1 && item.front() == '+') {
            out.push_back(cpu_flag_key(item.substr(1)));
        }
        start = end + 1;
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

} // namespace pvebal
