/* perl/glue/serde.h - perlmod/serde-compatible conversion of Perl arguments, as
 * PVE::RS::ResourceScheduling's Rust bindings do it: the scalar kinds, serde's messages, structs
 * and sequences. Used by the HA scheduler glue (hacompat_args.h); included once, by Native.xs.
 *
 * Copyright (C) the pve-balancer authors. SPDX-License-Identifier: AGPL-3.0-or-later
 */
#ifndef PVEBAL_PERL_GLUE_SERDE_H_
#define PVEBAL_PERL_GLUE_SERDE_H_

namespace {

/* ------------------------------------------------------------------------------------------
 * perlmod-compatible argument conversion
 *
 * perlmod classifies a scalar by its SV type (not its OK flags) into integer/double/string
 * capabilities and serde then picks one; the messages below are serde's.
 * ------------------------------------------------------------------------------------------ */

enum : unsigned { f_int = 1, f_double = 2, f_string = 4 };

struct pvalue {
    enum kind_t { scalar, array, hash } kind = scalar;
    unsigned flags = 0; /* for scalars; 0 = undef */
    SV *sv = nullptr;
};

bool perl_defined(pTHX_ SV *sv) {
    if (!sv) {
        return false;
    }
    switch (SvTYPE(sv)) {
    case SVt_PVCV: return false;
    default: SvGETMAGIC(sv); return SvOK(sv);
    }
}

/* Follows references and classifies the value, as perlmod's deserializer does. */
error_text inspect(pTHX_ SV *sv, pvalue &out) {
    for (int depth = 0; sv && SvROK(sv); ++depth) {
        if (depth > 64) {
            return std::string("failed to dereference a reference while deserializing");
        }
        sv = SvRV(sv);
    }
    out = pvalue{};
    out.sv = sv;
    if (!sv) {
        return std::nullopt;
    }
    if (SvTYPE(sv) == SVt_PVAV) {
        out.kind = pvalue::array;
        return std::nullopt;
    }
    if (SvTYPE(sv) == SVt_PVHV) {
        out.kind = pvalue::hash;
        return std::nullopt;
    }
    for (int depth = 0; depth < 16; ++depth) {
        if (!perl_defined(aTHX_ sv)) {
            out.flags = 0;
            return std::nullopt;
        }
        switch (SvTYPE(sv)) {
        case SVt_IV: out.flags = f_int; return std::nullopt;
        case SVt_NV: out.flags = f_int | f_double; return std::nullopt;
        case SVt_PV: out.flags = f_string; return std::nullopt;
        case SVt_PVIV: out.flags = f_string | f_int; return std::nullopt;
        case SVt_PVNV: out.flags = f_string | f_int | f_double; return std::nullopt;
        case SVt_PVMG: out.flags = f_string | f_int | f_double; return std::nullopt;
        case SVt_PVLV:
            if (!LvTARG(sv)) {
                out.flags = 0;
                return std::nullopt;
            }
            sv = LvTARG(sv);
            out.sv = sv;
            continue;
        default:
            return "cannot deserialize weird magic perl values (" +
                   std::to_string(static_cast<unsigned>(SvTYPE(sv))) + ")";
        }
    }
    return std::string("cannot deserialize weird magic perl values (deeply nested lvalue)");
}

/* serde's Unexpected::Float: Rust's shortest display, ".0" added to finite integral values. */
std::string serde_float(double x) {
    std::string s = hc::detail::rust_display(x);
    if (std::isfinite(x) && s.find('.') == std::string::npos) {
        s += ".0";
    }
    return s;
}

/* Rust's Debug of a str ("string \"...\"" in serde's messages). */
std::string rust_debug_str(const std::string &s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\0': out += "\\0"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char buf[16];
                std::snprintf(buf, sizeof buf, "\\u{%x}", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

std::string utf8_of(pTHX_ SV *sv) {
    STRLEN len = 0;
    const char *p = SvPVutf8(sv, len);
    return std::string(p, len);
}

std::string invalid_type(const std::string &unexpected, const std::string &expected) {
    return "invalid type: " + unexpected + ", expected " + expected;
}

/* What serde reports for a value read through deserialize_any preferring a string. */
std::string unexpected_any_string(pTHX_ const pvalue &v) {
    switch (v.kind) {
    case pvalue::array: return "sequence";
    case pvalue::hash: return "map";
    case pvalue::scalar: break;
    }
    if (v.flags & f_string) {
        return "string " + rust_debug_str(utf8_of(aTHX_ v.sv));
    }
    if (v.flags & f_double) {
        return "floating point `" + serde_float(SvNV(v.sv)) + "`";
    }
    if (v.flags & f_int) {
        return "integer `" + std::to_string(static_cast<std::int64_t>(SvIV(v.sv))) + "`";
    }
    return "Option value";
}

/* usize (serde visitor "usize"; perlmod prefers the integer value). */
error_text to_usize(pTHX_ SV *sv, std::uint64_t &out) {
    pvalue v;
    if (auto e = inspect(aTHX_ sv, v)) {
        return e;
    }
    if (v.kind == pvalue::array) {
        return invalid_type("sequence", "usize");
    }
    if (v.kind == pvalue::hash) {
        return invalid_type("map", "usize");
    }
    if (v.flags & f_int) {
        const auto iv = static_cast<std::int64_t>(SvIV(v.sv));
        if (iv < 0) {
            return "invalid value: integer `" + std::to_string(iv) + "`, expected usize";
        }
        out = static_cast<std::uint64_t>(iv);
        return std::nullopt;
    }
    if (v.flags & f_double) {
        return invalid_type("floating point `" + serde_float(SvNV(v.sv)) + "`", "usize");
    }
    if (v.flags & f_string) {
        return invalid_type("string " + rust_debug_str(utf8_of(aTHX_ v.sv)), "usize");
    }
    return invalid_type("unit value", "usize");
}

/* f64 (perlmod prefers the floating point value, then the integer). */
error_text to_f64(pTHX_ SV *sv, double &out) {
    pvalue v;
    if (auto e = inspect(aTHX_ sv, v)) {
        return e;
    }
    if (v.kind == pvalue::array) {
        return invalid_type("sequence", "f64");
    }
    if (v.kind == pvalue::hash) {
        return invalid_type("map", "f64");
    }
    if (v.flags & f_double) {
        out = SvNV(v.sv);
        return std::nullopt;
    }
    if (v.flags & f_int) {
        out = static_cast<double>(static_cast<std::int64_t>(SvIV(v.sv)));
        return std::nullopt;
    }
    if (v.flags & f_string) {
        return invalid_type("string " + rust_debug_str(utf8_of(aTHX_ v.sv)), "f64");
    }
    return invalid_type("unit value", "f64");
}

/* String ("a string") or &str ("a borrowed string"). */
error_text to_string(pTHX_ SV *sv, std::string &out, const char *expected = "a string") {
    pvalue v;
    if (auto e = inspect(aTHX_ sv, v)) {
        return e;
    }
    if (v.kind == pvalue::scalar && (v.flags & f_string)) {
        out = utf8_of(aTHX_ v.sv);
        return std::nullopt;
    }
    return invalid_type(unexpected_any_string(aTHX_ v), expected);
}

error_text to_bool(pTHX_ SV *sv, bool &out) {
    pvalue v;
    if (auto e = inspect(aTHX_ sv, v)) {
        return e;
    }
    if (v.kind == pvalue::array) {
        return invalid_type("sequence", "a boolean");
    }
    if (v.kind == pvalue::hash) {
        return invalid_type("map", "a boolean");
    }
    if (v.flags == 0 || (v.flags & (f_int | f_double))) {
        out = v.flags != 0 && SvTRUE(v.sv);
        return std::nullopt;
    }
    return std::string("expected bool value");
}

/* Option<String>: undef is None. */
error_text to_optional_string(pTHX_ SV *sv, std::optional<std::string> &out) {
    pvalue v;
    if (auto e = inspect(aTHX_ sv, v)) {
        return e;
    }
    if (v.kind == pvalue::scalar && v.flags == 0) {
        out.reset();
        return std::nullopt;
    }
    std::string s;
    if (auto e = to_string(aTHX_ sv, s)) {
        return e;
    }
    out = std::move(s);
    return std::nullopt;
}

/* A serde-derived struct: a hash (fields by name, unknown keys ignored) or an array (fields by
 * position). `fields` are in declaration order; `optional` marks Option fields. */
struct field {
    const char *name;
    bool optional;
};

/* The SV of each field (NULL when missing), or an error. */
error_text struct_fields(pTHX_ SV *sv, const char *type_name, const std::vector<field> &fields,
                         std::vector<SV *> &out) {
    pvalue v;
    if (auto e = inspect(aTHX_ sv, v)) {
        return e;
    }
    const std::string expected = std::string("struct ") + type_name;
    out.assign(fields.size(), nullptr);
    if (v.kind == pvalue::hash) {
        HV *hv = (HV *)v.sv;
        for (std::size_t i = 0; i < fields.size(); ++i) {
            SV **slot = hv_fetch(hv, fields[i].name, static_cast<I32>(std::strlen(fields[i].name)), 0);
            out[i] = slot ? *slot : nullptr;
        }
        return std::nullopt;
    }
    if (v.kind == pvalue::array) {
        AV *av = (AV *)v.sv;
        const SSize_t len = av_len(av) + 1;
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (static_cast<SSize_t>(i) >= len) {
                return "invalid length " + std::to_string(i) + ", expected " + expected +
                       " with " + std::to_string(fields.size()) + " elements";
            }
            SV **slot = av_fetch(av, static_cast<SSize_t>(i), 0);
            out[i] = slot ? *slot : &PL_sv_undef;
        }
        return std::nullopt;
    }
    return invalid_type(unexpected_any_string(aTHX_ v), expected);
}

error_text missing_field(const char *name) {
    return std::string("missing field `") + name + "`";
}

/* Vec<T>: the element SVs of an array. */
error_text to_sequence(pTHX_ SV *sv, std::vector<SV *> &out) {
    pvalue v;
    if (auto e = inspect(aTHX_ sv, v)) {
        return e;
    }
    if (v.kind != pvalue::array) {
        return invalid_type(unexpected_any_string(aTHX_ v), "a sequence");
    }
    AV *av = (AV *)v.sv;
    const SSize_t len = av_len(av) + 1;
    out.clear();
    out.reserve(static_cast<std::size_t>(len));
    for (SSize_t i = 0; i < len; ++i) {
        SV **slot = av_fetch(av, i, 0);
        out.push_back(slot ? *slot : &PL_sv_undef);
    }
    return std::nullopt;
}

error_text to_string_list(pTHX_ SV *sv, std::vector<std::string> &out) {
    std::vector<SV *> items;
    if (auto e = to_sequence(aTHX_ sv, items)) {
        return e;
    }
    out.clear();
    for (SV *item : items) {
        std::string s;
        if (auto e = to_string(aTHX_ item, s)) {
            return e;
        }
        out.push_back(std::move(s));
    }
    return std::nullopt;
}

} // namespace

#endif
