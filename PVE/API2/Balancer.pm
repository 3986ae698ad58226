package PVE::API2::Balancer;

# The /cluster/balance API: cluster balance status, balance and evacuation plans (dry run by
# default, applied as a worker task), HA capacity (N+k), failover and placement what-ifs and the
# collected snapshot; the cluster-wide configuration is PVE::API2::Balancer::Config, mounted at
# 'config'. What the methods share: PVE::Balancer::API::{Schema,Permissions,Plan}.
#
# Mounted below PVE::API2::Cluster by PVE::Balancer::APIRegister (pve-manager is not edited).

use strict;
use warnings;

use PVE::JSONSchema qw(get_standard_option);
use PVE::Exception qw(raise_param_exc);
use PVE::RPCEnvironment;

use PVE::API2::Balancer::Config;
use PVE::Balancer::API::Permissions;
use PVE::Balancer::API::Plan;
use PVE::Balancer::API::Schema;
use PVE::Balancer::Config;
use PVE::Balancer::Env;
use PVE::Balancer::DaemonStatus;
use PVE::Balancer::History;
use PVE::Balancer::Lease;
use PVE::Balancer::Planner;
use PVE::Balancer::Recovery;

use base qw(PVE::RESTHandler);

__PACKAGE__->register_method({
    subclass => 'PVE::API2::Balancer::Config',
    path => 'config',
});

__PACKAGE__->register_method({
    name => 'status',
    path => '',
    method => 'GET',
    protected => 1, # RRD history: readable by root only, as upstream's rrddata calls
    description => "Balance status of the cluster: current metrics, HA capacity, whether"
        . " automatic balancing and Proxmox's own HA auto-rebalance are on, the run in"
        . " progress, the last runs and what pve-balancerd is doing.",
    permissions => PVE::Balancer::API::Schema::read_permissions(),
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
            permissions => PVE::Balancer::API::Schema::permissions_schema(),
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
        $res->{permissions} =
            PVE::Balancer::API::Permissions::caller_permissions($rpcenv, $authuser);

        return PVE::Balancer::API::Permissions::visible_only($res, $rpcenv, $authuser);
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
    permissions => PVE::Balancer::API::Schema::apply_permissions(),
    parameters => {
        additionalProperties => 0,
        properties => PVE::Balancer::API::Schema::with_engine_options({
            %{ PVE::Balancer::API::Schema::apply_properties() },
            'ha-guests' => {
                %{ PVE::Balancer::Config::config_schema(1)->{'ha-guests'} },
                description => "Whether this plan moves HA-managed guests (default: balancer.cfg"
                    . " 'ha-guests').",
            },
        }),
    },
    returns => PVE::Balancer::API::Schema::plan_or_upid(),
    code => sub {
        my ($param) = @_;

        return PVE::Balancer::API::Plan::plan_and_maybe_apply('balance', $param);
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
    permissions => PVE::Balancer::API::Schema::apply_permissions(),
    parameters => {
        additionalProperties => 0,
        properties => PVE::Balancer::API::Schema::with_engine_options({
            %{ PVE::Balancer::API::Schema::apply_properties() },
            node => get_standard_option(
                'pve-node-list', { description => "The nodes to drain." },
            ),
        }),
    },
    returns => PVE::Balancer::API::Schema::plan_or_upid(),
    code => sub {
        my ($param) = @_;

        return PVE::Balancer::API::Plan::plan_and_maybe_apply('evacuate', $param, 'node');
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
    permissions => PVE::Balancer::API::Schema::read_permissions(),
    parameters => {
        additionalProperties => 0,
        properties => PVE::Balancer::API::Schema::with_engine_options({
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
                maximum => PVE::Balancer::API::Schema::max_scenarios_limit(),
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
        my $args = PVE::Balancer::API::Plan::engine_args(
            $param, qw(target-failures all-guests max-scenarios),
        );

        my $res = PVE::Balancer::Planner::call_engine('capacity', $snapshot, %$args);
        my $rpcenv = PVE::RPCEnvironment::get();
        return PVE::Balancer::API::Permissions::visible_only($res, $rpcenv, $rpcenv->get_user());
    },
});

__PACKAGE__->register_method({
    name => 'failover',
    path => 'failover',
    method => 'GET',
    protected => 1, # RRD history: readable by root only, as upstream's rrddata calls
    description => "What-if: where the HA guests of the given nodes would restart if those nodes"
        . " failed now (capacity- and rule-aware), and which could not restart.",
    permissions => PVE::Balancer::API::Schema::read_permissions(),
    parameters => {
        additionalProperties => 0,
        properties => PVE::Balancer::API::Schema::with_engine_options({
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
        my $args = PVE::Balancer::API::Plan::engine_args($param, qw(failed-node all-guests));

        my $res = PVE::Balancer::Planner::call_engine('failover', $snapshot, %$args);
        my $rpcenv = PVE::RPCEnvironment::get();
        return PVE::Balancer::API::Permissions::visible_only($res, $rpcenv, $rpcenv->get_user());
    },
});

__PACKAGE__->register_method({
    name => 'place',
    path => 'place',
    method => 'GET',
    protected => 1, # RRD history: readable by root only, as upstream's rrddata calls
    description => "Rank the nodes for a guest about to start (vmid) or a new guest (cpu and"
        . " mem): where it fits, best first, and why it does not fit elsewhere.",
    permissions => PVE::Balancer::API::Schema::read_permissions(),
    parameters => {
        additionalProperties => 0,
        properties => PVE::Balancer::API::Schema::with_engine_options({
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
                pattern => PVE::Balancer::API::Schema::size_pattern(),
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
        my $args = PVE::Balancer::API::Plan::engine_args($param, qw(vmid cpu mem tags apart-from));

        my $res = PVE::Balancer::Planner::call_engine('place', $snapshot, %$args);
        return PVE::Balancer::API::Permissions::visible_only($res, $rpcenv, $rpcenv->get_user());
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
