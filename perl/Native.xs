/* PVE::Balancer::Native - Perl binding of the pve-balancer engine.
 *
 * Two parts:
 *   - PVE::Balancer::Native::_execute(command, snapshot_json, {arg => text}): pvebal::execute(),
 *     the same entry point the CLI uses; returns the JSON answer as UTF-8 bytes. The Perl side
 *     (lib/PVE/Balancer/Native.pm) turns Perl data into JSON and the answer back into Perl data.
 *   - PVE::Balancer::HAScheduler::{Static,Dynamic}: the interface of
 *     PVE::RS::ResourceScheduling::{Static,Dynamic} (pve-rs) on a blessed hash that carries a
 *     pvebal::hacompat::scheduler in ext magic. Arguments are converted the way perlmod/serde
 *     convert them (same accepted values, same messages), so pve-ha-manager sees no difference.
 *
 * This file holds the bindings (the XSUBs); the glue they call lives in glue/: common.h (error
 * values, exception guards), engine.h (execute and option helpers), hacompat.h (the scheduler).
 *
 * Boundary rules: every XSUB runs its C++ work in a function that catches every exception and
 * returns an error SV; the XSUB croaks only after that function has returned, when no C++ object
 * is alive any more (croak longjmps and would skip destructors). Engine errors are
 * PVE::Balancer::Native::Error objects {path, message} that stringify to
 * "pve-balancer: PATH: MESSAGE\n"; the HA scheduler's are the strings pve-rs would die with.
 *
 * Copyright (C) the pve-balancer authors. SPDX-License-Identifier: AGPL-3.0-or-later
 */

/* C++ and project headers first: perl.h defines macros that break the standard library. */
#include "pvebal/api.h"
#include "pvebal/hacompat.h"
#include "pvebal/io.h"
#include "hacompat/capacity_aware.h"
#include "hacompat/float_ops.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#ifndef PVEBAL_VERSION
#define PVEBAL_VERSION "unknown"
#endif

#include "glue/common.h"
#include "glue/engine.h"
#include "glue/serde.h"
#include "glue/hacompat_args.h"
#include "glue/hacompat.h"

#define PVEBAL_METHOD(KIND, M)                                                                  \
    do {                                                                                       \
        SV *result_ = nullptr;                                                                 \
        SV *err_ = invoke_method(aTHX_ KIND, M, &ST(0), items, &result_);                        \
        if (err_) {                                                                            \
            croak_sv(err_);                                                                    \
        }                                                                                      \
        if (result_) {                                                                         \
            ST(0) = result_;                                                                   \
            XSRETURN(1);                                                                       \
        }                                                                                      \
        XSRETURN_EMPTY;                                                                        \
    } while (0)

#define K_STATIC pvebal::hacompat::kind::static_usage
#define K_DYNAMIC pvebal::hacompat::kind::dynamic_usage

MODULE = PVE::Balancer::Native  PACKAGE = PVE::Balancer::Native

PROTOTYPES: DISABLE

SV *
_version()
  CODE:
    RETVAL = newSVpv(PVEBAL_VERSION, 0);
  OUTPUT:
    RETVAL

SV *
_option_schema_json()
  CODE:
    std::string text;
    SV *err = guarded_engine(aTHX_ [&]() -> engine_error {
        text = pvebal::render_option_schema(pvebal::output_format::json);
        return std::nullopt;
    });
    if (err) {
        croak_sv(err);
    }
    RETVAL = newSVpvn(text.data(), text.size());
  OUTPUT:
    RETVAL

SV *
_parse_config_json(raw)
    SV *raw
  CODE:
    std::string text;
    SV *err = guarded_engine(aTHX_ [&]() -> engine_error {
        std::string in;
        if (auto e = plain_string(aTHX_ raw, "config text", in)) {
            return e;
        }
        text = pvebal::render_config_file(pvebal::parse_config_text(in));
        return std::nullopt;
    });
    if (err) {
        croak_sv(err);
    }
    RETVAL = newSVpvn(text.data(), text.size());
  OUTPUT:
    RETVAL

SV *
_normalize_option(key, value)
    SV *key
    SV *value
  CODE:
    std::string text;
    SV *err = guarded_engine(aTHX_ [&]() -> engine_error {
        std::string k, v;
        if (auto e = plain_string(aTHX_ key, "option key", k)) {
            return e;
        }
        const pvebal::option_info *o = pvebal::find_option(k);
        if (o == nullptr) {
            return pvebal::error{k, "unknown option"};
        }
        if (auto e = plain_string(aTHX_ value, k, v)) {
            return e;
        }
        auto r = pvebal::normalize_option_value(*o, v);
        if (!r) {
            return pvebal::error{k, r.error().message};
        }
        text = std::move(*r);
        return std::nullopt;
    });
    if (err) {
        croak_sv(err);
    }
    RETVAL = newSVpvn(text.data(), text.size());
  OUTPUT:
    RETVAL

void
_execute(command, snapshot, args)
    SV *command
    SV *snapshot
    SV *args
  PPCODE:
    SV *result = nullptr;
    SV *err = guarded_engine(aTHX_ [&]() { return run_execute(aTHX_ command, snapshot, args, &result); });
    if (err) {
        croak_sv(err);
    }
    XPUSHs(result);

MODULE = PVE::Balancer::Native  PACKAGE = PVE::Balancer::HAScheduler

IV
_live_handles()
  CODE:
    RETVAL = live_handles;
  OUTPUT:
    RETVAL

void
_new(klass, kind, capacity_aware, normalize, options = &PL_sv_undef, problems = &PL_sv_undef, nodes = &PL_sv_undef)
    SV *klass
    int kind
    int capacity_aware
    int normalize
    SV *options
    SV *problems
    SV *nodes
  PPCODE:
    SV *result = nullptr;
    SV *err = new_handle(aTHX_ klass, kind == 0 ? K_STATIC : K_DYNAMIC, capacity_aware != 0,
                         normalize != 0, options, problems, nodes, &result);
    if (err) {
        croak_sv(err);
    }
    XPUSHs(result);

MODULE = PVE::Balancer::Native  PACKAGE = PVE::Balancer::HAScheduler::Static

void
add_node(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::add_node);

void
remove_node(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::remove_node);

void
list_nodes(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::list_nodes);

void
contains_node(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::contains_node);

void
add_service(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::add_resource);

void
add_service_usage_to_node(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::add_usage_to_node);

void
remove_service_usage(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::remove_resource);

void
calculate_node_imbalance(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::imbalance);

void
_score_best_balancing_migration_candidates(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::balancing);

void
_score_best_balancing_migration_candidates_topsis(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::balancing_topsis);

void
_score_nodes_to_start_service(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::start);

void
_score_nodes_to_start_service_compatible(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::start_compatible);

void
mode(...)
  PPCODE:
    PVEBAL_METHOD(K_STATIC, method::mode);

void
DESTROY(self)
    SV *self
  PPCODE:
    destroy_handle(aTHX_ self);
    XSRETURN_EMPTY;

MODULE = PVE::Balancer::Native  PACKAGE = PVE::Balancer::HAScheduler::Dynamic

void
add_node(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::add_node);

void
remove_node(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::remove_node);

void
list_nodes(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::list_nodes);

void
contains_node(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::contains_node);

void
add_resource(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::add_resource);

void
remove_resource(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::remove_resource);

void
calculate_node_imbalance(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::imbalance);

void
_score_best_balancing_migration_candidates(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::balancing);

void
_score_best_balancing_migration_candidates_topsis(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::balancing_topsis);

void
_score_nodes_to_start_resource(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::start);

void
_score_nodes_to_start_resource_compatible(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::start_compatible);

void
mode(...)
  PPCODE:
    PVEBAL_METHOD(K_DYNAMIC, method::mode);

void
DESTROY(self)
    SV *self
  PPCODE:
    destroy_handle(aTHX_ self);
    XSRETURN_EMPTY;
