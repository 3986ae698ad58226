package PVE::API2::Balancer;

# The /cluster/balance API: cluster balance status, balance and evacuation plans (dry run by
# default, applied as a worker task), HA capacity (N+k), failover and placement what-ifs, the
# cluster-wide configuration and the collected snapshot.
#
# Mounted below PVE::API2::Cluster by PVE::Balancer::APIRegister (pve-manager is not edited).

use strict;
use warnings;

use JSON;

use PVE::Exception qw(raise raise_param_exc raise_perm_exc);
use PVE::JSONSchema qw(get_standard_option);
use PVE::RPCEnvironment;
use PVE::Tools qw(extract_param);

use PVE::Balancer::Access;
use PVE::Balancer::Config;
use PVE::Balancer::Env;
use PVE::Balancer::DaemonStatus;
use PVE::Balancer::History;
use PVE::Balancer::Lease;
use PVE::Balancer::Manager;
use PVE::Balancer::Planner;
use PVE::Balancer::Recovery;

use base qw(PVE::RESTHandler);

my $size_pattern = '\d+(?:\.\d+)?[KMGT]?';

# More failure scenarios than this would keep a pvedaemon worker busy for minutes.
my $max_scenarios_limit = 100_000;

my sub with_engine_options {
    my ($props) = @_;

    my $res = PVE::Balancer::Config::engine_option_schema();
    $res->{$_} = $props->{$_} for keys %$props;
    return $res;
}

my $apply_properties = {
    apply => {
        type => 'boolean',
        description => "Run the plan as a worker task and return its UPID. Without it, the"
            . " plan is only computed and returned (dry run).",
        optional => 1,
        default => 0,
    },
    'on-failure' => do {
        my $prop = PVE::Balancer::Config::config_schema()->{'on-failure'};
        delete $prop->{default}; # balancer.cfg decides
        $prop->{description} = "When a migration fails: stop, or compute a new plan from the"
            . " current state and go on (default: balancer.cfg's on-failure).";
        $prop;
    },
    digest => {
        type => 'string',
        description => "Apply only if the freshly computed plan has this digest (the 'digest'"
            . " of the plan shown to the user), so what runs is what was reviewed.",
        pattern => '[0-9a-f]{40}',
        optional => 1,
    },
};

my $migration_schema = {
    type => 'object',
    additionalProperties => 1,
    properties => {
        step => { type => 'integer', description => "Execution order." },
        wave => { type => 'integer', description => "Migrations of one wave may run in parallel." },
        vmid => get_standard_option('pve-vmid'),
        type => { type => 'string', enum => ['qemu', 'lxc'] },
        name => { type => 'string', optional => 1 },
        from => get_standard_option('pve-node', { description => "Source node." }),
        to => get_standard_option('pve-node', { description => "Target node." }),
        mode => { type => 'string', enum => ['online', 'offline', 'restart'] },
        ha => { type => 'boolean', optional => 1, description => "Moved by the HA manager." },
        'with-local-disks' => { type => 'boolean', optional => 1 },
        temporary => { type => 'boolean', optional => 1 },
        reason => { type => 'string', optional => 1 },
        cost => {
            type => 'object',
            optional => 1,
            description => "Estimated bytes, seconds and downtime of the migration.",
        },
    },
};

my $permissions_schema = {
    type => 'object',
    optional => 1,
    description => "What the caller may do: 'apply' (this plan, or plans in general in the"
        . " status), 'config' (change balancer.cfg), and 'why' applying is not allowed.",
    properties => {
        apply => { type => 'boolean' },
        config => { type => 'boolean' },
        why => { type => 'string', optional => 1 },
    },
};

my $plan_schema = {
    type => 'object',
    additionalProperties => 1,
    description => "The plan (see docs/api.md and the CLI's JSON output).",
    properties => {
        kind => { type => 'string', enum => ['balance', 'evacuate'] },
        digest => {
            type => 'string',
            description => "Digest of the migrations; pass it with apply=1 to run exactly"
                . " this plan.",
        },
        migrations => { type => 'array', items => $migration_schema },
        unplaced => {
            type => 'array',
            description => "Guests that cannot be moved, with the reason per node.",
            items => { type => 'object' },
        },
        metrics => { type => 'object', description => "Metrics before and after the plan." },
        nodes => { type => 'array', items => { type => 'object' } },
        summary => { type => 'object' },
        notes => { type => 'array', items => { type => 'string' } },
        dropped => { type => 'array', optional => 1, items => { type => 'object' } },
        drained => { type => 'array', optional => 1, items => { type => 'string' } },
        mode => { type => 'string', optional => 1 },
        permissions => $permissions_schema,
    },
};

my $plan_or_upid = {
    description => "The plan (dry run), or the UPID of the task that runs it (apply=1).",
    oneOf => [
        $plan_schema, { type => 'string', description => "UPID of the balance task." },
    ],
};

my $read_permissions = {
    description => "Requires 'Sys.Audit' on '/'.",
    check => ['perm', '/', ['Sys.Audit']],
};

my $apply_permissions = {
    description => "Computing a plan requires 'Sys.Audit' on '/'. Applying it (apply=1) also"
        . " requires 'Sys.Modify' on '/' and 'VM.Migrate' on '/vms/<ID>' for every guest of the"
        . " plan.",
    check => ['perm', '/', ['Sys.Audit']],
};

my sub engine_args {
    my ($param, @command_args) = @_;

    my $args = {};
    my $errors = {};
    for my $key (sort keys %$param) {
        next if !defined($param->{$key});
        if (grep { $_ eq $key } @command_args) {
            $args->{$key} = $param->{$key};
            next;
        }
        next if !PVE::Balancer::Config::is_engine_option($key);
        # the engine's strict reading, so the API accepts exactly what balancer.cfg and the CLI do
        my $value = $param->{$key};
        $value = $value ? 1 : 0 if ref($value) && JSON::is_bool($value);
        $args->{$key} = eval { PVE::Balancer::Config::normalize($key, $value) };
        if (my $err = $@) {
            chomp $err;
            $errors->{$key} = $err;
        }
    }
    raise_param_exc($errors) if %$errors;
    return $args;
}

# VM.Audit on a guest, as GET /cluster/resources checks it.
my sub audit_filter {
    my ($rpcenv, $authuser) = @_;

    return sub {
        my ($vmid) = @_;
        return $rpcenv->check($authuser, "/vms/$vmid", ['VM.Audit'], 1);
    };
}

# Leaves out of $res the guests the caller may not see and counts them in 'hidden-guests'.
my sub visible_only {
    my ($res, $rpcenv, $authuser) = @_;

    return $res if ref($res) ne 'HASH';
    my $hidden = PVE::Balancer::Access::filter_guests($res, audit_filter($rpcenv, $authuser));
    $res->{'hidden-guests'} = $hidden if $hidden;
    return $res;
}

# Errors and warnings of balancer.cfg as notes of an answer.
my sub config_notes {
    my ($cfg) = @_;

    my ($errors, $warnings) = PVE::Balancer::Config::problems($cfg);
    return [(map { "configuration error: $_" } @$errors), (map { "configuration: $_" } @$warnings)];
}

# What the caller may do, for clients such as the web UI: change the configuration (Sys.Modify
# on /) and apply (Sys.Modify on /, and VM.Migrate on every guest of $plan when one is given).
# 'why' says what is missing, in words an admin can act on.
# Guests the caller may not see (no VM.Audit) are counted, not named.
my sub caller_permissions {
    my ($rpcenv, $authuser, $plan, $snapshot) = @_;

    my $modify = $rpcenv->check($authuser, '/', ['Sys.Modify'], 1) ? 1 : 0;
    my @missing;
    push @missing, "'Sys.Modify' on '/'" if !$modify;

    my $moved = $plan ? PVE::Balancer::Access::guests_moved($plan, $snapshot) : [];
    my @denied = grep { !$rpcenv->check($authuser, "/vms/$_", ['VM.Migrate'], 1) } @$moved;
    my @named = grep { $rpcenv->check($authuser, "/vms/$_", ['VM.Audit'], 1) } @denied;
    my $unseen = scalar(@denied) - scalar(@named);
    if (@denied) {
        my @shown = map { "/vms/$_" } splice(@named, 0, 5);
        my $more = @named + $unseen ? ' and ' . scalar(@named + $unseen) . ' more' : '';
        push @missing, @shown
            ? "'VM.Migrate' on " . join(', ', @shown) . $more
            : "'VM.Migrate' on $unseen guests you cannot see";
    }

    my $res = { config => $modify, apply => @missing ? 0 : 1 };
    $res->{why} = "Applying needs " . join(' and ', @missing) if @missing;
    return $res;
}

my sub check_apply_permissions {
    my ($rpcenv, $authuser, $plan, $snapshot) = @_;

    $rpcenv->check($authuser, '/', ['Sys.Modify']);
    for my $vmid (@{ PVE::Balancer::Access::guests_moved($plan, $snapshot) }) {
        $rpcenv->check($authuser, "/vms/$vmid", ['VM.Migrate']);
    }
}

# Computes a balance or evacuate plan; returns it (dry run) or starts the worker.
my sub plan_and_maybe_apply {
    my ($kind, $param, @command_args) = @_;

    my $rpcenv = PVE::RPCEnvironment::get();
    my $authuser = $rpcenv->get_user();

    my $apply = extract_param($param, 'apply');
    my $digest = extract_param($param, 'digest');
    my $on_failure = extract_param($param, 'on-failure');
    my $ha_guests = extract_param($param, 'ha-guests');

    my $env = PVE::Balancer::Env->default_env();
    my $cfg = PVE::Balancer::Config::load($env);
    # this request's choice wins over balancer.cfg, for the plan and for re-plans of its run
    $cfg->{values}->{'ha-guests'} = $ha_guests if defined($ha_guests);
    my $args = engine_args($param, @command_args);

    if ($apply) {
        # fail early, before the plan is computed, when the user may not apply anything
        $rpcenv->check($authuser, '/', ['Sys.Modify']);
        eval { PVE::Balancer::Config::check_applicable($cfg) };
        raise($@, code => 400) if $@;
    }

    my $manager = PVE::Balancer::Manager->new($env, cfg => $cfg);
    my ($plan, $snapshot) = $manager->plan($kind, $args);

    if (!$apply) {
        $plan->{permissions} = caller_permissions($rpcenv, $authuser, $plan, $snapshot);
        push @{ $plan->{notes} }, @{ config_notes($cfg) };
        return visible_only($plan, $rpcenv, $authuser);
    }

    check_apply_permissions($rpcenv, $authuser, $plan, $snapshot);

    if (defined($digest) && $digest ne $plan->{digest}) {
        raise("the plan changed since it was shown (digest mismatch) - review it again\n",
            code => 409);
    }

    if (my $active = $manager->running()) {
        raise("another balance run is in progress ("
            . PVE::Balancer::Lease::describe($active) . ")\n", code => 409);
    }

    my $worker = sub {
        my ($upid) = @_;

        $manager->apply(
            $plan,
            kind => $kind,
            args => $args,
            upid => $upid,
            user => $authuser,
            defined($on_failure) ? ('on-failure' => $on_failure) : (),
            may_migrate => sub {
                my ($vmid) = @_;
                return $rpcenv->check($authuser, "/vms/$vmid", ['VM.Migrate'], 1);
            },
        );
        return;
    };

    my $dtype = $kind eq 'evacuate' ? 'balance-evacuate' : 'balance';
    my $id = $kind eq 'evacuate' ? ($args->{node} =~ s/[,;\s]+/-/gr) : '';

    return $rpcenv->fork_worker($dtype, $id, $authuser, $worker);
}

__PACKAGE__->register_method({
    name => 'status',
    path => '',
    method => 'GET',
    protected => 1, # RRD history: readable by root only, as upstream's rrddata calls
    description => "Balance status of the cluster: current metrics, HA capacity, whether"
        . " automatic balancing and Proxmox's own HA auto-rebalance are on, the run in"
        . " progress, the last runs and what pve-balancerd is doing.",
    permissions => $read_permissions,
    parameters => {
        additionalProperties => 0,
        properties => {
            runs => {
                type => 'integer',
                description => "How many of the last runs to list.",
                minimum => 0,
                maximum => 200,
                optional => 1,
                default => 5,
            },
        },
    },
    returns => {
        type => 'object',
        additionalProperties => 1,
        properties => {
            engine => { type => 'string', optional => 1, description => "Engine version." },
            auto => { type => 'boolean', description => "Automatic balancing (balancer.cfg)." },
            interval => { type => 'integer', description => "Minutes between automatic runs." },
            'ha-auto-rebalance' => {
                type => 'boolean',
                optional => 1,
                description => "Proxmox's own HA auto-rebalance (datacenter.cfg crs).",
            },
            crs => { type => 'object', optional => 1, description => "datacenter.cfg crs." },
            'ha-guests' => {
                type => 'string',
                enum => ['move', 'skip'],
                optional => 1,
                description => "Whether balancing moves HA-managed guests right now.",
            },
            metrics => { type => 'object', optional => 1, description => "Current metrics." },
            nodes => { type => 'array', optional => 1, items => { type => 'object' } },
            warnings => { type => 'array', optional => 1, items => { type => 'object' } },
            summary => { type => 'object', optional => 1 },
            capacity => {
                type => 'object',
                optional => 1,
                description => "How many node failures the HA guests survive.",
            },
            active => {
                type => 'object',
                optional => 1,
                description => "The balance run in progress.",
            },
            runs => {
                type => 'array',
                items => { type => 'object' },
                description => "The last runs, newest first.",
            },
            daemon => {
                type => 'object',
                optional => 1,
                description => "Automatic balancing by pve-balancerd (absent when it does not"
                    . " run): 'active-node', 'nodes' (node, state), 'last-cycle' (time,"
                    . " trigger, decision, why, ...), 'next-cycle' (time, trigger), 'running',"
                    . " 'cooldown' (vmid, until, ...), 'this-node'. See docs/daemon.md.",
            },
            errors => {
                type => 'array',
                optional => 1,
                items => { type => 'string' },
                description => "Parts of the status that could not be computed.",
            },
            permissions => $permissions_schema,
        },
    },
    code => sub {
        my ($param) = @_;

        my $rpcenv = PVE::RPCEnvironment::get();
        my $authuser = $rpcenv->get_user();

        my $env = PVE::Balancer::Env->default_env();
        my $cfg = PVE::Balancer::Config::load($env);
        my $eff = PVE::Balancer::Config::effective($cfg);

        my $res = {
            auto => $eff->{auto} ? 1 : 0,
            interval => $eff->{interval} + 0,
            'ha-scheduler' => $eff->{'ha-scheduler'},
        };
        my ($cfg_errors, $cfg_warnings) = PVE::Balancer::Config::problems($cfg);
        my $errors = [map { "configuration: $_" } @$cfg_errors];
        $res->{'config-warnings'} = $cfg_warnings if @$cfg_warnings;

        if (defined(my $version = PVE::Balancer::Planner::engine_version())) {
            $res->{engine} = $version;
        }

        # a run that crashed or was cancelled is settled against the cluster's real state
        eval { PVE::Balancer::Recovery::reconcile($env) };
        if (my $err = $@) {
            chomp $err;
            push @$errors, "history: $err";
        }

        my ($snapshot, $inputs) = eval { PVE::Balancer::Planner::collect($env, $cfg) };
        if (my $err = $@) {
            chomp $err;
            push @$errors, "state: $err";
        } else {
            my $crs = PVE::Balancer::Planner::crs_settings($inputs);
            $res->{crs} = $crs;
            $res->{'ha-auto-rebalance'} = $crs->{'ha-auto-rebalance'};
            $res->{'ha-guests'} =
                PVE::Balancer::Planner::skip_ha_guests($cfg, $crs) ? 'skip' : 'move';

            my $score = eval { PVE::Balancer::Planner::call_engine('score', $snapshot) };
            if (my $err = $@) {
                chomp $err;
                push @$errors, "score: $err";
            } else {
                $res->{$_} = $score->{$_} for grep { defined($score->{$_}) }
                    qw(metrics nodes warnings summary mode);
            }

            my $capacity = eval {
                PVE::Balancer::Planner::call_engine('capacity', $snapshot, 'target-failures' => 1);
            };
            if (my $err = $@) {
                chomp $err;
                push @$errors, "capacity: $err";
            } else {
                $res->{capacity} = {
                    map { $_ => $capacity->{$_} } grep { defined($capacity->{$_}) }
                        qw(tolerated-failures upper-bound exact ha-guests target method)
                };
            }
        }

        my $active = eval { PVE::Balancer::Lease::active($env) };
        $res->{active} = $active if $active;

        my $count = $param->{runs} // 5;
        my $runs = PVE::Balancer::History::read_runs($env);
        splice(@$runs, $count) if @$runs > $count;
        $res->{runs} = [map { PVE::Balancer::History::summary($_) } @$runs];

        my $daemon = eval { PVE::Balancer::DaemonStatus::build($env) };
        if (my $err = $@) {
            chomp $err;
            push @$errors, "daemon: $err";
        }
        $res->{daemon} = $daemon if $daemon;

        $res->{errors} = $errors if @$errors;
        $res->{permissions} = caller_permissions($rpcenv, $authuser);

        return visible_only($res, $rpcenv, $authuser);
    },
});

__PACKAGE__->register_method({
    name => 'balance',
    path => '',
    method => 'POST',
    protected => 1,
    expose_credentials => 1,
    description => "Compute a balance plan: ordered, constraint-safe migrations that even out CPU"
        . " and memory. Dry run by default; with apply=1 the plan runs as a worker task.",
    permissions => $apply_permissions,
    parameters => {
        additionalProperties => 0,
        properties => with_engine_options({
            %$apply_properties,
            'ha-guests' => {
                %{ PVE::Balancer::Config::config_schema(1)->{'ha-guests'} },
                description => "Whether this plan moves HA-managed guests (default: balancer.cfg"
                    . " 'ha-guests').",
            },
        }),
    },
    returns => $plan_or_upid,
    code => sub {
        my ($param) = @_;

        return plan_and_maybe_apply('balance', $param);
    },
});

__PACKAGE__->register_method({
    name => 'evacuate',
    path => 'evacuate',
    method => 'POST',
    protected => 1,
    expose_credentials => 1,
    description => "Compute a plan that drains nodes for maintenance: every guest placed"
        . " elsewhere, or listed with the reason why it cannot leave. Dry run by default; with"
        . " apply=1 the plan runs as a worker task.",
    permissions => $apply_permissions,
    parameters => {
        additionalProperties => 0,
        properties => with_engine_options({
            %$apply_properties,
            node => get_standard_option(
                'pve-node-list', { description => "The nodes to drain." },
            ),
        }),
    },
    returns => $plan_or_upid,
    code => sub {
        my ($param) = @_;

        return plan_and_maybe_apply('evacuate', $param, 'node');
    },
});

__PACKAGE__->register_method({
    name => 'capacity',
    path => 'capacity',
    method => 'GET',
    protected => 1, # RRD history: readable by root only, as upstream's rrddata calls
    description => "How many node failures the HA guests survive (admission control, N+k):"
        . " the worst failure scenario, the headroom per node and the reserve missing for the"
        . " target.",
    permissions => $read_permissions,
    parameters => {
        additionalProperties => 0,
        properties => with_engine_options({
            'target-failures' => {
                type => 'integer',
                description => "The node failures the cluster should absorb.",
                minimum => 1,
                maximum => 64,
                optional => 1,
                default => 1,
            },
            'all-guests' => {
                type => 'boolean',
                description => "Count every running guest, not only HA-managed ones.",
                optional => 1,
                default => 0,
            },
            'max-scenarios' => {
                type => 'integer',
                description => "Largest number of failure scenarios to check.",
                minimum => 1,
                maximum => $max_scenarios_limit,
                optional => 1,
                default => 20000,
            },
        }),
    },
    returns => {
        type => 'object',
        additionalProperties => 1,
        properties => {
            kind => { type => 'string', enum => ['capacity'] },
            'tolerated-failures' => { type => 'integer' },
            'upper-bound' => { type => 'integer', optional => 1 },
            exact => { type => 'boolean', optional => 1 },
            'ha-guests' => { type => 'integer', optional => 1 },
            headroom => { type => 'array', optional => 1, items => { type => 'object' } },
            target => { type => 'object', optional => 1 },
            worst => { type => ['object', 'null'], optional => 1 },
        },
    },
    code => sub {
        my ($param) = @_;

        my $env = PVE::Balancer::Env->default_env();
        my $cfg = PVE::Balancer::Config::load($env);
        my $snapshot = PVE::Balancer::Planner::collect($env, $cfg);
        my $args = engine_args($param, qw(target-failures all-guests max-scenarios));

        my $res = PVE::Balancer::Planner::call_engine('capacity', $snapshot, %$args);
        my $rpcenv = PVE::RPCEnvironment::get();
        return visible_only($res, $rpcenv, $rpcenv->get_user());
    },
});

__PACKAGE__->register_method({
    name => 'failover',
    path => 'failover',
    method => 'GET',
    protected => 1, # RRD history: readable by root only, as upstream's rrddata calls
    description => "What-if: where the HA guests of the given nodes would restart if those nodes"
        . " failed now (capacity- and rule-aware), and which could not restart.",
    permissions => $read_permissions,
    parameters => {
        additionalProperties => 0,
        properties => with_engine_options({
            'failed-node' => get_standard_option(
                'pve-node-list', { description => "The nodes that fail." },
            ),
            'all-guests' => {
                type => 'boolean',
                description => "Also restart running guests that are not HA-managed.",
                optional => 1,
                default => 0,
            },
        }),
    },
    returns => {
        type => 'object',
        additionalProperties => 1,
        properties => {
            kind => { type => 'string', enum => ['failover'] },
            migrations => { type => 'array', items => { type => 'object' } },
            unplaced => { type => 'array', items => { type => 'object' } },
        },
    },
    code => sub {
        my ($param) = @_;

        my $env = PVE::Balancer::Env->default_env();
        my $cfg = PVE::Balancer::Config::load($env);
        my $snapshot = PVE::Balancer::Planner::collect($env, $cfg);
        my $args = engine_args($param, qw(failed-node all-guests));

        my $res = PVE::Balancer::Planner::call_engine('failover', $snapshot, %$args);
        my $rpcenv = PVE::RPCEnvironment::get();
        return visible_only($res, $rpcenv, $rpcenv->get_user());
    },
});

__PACKAGE__->register_method({
    name => 'place',
    path => 'place',
    method => 'GET',
    protected => 1, # RRD history: readable by root only, as upstream's rrddata calls
    description => "Rank the nodes for a guest about to start (vmid) or a new guest (cpu and"
        . " mem): where it fits, best first, and why it does not fit elsewhere.",
    permissions => $read_permissions,
    parameters => {
        additionalProperties => 0,
        properties => with_engine_options({
            vmid => get_standard_option(
                'pve-vmid', { optional => 1, description => "An existing guest." },
            ),
            cpu => {
                type => 'number',
                description => "A new guest's CPU demand in cores.",
                minimum => 0,
                maximum => 16384,
                optional => 1,
            },
            mem => {
                type => 'string',
                pattern => $size_pattern,
                description => "A new guest's memory in bytes (K/M/G/T suffix allowed).",
                optional => 1,
            },
            tags => {
                type => 'string',
                description => "Tags of the new guest (';'-separated), for pin and"
                    . " anti-affinity tags.",
                pattern => '[a-zA-Z0-9_\-+.;, ]*',
                maxLength => 1024,
                optional => 1,
            },
            'apart-from' => {
                type => 'string',
                description => "Keep it off the nodes that run these guests (vmid list).",
                pattern => '\d+(?:[,;\s]+\d+)*',
                optional => 1,
            },
        }),
    },
    returns => {
        type => 'object',
        additionalProperties => 1,
        properties => {
            kind => { type => 'string', enum => ['place'] },
            best => { type => ['string', 'null'], optional => 1 },
            demand => { type => 'object', optional => 1 },
            nodes => { type => 'array', items => { type => 'object' } },
        },
    },
    code => sub {
        my ($param) = @_;

        if (!defined($param->{vmid})) {
            my $errors = {};
            $errors->{cpu} = "required for a new guest (or give vmid)" if !defined($param->{cpu});
            $errors->{mem} = "required for a new guest (or give vmid)" if !defined($param->{mem});
            raise_param_exc($errors) if %$errors;
        } elsif (defined($param->{cpu}) || defined($param->{mem})) {
            raise_param_exc({ vmid => "give either vmid, or cpu and mem for a new guest" });
        }

        my $rpcenv = PVE::RPCEnvironment::get();
        if (defined(my $vmid = $param->{vmid})) {
            $rpcenv->check($rpcenv->get_user(), "/vms/$vmid", ['VM.Audit']);
        }

        my $env = PVE::Balancer::Env->default_env();
        my $cfg = PVE::Balancer::Config::load($env);
        my $snapshot = PVE::Balancer::Planner::collect($env, $cfg);
        my $args = engine_args($param, qw(vmid cpu mem tags apart-from));

        my $res = PVE::Balancer::Planner::call_engine('place', $snapshot, %$args);
        return visible_only($res, $rpcenv, $rpcenv->get_user());
    },
});

__PACKAGE__->register_method({
    name => 'get_config',
    path => 'config',
    method => 'GET',
    description => "The cluster-wide balancer configuration (/etc/pve/balancer.cfg). A key"
        . " this version does not know or a value it cannot read is reported, never fatal.",
    permissions => $read_permissions,
    parameters => {
        additionalProperties => 0,
        properties => {
            defaults => {
                type => 'boolean',
                description => "Also list the default of every key that is not set (the"
                    . " engine's defaults, as 'pve-balancer options' prints them).",
                optional => 1,
                default => 0,
            },
        },
    },
    returns => {
        type => 'object',
        additionalProperties => 0,
        properties => {
            %{ PVE::Balancer::Config::config_schema() },
            digest => get_standard_option('pve-config-digest'),
            unknown => {
                type => 'object',
                optional => 1,
                additionalProperties => 1,
                description => "Keys this version does not know, as written (kept on"
                    . " every change).",
            },
            errors => {
                type => 'array',
                optional => 1,
                items => { type => 'object' },
                description => "Lines with a bad value ({line, key, message}): the default"
                    . " applies, and plans are not applied until they are fixed.",
            },
            warnings => {
                type => 'array',
                optional => 1,
                items => { type => 'string' },
                description => "Unknown keys and keys set twice.",
            },
        },
    },
    code => sub {
        my ($param) = @_;

        my $env = PVE::Balancer::Env->default_env();
        my $cfg = PVE::Balancer::Config::load($env);

        my $res = {};
        if ($param->{defaults}) {
            $res = PVE::Balancer::Config::effective($cfg);
        } else {
            my $values = $cfg->{values};
            $res->{$_} = PVE::Balancer::Config::typed_value($_, $values->{$_}) for keys %$values;
        }
        my $schema = PVE::Balancer::Config::schema();
        for my $key (keys %$res) {
            # pveproxy answers booleans as 0/1
            $res->{$key} = $res->{$key} ? 1 : 0 if $schema->{$key}->{type} eq 'boolean';
        }
        $res->{digest} = $cfg->{digest};
        $res->{unknown} = { %{ $cfg->{unknown} } } if %{ $cfg->{unknown} };
        $res->{errors} = [map { {%$_} } @{ $cfg->{errors} }] if @{ $cfg->{errors} };
        my (undef, $warnings) = PVE::Balancer::Config::problems($cfg);
        $res->{warnings} = $warnings if @$warnings;

        return $res;
    },
});

__PACKAGE__->register_method({
    name => 'set_config',
    path => 'config',
    method => 'PUT',
    protected => 1,
    description => "Change the cluster-wide balancer configuration (/etc/pve/balancer.cfg)."
        . " Keys this version does not know stay in the file.",
    permissions => {
        description => "Requires 'Sys.Modify' on '/'.",
        check => ['perm', '/', ['Sys.Modify']],
    },
    parameters => {
        additionalProperties => 0,
        properties => {
            %{ PVE::Balancer::Config::config_schema() },
            delete => {
                type => 'string',
                format => 'pve-configid-list',
                description => "A list of keys to reset to their default (also removes"
                    . " unknown keys and lines with bad values).",
                optional => 1,
                maxLength => 4096,
            },
            digest => get_standard_option('pve-config-digest'),
        },
    },
    returns => { type => 'null' },
    code => sub {
        my ($param) = @_;

        my $digest = extract_param($param, 'digest');
        my $delete = extract_param($param, 'delete');
        my @delete = PVE::Tools::split_list($delete);

        my $set = {};
        my $errors = {};
        for my $key (sort keys %$param) {
            my $value = $param->{$key};
            $value = $value ? 1 : 0 if ref($value) && JSON::is_bool($value);
            $set->{$key} = eval { PVE::Balancer::Config::normalize($key, $value) };
            if (my $err = $@) {
                chomp $err;
                $errors->{$key} = $err;
            }
        }
        for my $key (@delete) {
            $errors->{$key} = "cannot set and delete at the same time" if defined($param->{$key});
        }
        raise_param_exc($errors) if %$errors;
        raise_param_exc({ delete => "nothing to change" }) if !%$set && !@delete;

        my $env = PVE::Balancer::Env->default_env();

        # checked before the lock too: errors raised inside cfs_lock lose their HTTP code
        my $check_delete = sub {
            my ($cfg) = @_;
            my $schema = PVE::Balancer::Config::schema();
            my %bad = map { ($_->{key} // '') => 1 } @{ $cfg->{errors} };
            for my $key (@delete) {
                next if $schema->{$key} || exists($cfg->{unknown}->{$key}) || $bad{$key};
                return "unknown key '$key'";
            }
            return undef;
        };
        if (my $err = $check_delete->(PVE::Balancer::Config::load($env))) {
            raise_param_exc({ delete => $err });
        }

        $env->cfs_lock(
            'config',
            10,
            sub {
                my $cfg = PVE::Balancer::Config::load($env);
                if (defined($digest) && $digest ne $cfg->{digest}) {
                    die "detected modified configuration - file changed by other user?"
                        . " Try again.\n";
                }
                if (my $err = $check_delete->($cfg)) {
                    die "delete: $err\n";
                }
                PVE::Balancer::Config::save($env,
                    PVE::Balancer::Config::update($cfg, $set, \@delete));
            },
        );

        return undef;
    },
});

__PACKAGE__->register_method({
    name => 'config_schema',
    path => 'config/schema',
    method => 'GET',
    description => "Every key of /etc/pve/balancer.cfg with its type, range or values, default"
        . " and description (the web UI builds its settings from it).",
    permissions => $read_permissions,
    parameters => {
        additionalProperties => 0,
        properties => {},
    },
    returns => {
        type => 'array',
        items => {
            type => 'object',
            additionalProperties => 1,
            properties => {
                key => { type => 'string' },
                type => { type => 'string' },
                engine => {
                    type => 'boolean',
                    description => "An engine option (also a parameter of the plan calls).",
                },
                description => { type => 'string', optional => 1 },
            },
        },
    },
    code => sub {
        my ($param) = @_;

        my $schema = PVE::Balancer::Config::config_schema();
        my $res = [];
        for my $key (sort keys %$schema) {
            my $s = $schema->{$key};
            push @$res, {
                key => $key,
                engine => PVE::Balancer::Config::is_engine_option($key) ? 1 : 0,
                map { defined($s->{$_}) ? ($_ => $s->{$_}) : () }
                    qw(type description default minimum maximum enum pattern format),
            };
        }
        return $res;
    },
});

__PACKAGE__->register_method({
    name => 'snapshot',
    path => 'snapshot',
    method => 'GET',
    protected => 1, # RRD history: readable by root only, as upstream's rrddata calls
    description => "The cluster state as the engine sees it (docs/snapshot.md): feed it to the"
        . " offline CLI ('pve-balancer plan --snapshot FILE') to get the same answers.",
    permissions => {
        description => "Requires 'Sys.Audit' on '/' and 'VM.Audit' on '/vms' (the snapshot"
            . " lists every guest and the disks and devices of its configuration).",
        check => ['and', ['perm', '/', ['Sys.Audit']], ['perm', '/vms', ['VM.Audit']]],
    },
    parameters => {
        additionalProperties => 0,
        properties => {
            kind => {
                type => 'string',
                enum => ['balance', 'raw'],
                description => "'balance': exactly what POST /cluster/balance plans on (HA"
                    . " guests it leaves alone carry the tag pvebal-ignore). 'raw': the state as"
                    . " collected, for evacuate and the what-if commands.",
                optional => 1,
                default => 'balance',
            },
        },
    },
    returns => {
        type => 'object',
        additionalProperties => 1,
        properties => {
            resources => {
                type => 'array',
                items => { type => 'object' },
                description => "The /cluster/resources entries of nodes, guests and storages.",
            },
            ha => {
                type => 'object',
                optional => 1,
                description => "HA resources, rules, groups and manager status.",
            },
            guests => {
                type => 'object',
                description => "Per vmid: the disk and device keys of the config, RRD averages.",
            },
            options => { type => 'object', description => "Engine options of balancer.cfg." },
            source => { type => 'string', optional => 1 },
        },
    },
    code => sub {
        my ($param) = @_;

        my $env = PVE::Balancer::Env->default_env();
        my $cfg = PVE::Balancer::Config::load($env);

        if (($param->{kind} // 'balance') eq 'balance') {
            my ($snapshot, $notes) = PVE::Balancer::Planner::balance_snapshot($env, $cfg);
            $snapshot->{comment} = join('; ', @$notes) if @$notes;
            return $snapshot;
        }
        return PVE::Balancer::Planner::collect($env, $cfg);
    },
});

1;
