/* perl/glue/common.h - shared by the glue of PVE::Balancer::Native; included once, by
 * Native.xs, after perl.h (everything here is internal to that translation unit).
 *
 * Copyright (C) the pve-balancer authors. SPDX-License-Identifier: AGPL-3.0-or-later
 */
#ifndef PVEBAL_PERL_GLUE_COMMON_H_
#define PVEBAL_PERL_GLUE_COMMON_H_

namespace {

namespace hc = pvebal::hacompat;
namespace ca = pvebal::hacompat::capacity_aware;

using error_text = std::optional<std::string>;

/* A mortal string SV holding `text` (UTF-8). */
SV *mortal_text(pTHX_ const std::string &text) {
    return newSVpvn_flags(text.data(), text.size(), SVs_TEMP | SVf_UTF8);
}

/* Runs `body` (which returns an error_text) with every exception caught. Returns a mortal SV
 * holding the message to croak with, or NULL. `prefix` goes before internal errors. */
template <class F> SV *guarded(pTHX_ const char *prefix, F &&body) {
    std::string message;
    bool failed = false;
    try {
        error_text err = body();
        if (err) {
            message = std::move(*err);
            failed = true;
        }
    } catch (const std::bad_alloc &) {
        message = std::string(prefix) + "out of memory\n";
        failed = true;
    } catch (const std::exception &e) {
        message = std::string(prefix) + "internal error: " + e.what() + "\n";
        failed = true;
    } catch (...) {
        message = std::string(prefix) + "internal error: unknown exception\n";
        failed = true;
    }
    return failed ? mortal_text(aTHX_ message) : nullptr;
}

/* A PVE::Balancer::Native::Error: a blessed hash {path, message}. lib/PVE/Balancer/Native.pm
 * overloads its stringification to "pve-balancer: PATH: MESSAGE\n" ("pve-balancer: MESSAGE\n"
 * without a path), the text these errors always had, so string matching callers keep working. */
SV *new_error(pTHX_ const pvebal::error &e) {
    HV *hv = newHV();
    hv_stores(hv, "path", newSVpvn_flags(e.path.data(), e.path.size(), SVf_UTF8));
    hv_stores(hv, "message", newSVpvn_flags(e.message.data(), e.message.size(), SVf_UTF8));
    SV *rv = newRV_noinc((SV *)hv);
    sv_bless(rv, gv_stashpvs("PVE::Balancer::Native::Error", GV_ADD));
    return sv_2mortal(rv);
}

using engine_error = std::optional<pvebal::error>;

/* Like guarded(), for the engine's entry points: the error is a mortal
 * PVE::Balancer::Native::Error (internal errors have no path). */
template <class F> SV *guarded_engine(pTHX_ F &&body) {
    pvebal::error err;
    bool failed = false;
    try {
        engine_error e = body();
        if (e) {
            err = std::move(*e);
            failed = true;
        }
    } catch (const std::bad_alloc &) {
        err = {"", "out of memory"};
        failed = true;
    } catch (const std::exception &e) {
        err = {"", std::string("internal error: ") + e.what()};
        failed = true;
    } catch (...) {
        err = {"", "internal error: unknown exception"};
        failed = true;
    }
    return failed ? new_error(aTHX_ err) : nullptr;
}

} // namespace

#endif
