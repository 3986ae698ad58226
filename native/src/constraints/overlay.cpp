// The overlay (pvebal/overlay.h): loads, counters and the objective change together here, and
// nowhere else; trials journal the old values and put them back exactly.
#include "pvebal/overlay.h"

namespace pvebal {

overlay::overlay(const cluster &c, const options &o, const affinity_groups &a)
    : c_(&c), a_(&a), load_(make_load_view(c, o)), target_(c.guests.size(), no_node),
      assigned_(c.nodes.size()),
      apart_count_(a.apart_names.size(), std::vector<int>(c.nodes.size(), 0)), opts_(&o) {
    footprint_.resize(c.guests.size());
    storage_added_.resize(c.nodes.size());
    for (node_id n = 0; n < c.nodes.size(); ++n) {
        storage_added_[n].assign(c.nodes[n].storages.size(), 0.0);
    }
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        add(g, c.guests[g].node, +1);
    }
    // The storage entries already count every guest where it is; only changes add from here.
    for (guest_id g = 0; g < c.guests.size(); ++g) {
        footprint_[g] = local_footprint(c, g);
    }
}

long overlay::storage_slot(guest_id g, node_id n, const std::string &storage) const {
    const node &nd = c_->nodes[n];
    const storage_info *s =
        n == c_->guests[g].node ? nd.find_storage(storage) : target_storage(*opts_, nd, storage);
    return s == nullptr ? -1 : static_cast<long>(s - nd.storages.data());
}

overlay::overlay(const cluster &c, const options &o, const affinity_groups &a,
                 std::vector<bool> active)
    : overlay(c, o, a) {
    track_objective(std::move(active));
}

void overlay::track_objective(std::vector<bool> active) {
    obj_.emplace(std::move(active), load_, *opts_);
    ++obj_generation_;
}

void overlay::drop_objective() {
    obj_.reset();
    ++obj_generation_;
}

// --- journal ---------------------------------------------------------------------------------

void overlay::save_used(node_id n) {
    if (journaling()) {
        change ch{};
        ch.kind = change::what::used;
        ch.index = n;
        ch.value = load_.used[n];
        journal_.push_back(ch);
    }
}

void overlay::save_placement(guest_id g) {
    if (journaling()) {
        change ch{};
        ch.kind = change::what::placement;
        ch.index = g;
        ch.node = load_.placement[g];
        ch.target = target_[g];
        journal_.push_back(ch);
    }
}

void overlay::save_objective(node_id a, node_id b) {
    if (!journaling()) {
        return;
    }
    change ch{};
    ch.kind = change::what::totals;
    ch.count = obj_generation_;
    ch.totals = obj_->totals();
    journal_.push_back(ch);
    for (node_id n : {a, b}) {
        if (n != no_node) {
            change r{};
            r.kind = change::what::util;
            r.count = obj_generation_;
            r.index = n;
            r.row = obj_->row(n);
            journal_.push_back(r);
        }
    }
}

void overlay::rollback(size_t mark) {
    while (journal_.size() > mark) {
        const change &ch = journal_.back();
        switch (ch.kind) {
        case change::what::used:
            load_.used[ch.index] = ch.value;
            break;
        case change::what::assigned:
            assigned_[ch.index] = ch.value;
            break;
        case change::what::placement:
            load_.placement[ch.index] = ch.node;
            target_[ch.index] = ch.target;
            break;
        case change::what::demand:
            load_.demand[ch.index] = ch.value;
            break;
        case change::what::apart:
            apart_count_[ch.index][ch.index2] = ch.count;
            break;
        case change::what::storage:
            storage_added_[ch.index][ch.index2] = ch.value[dimension::memory];
            break;
        // An objective rebuilt or dropped since is not the one these values belong to.
        case change::what::util:
            if (obj_ && ch.count == obj_generation_) {
                obj_->restore(static_cast<node_id>(ch.index), ch.row);
            }
            break;
        case change::what::totals:
            if (obj_ && ch.count == obj_generation_) {
                obj_->restore(ch.totals);
            }
            break;
        }
        journal_.pop_back();
    }
}

overlay::trial overlay::begin_trial() {
    ++open_trials_;
    return trial(this, journal_.size());
}

overlay::trial::trial(trial &&other) noexcept : ov_(other.ov_), mark_(other.mark_) {
    other.ov_ = nullptr;
}

void overlay::trial::commit() {
    if (ov_ == nullptr) {
        return;
    }
    if (--ov_->open_trials_ == 0) {
        ov_->journal_.clear(); // nothing encloses it: no one can undo these changes any more
    }
    ov_ = nullptr;
}

void overlay::trial::undo() {
    if (ov_ == nullptr) {
        return;
    }
    ov_->rollback(mark_);
    --ov_->open_trials_;
    ov_ = nullptr;
}

// --- changes ---------------------------------------------------------------------------------

void overlay::add(guest_id g, node_id n, int sign) {
    const guest &gs = c_->guests[g];
    if (gs.running) {
        if (journaling()) {
            change ch{};
            ch.kind = change::what::assigned;
            ch.index = n;
            ch.value = assigned_[n];
            journal_.push_back(ch);
        }
        const double s = sign;
        assigned_[n] += {s * gs.maxcpu, s * static_cast<double>(gs.maxmem)};
    }
    for (int k : a_->apart[g]) {
        int &count = apart_count_[static_cast<size_t>(k)][n];
        if (journaling()) {
            change ch{};
            ch.kind = change::what::apart;
            ch.index = static_cast<size_t>(k);
            ch.index2 = n;
            ch.count = count;
            journal_.push_back(ch);
        }
        count += sign;
    }
    for (const auto &[storage, bytes] : footprint_[g]) {
        const long slot = storage_slot(g, n, storage);
        if (slot < 0) {
            continue;
        }
        double &added = storage_added_[n][static_cast<size_t>(slot)];
        if (journaling()) {
            change ch{};
            ch.kind = change::what::storage;
            ch.index = n;
            ch.index2 = static_cast<size_t>(slot);
            ch.value[dimension::memory] = added;
            journal_.push_back(ch);
        }
        added += sign * bytes;
    }
}

void overlay::shift(node_id from, node_id to, const res &d) {
    if (obj_) {
        save_objective(from, to);
        obj_->apply(from, to, d);
    }
}

void overlay::set_demand(guest_id g, res d) {
    if (journaling()) {
        change ch{};
        ch.kind = change::what::demand;
        ch.index = g;
        ch.value = load_.demand[g];
        journal_.push_back(ch);
    }
    const res delta = d - load_.demand[g];
    if (load_.placement[g] != no_node) {
        save_used(load_.placement[g]);
        load_.used[load_.placement[g]] += delta;
        shift(no_node, load_.placement[g], delta);
    }
    if (target_[g] != no_node) {
        save_used(target_[g]);
        load_.used[target_[g]] += delta;
        shift(no_node, target_[g], delta);
    }
    load_.demand[g] = d;
}

void overlay::begin_loads(guest_id g, node_id to) {
    save_placement(g);
    target_[g] = to;
    save_used(to);
    load_.used[to] += load_.demand[g];
    add(g, to, +1);
}

void overlay::finish_loads(guest_id g) {
    const node_id from = load_.placement[g];
    save_placement(g);
    if (from != no_node) {
        save_used(from);
        load_.used[from] -= load_.demand[g];
        add(g, from, -1);
    }
    load_.placement[g] = target_[g];
    target_[g] = no_node;
}

void overlay::begin(guest_id g, node_id to) {
    begin_loads(g, to);
    shift(no_node, to, load_.demand[g]);
}

void overlay::finish(guest_id g) {
    const node_id from = load_.placement[g];
    finish_loads(g);
    shift(from, no_node, load_.demand[g]);
}

void overlay::move(guest_id g, node_id to) {
    const node_id from = load_.placement[g];
    begin_loads(g, to);
    finish_loads(g);
    shift(from, to, load_.demand[g]);
}

void overlay::move(const std::vector<guest_id> &gs, node_id to) {
    if (gs.empty()) {
        return;
    }
    // The objective sees the unit's summed demand leave its node and arrive at `to` in one
    // shift, as the planners score it (float sums are order-sensitive).
    res total;
    bool one_source = true;
    const node_id from = load_.placement[gs.front()];
    for (guest_id g : gs) {
        total += load_.demand[g];
        one_source = one_source && load_.placement[g] == from;
    }
    for (guest_id g : gs) {
        const node_id src = load_.placement[g];
        begin_loads(g, to);
        finish_loads(g);
        if (!one_source) {
            shift(src, no_node, load_.demand[g]);
        }
    }
    shift(one_source ? from : no_node, to, total);
}

void overlay::unplace(guest_id g) {
    const node_id from = load_.placement[g];
    if (from == no_node) {
        return;
    }
    save_placement(g);
    save_used(from);
    load_.used[from] -= load_.demand[g];
    add(g, from, -1);
    load_.placement[g] = no_node;
    shift(from, no_node, load_.demand[g]);
}

} // namespace pvebal
