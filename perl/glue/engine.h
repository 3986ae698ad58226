/* perl/glue/engine.h - glue of PVE::Balancer::Native::_execute and the option helpers:
 * Perl values to the engine's request, errors to PVE::Balancer::Native::Error. Included once,
 * by Native.xs.
 *
 * Copyright (C) the pve-balancer authors. SPDX-License-Identifier: AGPL-3.0-or-later
 */
#ifndef PVEBAL_PERL_GLUE_ENGINE_H_
#define PVEBAL_PERL_GLUE_ENGINE_H_

namespace {

/* ------------------------------------------------------------------------------------------
 * pvebal::execute()
 * ------------------------------------------------------------------------------------------ */

std::string bytes_of(pTHX_ SV *sv) {
    STRLEN len = 0;
    const char *p = SvPV(sv, len);
    return std::string(p, len);
}

const char *ref_kind(pTHX_ SV *sv) {
    if (!SvROK(sv)) {
        return "a plain value";
    }
    switch (SvTYPE(SvRV(sv))) {
    case SVt_PVAV: return "an ARRAY reference";
    case SVt_PVHV: return "a HASH reference";
    case SVt_PVCV: return "a CODE reference";
    case SVt_PVGV: return "a GLOB reference";
    default: return "a SCALAR reference";
    }
}

/* Plain defined string (not a reference), else an error naming `what`. */
engine_error plain_string(pTHX_ SV *sv, const std::string &what, std::string &out) {
    SvGETMAGIC(sv);
    if (!SvOK(sv)) {
        return pvebal::error{what, "expected a string, got undef"};
    }
    if (SvROK(sv)) {
        return pvebal::error{what, std::string("expected a string, got ") + ref_kind(aTHX_ sv)};
    }
    out = bytes_of(aTHX_ sv);
    return std::nullopt;
}

engine_error run_execute(pTHX_ SV *command, SV *snapshot, SV *args, SV **result) {
    pvebal::request r;
    if (auto e = plain_string(aTHX_ command, "command", r.command)) {
        return e;
    }
    if (auto e = plain_string(aTHX_ snapshot, "snapshot", r.snapshot)) {
        return e;
    }
    SvGETMAGIC(args);
    if (!SvROK(args) || SvTYPE(SvRV(args)) != SVt_PVHV) {
        return pvebal::error{"arguments", "expected a HASH reference"};
    }
    HV *hv = (HV *)SvRV(args);
    hv_iterinit(hv);
    while (HE *he = hv_iternext(hv)) {
        SV *key_sv = hv_iterkeysv(he);
        std::string key = bytes_of(aTHX_ key_sv);
        std::string value;
        if (auto e = plain_string(aTHX_ HeVAL(he), key, value)) {
            return e;
        }
        r.args[key] = std::move(value);
    }
    r.arg_prefix = "";
    r.format = pvebal::output_format::json;
    pvebal::result<std::string> out = pvebal::execute(r);
    if (!out) {
        return out.error();
    }
    *result = newSVpvn_flags(out->data(), out->size(), SVs_TEMP);
    return std::nullopt;
}

} // namespace

#endif
