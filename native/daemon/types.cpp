#include "types.h"

namespace pvebal::balancerd {

std::string_view to_string(psi_resource r) {
    switch (r) {
    case psi_resource::cpu:
        return "cpu";
    case psi_resource::memory:
        return "memory";
    case psi_resource::io:
        return "io";
    }
    return "?";
}

std::optional<psi_resource> psi_resource_from(std::string_view s) {
    for (auto r : all_psi_resources) {
        if (to_string(r) == s) {
            return r;
        }
    }
    return std::nullopt;
}

std::string_view to_string(trigger_kind k) {
    switch (k) {
    case trigger_kind::interval:
        return "interval";
    case trigger_kind::pressure:
        return "pressure";
    case trigger_kind::config:
        return "config";
    }
    return "?";
}

std::optional<trigger_kind> trigger_kind_from(std::string_view s) {
    for (auto k : all_trigger_kinds) {
        if (to_string(k) == s) {
            return k;
        }
    }
    return std::nullopt;
}

std::string trigger_set::to_string() const {
    std::string out;
    for (auto k : all_trigger_kinds) {
        if (has(k)) {
            if (!out.empty()) {
                out += ',';
            }
            out += balancerd::to_string(k);
        }
    }
    return out;
}

std::optional<trigger_set> trigger_set::parse(std::string_view text) {
    trigger_set out;
    while (!text.empty()) {
        auto comma = text.find(',');
        auto word = text.substr(0, comma);
        auto k = trigger_kind_from(word);
        if (!k) {
            return std::nullopt;
        }
        out.add(*k);
        if (comma == std::string_view::npos) {
            break;
        }
        text.remove_prefix(comma + 1);
    }
    return out;
}

} // namespace pvebal::balancerd
