// Floating-point helpers for the upstream-compatible scheduler (private to src/hacompat).
//
// Upstream is Rust, which evaluates every operation on its own with IEEE round-to-nearest and
// never fuses a multiply into an add. These helpers keep our arithmetic identical to that.
#ifndef PVEBAL_SRC_HACOMPAT_FLOAT_OPS_H_
#define PVEBAL_SRC_HACOMPAT_FLOAT_OPS_H_

#if defined(__FAST_MATH__)
#error "pvebal hacompat must be built without -ffast-math: it reproduces upstream bit by bit"
#endif

#include <cstdint>
#include <string>

namespace pvebal::hacompat::detail {

// a * b, rounded on its own. Where the target has FMA, an empty asm makes the product opaque so
// that `sum + a * b` cannot be contracted into one fused operation whatever -ffp-contract says.
inline double product(double a, double b) {
    double p = a * b;
#if defined(__FP_FAST_FMA) && defined(__GNUC__)
    __asm__("" : "+m"(p));
#endif
    return p;
}

// sum + x * x, the way Rust's `sum + x.powi(2)` evaluates it.
inline double add_square(double sum, double x) {
    return sum + product(x, x);
}

// Key whose integer order is IEEE 754 totalOrder (Rust's f64::total_cmp): -NaN < -inf < ... <
// -0 < +0 < ... < +inf < +NaN.
std::int64_t total_order_key(double x);
inline bool total_less(double a, double b) {
    return total_order_key(a) < total_order_key(b);
}

// An f64 as Rust's `{}` formats it: shortest round-trip digits, never in exponent form, and
// "NaN", "inf", "-inf".
std::string rust_display(double x);

} // namespace pvebal::hacompat::detail

#endif
