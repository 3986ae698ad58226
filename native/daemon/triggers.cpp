#include "triggers.h"

#include <algorithm>

namespace pvebal::balancerd {

void trigger_scheduler::on_node_pressure(const std::string &node, bool high,
                                         const std::string &detail, millis now) {
    auto &n = nodes_[node];
    if (n.high != high) {
        n.high = high;
        n.since = now;
    }
    if (high) {
        n.detail = detail;
    }
}

void trigger_scheduler::on_node_gone(const std::string &node) {
    nodes_.erase(node);
}

bool trigger_scheduler::pressure_high(const std::string &node) const {
    auto it = nodes_.find(node);
    return it != nodes_.end() && it->second.high;
}

void trigger_scheduler::on_cycle(const cycle_record &c) {
    if (last_ && last_->id != c.id && c.started < last_->started) {
        return; // older than what we know
    }
    last_ = c;
    if (config_changed_ && *config_changed_ <= c.started) {
        config_changed_.reset();
    }
}

void trigger_scheduler::on_config_change(millis now) {
    if (!config_changed_) {
        config_changed_ = now;
    }
}

millis trigger_scheduler::last_end() const {
    if (!last_) {
        return 0;
    }
    return last_->running() ? last_->started : last_->finished;
}

std::optional<millis> trigger_scheduler::interval_due() const {
    std::optional<millis> base;
    if (last_) {
        base = last_->started;
    } else if (active_since_) {
        base = active_since_;
    }
    if (!base) {
        return std::nullopt;
    }
    return *base + static_cast<millis>(cfg_.interval_min) * 60 * one_second;
}

std::optional<millis> trigger_scheduler::pressure_due() const {
    std::optional<millis> first;
    millis end = last_end();
    for (const auto &[node, n] : nodes_) {
        if (n.high) {
            millis since = std::max(n.since, end);
            first = first ? std::min(*first, since) : since;
        }
    }
    if (!first) {
        return std::nullopt;
    }
    millis due = *first + static_cast<millis>(cfg_.debounce_s) * one_second;
    if (last_) {
        millis holdoff = std::max(static_cast<millis>(cfg_.holdoff_s) * one_second, min_holdoff);
        due = std::max(due, end + holdoff);
    }
    return due;
}

std::optional<due_cycle> trigger_scheduler::poll(millis now, bool active, bool busy) const {
    if (!active || busy || !cfg_.auto_balance) {
        return std::nullopt;
    }
    due_cycle d;
    std::string detail;
    auto append = [&detail](const std::string &s) {
        if (!detail.empty()) {
            detail += "; ";
        }
        detail += s;
    };
    if (auto t = interval_due(); t && *t <= now) {
        d.triggers.add(trigger_kind::interval);
        append("interval of " + std::to_string(cfg_.interval_min) + " min");
    }
    if (auto t = pressure_due(); t && *t <= now) {
        d.triggers.add(trigger_kind::pressure);
        std::string nodes;
        for (const auto &[node, n] : nodes_) {
            if (n.high) {
                nodes += (nodes.empty() ? "" : ", ") + node +
                         (n.detail.empty() ? "" : " (" + n.detail + ")");
            }
        }
        append("pressure on " + nodes);
    }
    if (config_changed_ && *config_changed_ <= now) {
        d.triggers.add(trigger_kind::config);
        append("configuration changed");
    }
    if (d.triggers.empty()) {
        return std::nullopt;
    }
    d.detail = detail;
    return d;
}

std::optional<next_cycle> trigger_scheduler::next(bool active, bool busy) const {
    if (!active || busy || !cfg_.auto_balance) {
        return std::nullopt;
    }
    std::optional<next_cycle> best;
    auto consider = [&best](std::optional<millis> t, trigger_kind k) {
        if (t && (!best || *t < best->due)) {
            best = next_cycle{*t, k};
        }
    };
    consider(config_changed_, trigger_kind::config);
    consider(pressure_due(), trigger_kind::pressure);
    consider(interval_due(), trigger_kind::interval);
    return best;
}

} // namespace pvebal::balancerd
