// A portable random source for the generated-cluster tests: only raw std::mt19937 output and
// arithmetic on it (the std distributions differ between standard libraries), so a seed gives
// the same cluster everywhere.
#ifndef PVEBAL_TESTS_SUPPORT_RANDOM_H_
#define PVEBAL_TESTS_SUPPORT_RANDOM_H_

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace pvebal::test {

class rng_t {
public:
    explicit rng_t(std::uint32_t seed) : g_(seed) {}
    std::uint32_t next() { return static_cast<std::uint32_t>(g_()); }
    int uniform(int lo, int hi) { // inclusive
        return lo + static_cast<int>(next() % static_cast<std::uint32_t>(hi - lo + 1));
    }
    double real() { return next() / 4294967296.0; } // [0, 1)
    bool chance(double p) { return real() < p; }
    bool percent(int p) { return static_cast<int>(next() % 100) < p; }
    template <class T> const T &pick(const std::vector<T> &v) { return v[next() % v.size()]; }
    template <class T> void shuffle(std::vector<T> &v) {
        for (size_t i = v.size(); i > 1; --i) {
            std::swap(v[i - 1], v[next() % i]);
        }
    }

private:
    std::mt19937 g_;
};

} // namespace pvebal::test

#endif
