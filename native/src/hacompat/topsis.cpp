// TOPSIS (Technique for Order of Preference by Similarity to Ideal Solution) as used by
// proxmox-resource-scheduling, and the floating-point helpers of float_ops.h.
#include "float_ops.h"
#include "pvebal/hacompat.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>

namespace pvebal::hacompat {

namespace detail {

std::int64_t total_order_key(double x) {
    auto bits = std::bit_cast<std::int64_t>(x);
    // Negative values: flip everything but the sign so that more negative sorts lower.
    auto mask = static_cast<std::int64_t>(static_cast<std::uint64_t>(bits >> 63) >> 1);
    return bits ^ mask;
}

std::string rust_display(double x) {
    if (std::isnan(x)) {
        return "NaN";
    }
    if (std::isinf(x)) {
        return x < 0 ? "-inf" : "inf";
    }
    // Shortest round-trip digits in positional notation; the longest (subnormals) need ~330.
    char buf[512];
    auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed);
    return std::string(buf, res.ptr);
}

} // namespace detail

namespace topsis {

namespace {

struct weighed_criterion {
    double weight; // normalised, in [0, 1]
    bool maximize;
};

// Weights as fractions of their sum, keeping the direction apart.
outcome<std::vector<weighed_criterion>> normalize(const std::vector<criterion> &criteria) {
    std::vector<weighed_criterion> out;
    out.reserve(criteria.size());
    double divisor = -0.0;
    for (const criterion &c : criteria) {
        bool maximize = c.weight >= 0.0;
        out.push_back({maximize ? c.weight : -c.weight, maximize});
        divisor += out.back().weight;
    }
    if (divisor == 0.0) {
        return std::unexpected(std::string("no criterion has a non-zero weight"));
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        double &w = out[i].weight;
        w /= divisor;
        if (w > 1.0 || w < 0.0 || !std::isfinite(w)) {
            return std::unexpected("criterion '" + criteria[i].name + "' got invalid weight " +
                                   detail::rust_display(w));
        }
    }
    return out;
}

// Euclidean length, summing the squares in order.
template <class Values> double l2_norm(const Values &values) {
    double sum = -0.0;
    for (double v : values) {
        sum = detail::add_square(sum, v);
    }
    return std::sqrt(sum);
}

} // namespace

outcome<std::vector<double>> score_alternatives(std::vector<std::vector<double>> matrix,
                                                const std::vector<criterion> &criteria) {
    auto weights = normalize(criteria);
    if (!weights) {
        return std::unexpected(std::move(weights.error()));
    }
    const std::size_t width = criteria.size();
    for (std::size_t row = 0; row < matrix.size(); ++row) {
        if (matrix[row].size() != width) {
            return std::unexpected("alternative " + std::to_string(row) + " has " +
                                   std::to_string(matrix[row].size()) + " values for " +
                                   std::to_string(width) + " criteria");
        }
    }

    // Scale each criterion's column to unit length; an all-zero column stays as it is.
    std::vector<double> column(matrix.size());
    for (std::size_t n = 0; n < width; ++n) {
        for (std::size_t row = 0; row < matrix.size(); ++row) {
            column[row] = matrix[row][n];
        }
        double divisor = l2_norm(column);
        if (divisor != 0.0) {
            for (auto &alternative : matrix) {
                double &value = alternative[n];
                value /= divisor;
                if (!std::isfinite(value)) {
                    return std::unexpected("criterion " + std::to_string(n) +
                                           " got invalid value " + detail::rust_display(value));
                }
            }
        }
    }

    // Ideal best and worst alternative, criterion by criterion.
    std::vector<double> best(width, 0.0);
    std::vector<double> worst(width, 0.0);
    for (std::size_t n = 0; n < width; ++n) {
        double lo = std::numeric_limits<double>::infinity();
        double hi = -std::numeric_limits<double>::infinity();
        if (!matrix.empty()) {
            lo = hi = matrix.front()[n];
            for (const auto &alternative : matrix) {
                if (detail::total_less(alternative[n], lo)) {
                    lo = alternative[n];
                }
                if (!detail::total_less(alternative[n], hi)) {
                    hi = alternative[n];
                }
            }
        } else {
            std::swap(lo, hi); // no alternatives: min defaults to -inf, max to +inf
        }
        best[n] = (*weights)[n].maximize ? hi : lo;
        worst[n] = (*weights)[n].maximize ? lo : hi;
    }

    std::vector<double> scores;
    scores.reserve(matrix.size());
    std::vector<double> to_best(width);
    std::vector<double> to_worst(width);
    for (const auto &alternative : matrix) {
        for (std::size_t n = 0; n < width; ++n) {
            to_best[n] = (alternative[n] - best[n]) * (*weights)[n].weight;
            to_worst[n] = (alternative[n] - worst[n]) * (*weights)[n].weight;
        }
        double distance_to_best = l2_norm(to_best);
        double distance_to_worst = l2_norm(to_worst);
        double divisor = distance_to_worst + distance_to_best;
        // Both distances are 0 when every alternative is the same.
        scores.push_back(divisor == 0.0 ? 0.0 : distance_to_worst / divisor);
    }
    for (double score : scores) {
        if (!std::isfinite(score)) {
            return std::unexpected("invalid score " + detail::rust_display(score));
        }
    }
    return scores;
}

outcome<std::vector<std::size_t>> rank_alternatives(std::vector<std::vector<double>> matrix,
                                                    const std::vector<criterion> &criteria) {
    auto scores = score_alternatives(std::move(matrix), criteria);
    if (!scores) {
        return std::unexpected(std::move(scores.error()));
    }
    std::vector<std::size_t> order(scores->size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return detail::total_less((*scores)[b], (*scores)[a]);
    });
    return order;
}

} // namespace topsis

const std::vector<topsis::criterion> &pve_criteria() {
    static const std::vector<topsis::criterion> criteria{
        {"average CPU", -1.0},
        {"highest CPU", -2.0},
        {"average memory", -5.0},
        {"highest memory", -10.0},
    };
    return criteria;
}

} // namespace pvebal::hacompat
